"""The ``overlap`` rule: in instance and panoptic projects a pixel belongs to one instance.

Two segments are intersected only when their boxes meet, and then only inside the
intersection of the boxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from qc.checks._base import BoolArray, Rule, Violation, _Item, _offset_xywh, _prepare, _Submission
from qc.core import ClassKind, Segment, Task
from qc.guideline import Guideline
from qc.masks import Box

__all__ = ["check_overlap"]


def check_overlap(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Pairs of segments sharing more than ``overlap_allowance`` (instance: things only; semantic: none)."""
    return _overlap(_prepare(segments, height, width, guideline, None))


def _overlap(sub: _Submission) -> list[Violation]:
    task = sub.guideline.task
    if task is Task.SEMANTIC:
        return []
    items = [
        item
        for item in sub.items
        if item.box is not None and (task is Task.PANOPTIC or item.rule is None or item.rule.kind is ClassKind.THING)
    ]
    found: list[Violation] = []
    for first, second, region in _meeting_pairs(items):
        shared = _sub_crop(first, region) & _sub_crop(second, region)
        pixels = int(np.count_nonzero(shared))
        limit = sub.guideline.thresholds.overlap_limit(min(first.area, second.area))
        if pixels > limit:
            found.append(
                Violation(
                    Rule.OVERLAP,
                    first.segment.id,
                    _offset_xywh(shared, region),
                    float(pixels),
                    limit,
                    f"segments {first.segment.id} and {second.segment.id} share {pixels} px; at most {limit:g} "
                    "allowed: a pixel belongs to one instance",
                    other_id=second.segment.id,
                )
            )
    return found


def _meeting_pairs(items: Sequence[_Item]) -> Iterable[tuple[_Item, _Item, Box]]:
    """Pairs whose boxes intersect, with the intersection box (vectorised box test)."""
    if len(items) < 2:
        return
    boxes = np.array([item.box for item in items], dtype=np.int64)
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    meet = np.triu((hi > lo).all(axis=2), k=1)
    for i, j in zip(*np.nonzero(meet), strict=True):
        region = (int(lo[i, j, 0]), int(lo[i, j, 1]), int(hi[i, j, 0]), int(hi[i, j, 1]))
        yield items[i], items[j], region


def _sub_crop(item: _Item, region: Box) -> BoolArray:
    """The part of ``item.crop`` inside ``region`` (which lies within the item's box)."""
    x0, y0 = item.box[0] if item.box else 0, item.box[1] if item.box else 0
    return item.crop[region[1] - y0 : region[3] - y0, region[0] - x0 : region[2] - x0]
