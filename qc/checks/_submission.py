"""The driver: every rule on one submission, in :class:`~qc.checks.Rule` order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qc.checks._base import DrawnBoxes, Rule, Violation, _prepare, _Submission
from qc.checks._box import _box_tolerance
from qc.checks._classes import _empty, _min_area, _unknown_class
from qc.checks._overlap import _overlap
from qc.checks._shape import _holes, _max_parts, _sliver
from qc.checks._unlabeled import _unlabeled
from qc.core import Segment
from qc.guideline import Guideline

__all__ = ["check_submission"]

_CHECKS: dict[Rule, Callable[[_Submission], list[Violation]]] = {
    Rule.UNKNOWN_CLASS: _unknown_class,
    Rule.EMPTY: _empty,
    Rule.MIN_AREA: _min_area,
    Rule.MAX_PARTS: _max_parts,
    Rule.HOLES: _holes,
    Rule.SLIVER: _sliver,
    Rule.BOX_TOLERANCE: _box_tolerance,
    Rule.OVERLAP: _overlap,
    Rule.UNLABELED: _unlabeled,
}


def check_submission(
    segments: Sequence[Segment],
    *,
    height: int,
    width: int,
    guideline: Guideline,
    boxes: DrawnBoxes | None = None,
) -> list[Violation]:
    """Run every rule on one submission, in :class:`Rule` order; an empty list means it complies.

    ``boxes`` maps segment ids to the boxes the annotator drew, COCO ``(x, y, w, h)``;
    without it ``box_tolerance`` checks nothing. An empty submission yields no
    violation except ``unlabeled`` (semantic / panoptic). Raises
    :class:`~qc.errors.ShapeMismatchError` when a segment's size is not ``height`` x ``width``.
    """
    submission = _prepare(segments, height, width, guideline, boxes)
    found: list[Violation] = []
    for rule in Rule:
        found.extend(_CHECKS[rule](submission))
    return found
