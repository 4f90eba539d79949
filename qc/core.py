"""The shared vocabulary: the few types every room of qc speaks, each defined once.

- :class:`Segment`: one region with a class, as COCO RLE (for ``thing`` classes one instance);
- :class:`Category` and :class:`ImageInfo`: a class and an image as a file or the store describes them;
- the StrEnums of DESIGN §1 and §5: :class:`Task`, :class:`ClassKind`, :class:`Verdict`,
  :class:`FindingLevel`, :class:`AssignmentKind`, :class:`ScoreKind`.

Everything here is pure (numpy and pycocotools through :mod:`qc.masks`, imported when a
:class:`Segment` is made, so that the enums cost a store-only command nothing); the store's
``CHECK`` constraints, the guideline's validation and the routing plan take their valid
values from these enums, so a new value is added in one place.

>>> import numpy as np
>>> square = np.zeros((8, 8), bool); square[2:5, 3:7] = True
>>> segment = Segment("a1", 1, square)
>>> segment.area, segment.bbox, segment.box
(12, (3, 2, 4, 3), (3, 2, 7, 5))
>>> Verdict("accepted") is Verdict.ACCEPTED, str(FindingLevel.IMAGE)
(True, 'image')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and qc.masks load with the first Segment (qc round status needs neither)
    import numpy as np
    import numpy.typing as npt

    from qc.masks import RLE, Box

__all__ = [
    "AssignmentKind",
    "Category",
    "ClassKind",
    "FindingLevel",
    "ImageInfo",
    "ScoreKind",
    "Segment",
    "Task",
    "Verdict",
]


class Task(StrEnum):
    """What a project labels: one class per pixel, instances of things, or both."""

    SEMANTIC = "semantic"
    INSTANCE = "instance"
    PANOPTIC = "panoptic"


class ClassKind(StrEnum):
    """``thing``: countable objects, one segment per instance; ``stuff``: amorphous regions."""

    THING = "thing"
    STUFF = "stuff"


class Verdict(StrEnum):
    """What scoring decided for an image: accepted, one more annotator (escalate), or a reviewer."""

    ACCEPTED = "accepted"
    ESCALATE = "escalate"
    REVIEW = "review"


class FindingLevel(StrEnum):
    """Who a finding is for: the image (it sends the image to review) or one annotator (feedback)."""

    IMAGE = "image"
    ANNOTATOR = "annotator"


class AssignmentKind(StrEnum):
    """Why an annotator owes an image: scheduled, a gold image, adaptive overlap's extra label, or rework."""

    CONSENSUS = "consensus"
    GOLD = "gold"
    FOLLOWUP = "followup"
    REWORK = "rework"


class ScoreKind(StrEnum):
    """What a stored score describes: a pair of annotators, a match group, an image, an annotator, a round."""

    PAIR = "pair"
    GROUP = "group"
    IMAGE = "image"
    ANNOTATOR = "annotator"
    ROUND = "round"


@dataclass(frozen=True)
class Category:
    """A class as a file describes it."""

    id: int
    name: str
    isthing: bool = True


@dataclass(frozen=True)
class ImageInfo:
    """An image as a file describes it."""

    id: Any
    file_name: str
    height: int
    width: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "file_name": self.file_name, "height": self.height, "width": self.width}


@dataclass(frozen=True)
class Segment:
    """One region with a class: for ``thing`` classes one instance.

    ``rle`` is COCO compressed RLE with ``str`` counts (any accepted mask input is
    normalised on construction).
    """

    id: Any
    category_id: int
    rle: RLE = field(repr=False)
    iscrowd: bool = False

    def __post_init__(self) -> None:
        from qc import masks

        object.__setattr__(self, "rle", masks.as_rle(self.rle))

    @cached_property
    def area(self) -> int:
        from qc import masks

        return masks.area(self.rle)

    @cached_property
    def bbox(self) -> tuple[int, int, int, int]:
        """COCO ``(x, y, w, h)``."""
        from qc import masks

        return masks.bbox(self.rle)

    @cached_property
    def box(self) -> Box | None:
        """Half-open ``(x0, y0, x1, y1)``, ``None`` when empty."""
        x, y, w, h = self.bbox
        return (x, y, x + w, y + h) if w and h else None

    @cached_property
    def tight_mask(self) -> npt.NDArray[np.bool_]:
        """The mask decoded inside :attr:`box` only (read-only; shape (0, 0) when empty), decoded once."""
        import numpy as np

        from qc import masks

        region = self.box
        crop = masks.crop(self.rle, region) if region is not None else np.zeros((0, 0), dtype=bool)
        crop.setflags(write=False)
        return crop

    def mask_in(self, region: Box) -> npt.NDArray[np.bool_]:
        """The mask inside ``region`` (a new writable array), placed from :attr:`tight_mask`."""
        import numpy as np

        x0, y0, x1, y1 = region
        out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        own = self.box
        if own is None:
            return out
        ox0, oy0 = max(own[0], x0), max(own[1], y0)
        ox1, oy1 = min(own[2], x1), min(own[3], y1)
        if ox1 > ox0 and oy1 > oy0:
            out[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] = self.tight_mask[
                oy0 - own[1] : oy1 - own[1], ox0 - own[0] : ox1 - own[0]
            ]
        return out

    @property
    def size(self) -> tuple[int, int]:
        """Image ``(height, width)``."""
        return int(self.rle["size"][0]), int(self.rle["size"][1])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category_id": self.category_id, "rle": dict(self.rle), "iscrowd": self.iscrowd}
