"""Class and area rules: ``unknown_class``, ``empty``, ``min_area``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from qc.checks._base import Rule, Violation, _live, _prepare, _Submission
from qc.core import Segment
from qc.guideline import Guideline

__all__ = ["check_empty", "check_min_area", "check_unknown_class"]


def check_unknown_class(
    segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline
) -> list[Violation]:
    """Segments whose class id the guideline does not define."""
    return _unknown_class(_prepare(segments, height, width, guideline, None))


def check_empty(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments without a pixel."""
    return _empty(_prepare(segments, height, width, guideline, None))


def check_min_area(segments: Sequence[Segment], *, height: int, width: int, guideline: Guideline) -> list[Violation]:
    """Segments smaller than their class's ``min_area`` (pixels)."""
    return _min_area(_prepare(segments, height, width, guideline, None))


def _unknown_class(sub: _Submission) -> list[Violation]:
    known = ", ".join(f"{rule.id} ({rule.name})" for rule in sub.guideline.classes)
    return [
        Violation(
            Rule.UNKNOWN_CLASS,
            item.segment.id,
            item.xywh,
            float(item.segment.category_id),
            math.nan,
            f"class id {item.segment.category_id} is not in guideline {sub.guideline.version}; use one of {known}",
        )
        for item in sub.items
        if item.rule is None
    ]


def _empty(sub: _Submission) -> list[Violation]:
    return [
        Violation(Rule.EMPTY, item.segment.id, (0, 0, 0, 0), 0.0, 1.0, "the segment has no pixels; redraw or delete it")
        for item in sub.items
        if item.rule is not None and item.area == 0
    ]


def _min_area(sub: _Submission) -> list[Violation]:
    return [
        Violation(
            Rule.MIN_AREA,
            item.segment.id,
            item.xywh,
            float(item.area),
            float(rule.min_area),
            f"{rule.name} covers {item.area} px; the guideline asks for at least {rule.min_area} px "
            "(leave out objects that small, or outline it fully)",
        )
        for item, rule in _live(sub)
        if item.area < rule.min_area
    ]
