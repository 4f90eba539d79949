"""The ``unlabeled`` rule: in semantic and panoptic projects every pixel gets a class.

The unlabeled count comes from the RLE union of the segments (:func:`qc.masks.merge`)
and its box from run arithmetic, so the cost follows the runs, never the image size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from qc import masks
from qc.checks._base import XYWH, Rule, Violation, _prepare, _Submission
from qc.core import Segment, Task
from qc.guideline import Guideline

__all__ = ["check_unlabeled"]


def check_unlabeled(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Semantic / panoptic: the unlabeled fraction of the image above ``void_allowance``."""
    return _unlabeled(_prepare(segments, height, width, guideline, None))


def _unlabeled(sub: _Submission) -> list[Violation]:
    if sub.guideline.task is Task.INSTANCE or sub.height * sub.width == 0:
        return []
    total = sub.height * sub.width
    drawn = [item.segment.rle for item in sub.items if item.area > 0]
    union = masks.merge(drawn) if drawn else masks.empty(sub.height, sub.width)
    unlabeled = total - masks.area(union)
    fraction = unlabeled / total
    allowance = sub.guideline.thresholds.void_allowance
    if fraction <= allowance:
        return []
    return [
        Violation(
            Rule.UNLABELED,
            None,
            _background_xywh(masks.runs(union), sub.height),
            fraction,
            allowance,
            f"{unlabeled} px ({fraction:.2%}) are labeled by no segment; at most {allowance:.2%} may stay void",
        )
    ]


def _background_xywh(run_lengths: npt.NDArray[np.int64], height: int) -> XYWH:
    """COCO bbox of the background runs of a column-major RLE, from run arithmetic alone."""
    ends = np.cumsum(run_lengths)
    starts = ends - run_lengths
    keep = run_lengths[0::2] > 0
    first, last = starts[0::2][keep], ends[0::2][keep] - 1
    if first.size == 0:
        return 0, 0, 0, 0
    col0, col1 = first // height, last // height
    one_column = col0 == col1
    row0 = np.where(one_column, first % height, 0).min()
    row1 = np.where(one_column, last % height, height - 1).max()
    x0, x1 = int(col0.min()), int(col1.max())
    return x0, int(row0), x1 - x0 + 1, int(row1 - row0 + 1)
