"""The ``box_tolerance`` rule: a mask must stay inside the box it was drawn from, grown by a tolerance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from qc.checks._base import DrawnBoxes, Rule, Violation, _live, _offset_xywh, _prepare, _Submission
from qc.core import Segment
from qc.errors import QCError
from qc.guideline import Guideline
from qc.masks import Box

__all__ = ["check_box_tolerance"]


def check_box_tolerance(
    segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline, boxes: DrawnBoxes
) -> list[Violation]:
    """Segments with pixels outside their drawn box grown by the class's ``box_tolerance``."""
    return _box_tolerance(_prepare(segments, height, width, guideline, boxes))


def _box_tolerance(sub: _Submission) -> list[Violation]:
    found: list[Violation] = []
    if not sub.boxes:
        return found
    for item, rule in _live(sub):
        drawn = sub.boxes.get(item.segment.id)
        if drawn is None or item.box is None:
            continue
        allowed = _allowed_region(drawn, rule.box_tolerance, item.segment.id)
        outside = item.crop.copy()
        x0, y0 = item.box[0], item.box[1]
        ax0, ay0 = max(allowed[0] - x0, 0), max(allowed[1] - y0, 0)
        ax1, ay1 = max(allowed[2] - x0, 0), max(allowed[3] - y0, 0)
        outside[ay0:ay1, ax0:ax1] = False
        count = int(np.count_nonzero(outside))
        if count:
            found.append(
                Violation(
                    Rule.BOX_TOLERANCE,
                    item.segment.id,
                    _offset_xywh(outside, item.box),
                    float(count),
                    0.0,
                    f"{rule.name} has {count} px outside its drawn box {tuple(drawn)} grown by "
                    f"{rule.box_tolerance} px; redraw the mask or the box",
                )
            )
    return found


def _allowed_region(drawn: Sequence[float], tolerance: int, segment_id: Any) -> Box:
    """Half-open pixel box of pixels whose centre lies in the drawn box grown by ``tolerance``."""
    values = [float(v) for v in drawn] if len(drawn) == 4 else []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] < 0 or values[3] < 0:
        raise QCError(
            f"a drawn box must be (x, y, w, h) with finite numbers and w, h >= 0; got {tuple(drawn)!r}",
            annotation_id=segment_id,
            field="boxes",
        )
    x, y, w, h = values
    x0, y0 = math.ceil(x - tolerance - 0.5), math.ceil(y - tolerance - 0.5)
    x1, y1 = math.floor(x + w + tolerance - 0.5) + 1, math.floor(y + h + tolerance - 0.5) + 1
    return x0, y0, max(x0, x1), max(y0, y1)
