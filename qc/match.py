"""Instance matching across annotators.

Placeholder header: the matching functions are being written; :class:`Segment` is final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qc import masks
from qc.masks import RLE

__all__ = ["Segment"]


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
        object.__setattr__(self, "rle", masks.as_rle(self.rle))

    @property
    def area(self) -> int:
        return masks.area(self.rle)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        return masks.bbox(self.rle)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category_id": self.category_id, "rle": dict(self.rle), "iscrowd": self.iscrowd}
