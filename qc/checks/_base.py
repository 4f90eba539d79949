"""What every rule family shares: :class:`Rule`, :class:`Violation` and the submission prepared once.

A segment is decoded once, inside its own box (:class:`_Item`); every rule reads the
crop, never the full image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc import masks
from qc.core import Segment
from qc.errors import ShapeMismatchError
from qc.guideline import ClassRule, Guideline
from qc.masks import Box

__all__ = ["IMAGE_RULES", "Rule", "Violation"]

BoolArray = npt.NDArray[np.bool_]
XYWH = tuple[int, int, int, int]
DrawnBoxes = Mapping[Any, Sequence[float]]
"""Drawn boxes per segment id, COCO ``(x, y, w, h)`` in pixels."""

_EIGHT = np.ones((3, 3), dtype=bool)


class Rule(StrEnum):
    """The guideline rules, in the order :func:`~qc.checks.check_submission` runs them."""

    UNKNOWN_CLASS = "unknown_class"
    EMPTY = "empty"
    MIN_AREA = "min_area"
    MAX_PARTS = "max_parts"
    HOLES = "holes"
    SLIVER = "sliver"
    BOX_TOLERANCE = "box_tolerance"
    OVERLAP = "overlap"
    UNLABELED = "unlabeled"


IMAGE_RULES = frozenset({Rule.UNLABELED})
"""Rules about the whole image (``segment_id`` is ``None``); every other rule is about a segment."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: which segment (``None`` for the image), where (COCO bbox), how bad.

    ``other_id`` names the second segment of an ``overlap``.
    """

    rule: Rule
    segment_id: Any
    bbox: XYWH
    measured: float
    limit: float
    message: str
    other_id: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "segment_id": self.segment_id,
            "other_id": self.other_id,
            "bbox": list(self.bbox),
            "measured": self.measured,
            "limit": self.limit,
            "message": self.message,
        }


@dataclass(frozen=True)
class _Item:
    """A segment prepared once for every check: its class rule, box and the crop inside the box."""

    segment: Segment
    rule: ClassRule | None
    box: Box | None
    area: int
    crop: BoolArray

    @property
    def xywh(self) -> XYWH:
        return _xywh(self.box)

    @cached_property
    def padded(self) -> BoolArray:
        """The crop with a 1-px frame of background, so the crop edge counts as outside."""
        padded = np.zeros((self.crop.shape[0] + 2, self.crop.shape[1] + 2), dtype=bool)
        padded[1:-1, 1:-1] = self.crop
        return padded

    @cached_property
    def parts(self) -> int:
        """8-connected components (labelling skipped when the columns show one piece)."""
        if _one_piece(self.crop):
            return 1
        return int(ndimage.label(self.crop, structure=_EIGHT)[1])


@dataclass(frozen=True)
class _Submission:
    items: list[_Item]
    height: int
    width: int
    guideline: Guideline
    boxes: DrawnBoxes | None


def _prepare(
    segments: Sequence[Segment], height: int, width: int, guideline: Guideline, boxes: DrawnBoxes | None
) -> _Submission:
    items = []
    for segment in segments:
        size = masks.image_size(segment.rle)
        if size != (height, width):
            raise ShapeMismatchError(size, (height, width), annotation_id=segment.id)
        region = segment.box
        crop = segment.tight_mask
        rule = guideline.class_by_id(segment.category_id)
        items.append(_Item(segment, rule, region, int(np.count_nonzero(crop)), crop))
    return _Submission(items, height, width, guideline, boxes)


def _live(sub: _Submission) -> Iterable[tuple[_Item, ClassRule]]:
    """Segments with a known class and at least one pixel (the others are already reported)."""
    for item in sub.items:
        if item.rule is not None and item.area > 0:
            yield item, item.rule


def _one_piece(crop: BoolArray) -> bool:
    """True when a tight crop is surely one 8-connected piece: one run in every column, and the
    runs of neighbouring columns overlapping or touching diagonally. (False means: count them.)"""
    if crop.size == 0:
        return False
    starts = crop[0] + np.count_nonzero(crop[1:] & ~crop[:-1], axis=0)
    if not (starts == 1).all():
        return False
    height = crop.shape[0]
    tops = np.argmax(crop, axis=0)
    bottoms = height - np.argmax(crop[::-1], axis=0)  # exclusive
    return bool(((tops[1:] <= bottoms[:-1]) & (tops[:-1] <= bottoms[1:])).all())


def _xywh(box: Box | None) -> XYWH:
    if box is None:
        return 0, 0, 0, 0
    return box[0], box[1], box[2] - box[0], box[3] - box[1]


def _offset_xywh(mask: BoolArray, origin: Box) -> XYWH:
    """COCO bbox, in image coordinates, of the True pixels of ``mask`` whose top-left sits at ``origin``."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, 0, 0, 0
    return origin[0] + int(cols[0]), origin[1] + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
