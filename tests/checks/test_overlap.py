"""qc.checks overlap: pixels shared by two instances, per task."""

from __future__ import annotations

from typing import Any

import pytest

from qc.checks import (
    Rule,
    check_overlap,
)
from qc.core import Segment
from tests.checks.drawing import LEFT, MIDDLE, EMPTY_4x4, FULL_4x4, art, guideline, seg

# --- overlap -----------------------------------------------------------------------------------------------

DIAGONAL_A = art("#...", ".#..", "..#.", "...#")


@pytest.mark.parametrize(
    ("task", "allowance", "segments", "expected"),
    [
        ("instance", 0, [], []),
        ("instance", 0, [seg("a", LEFT)], []),
        ("instance", 0, [seg("a", LEFT), seg("b", art("....", "....", "..##", "..##"))], []),  # apart
        # boxes meet, pixels do not: a diagonal and the triangle below it
        ("instance", 0, [seg("a", DIAGONAL_A), seg("b", art("....", "#...", "##..", "###."))], []),
        ("instance", 0, [seg("a", LEFT), seg("b", MIDDLE)], [("a", "b", 2.0, 0.0, (1, 0, 1, 2))]),
        ("instance", 2, [seg("a", LEFT), seg("b", MIDDLE)], []),  # within 2 px
        ("instance", 0.5, [seg("a", LEFT), seg("b", MIDDLE)], []),  # half of the smaller (4 px) = 2
        ("instance", 0.25, [seg("a", LEFT), seg("b", MIDDLE)], [("a", "b", 2.0, 1.0, (1, 0, 1, 2))]),
        ("instance", 0, [seg("a", LEFT), seg("b", LEFT)], [("a", "b", 4.0, 0.0, (0, 0, 2, 2))]),  # duplicate
        ("instance", 0, [seg("a", LEFT), seg("b", EMPTY_4x4)], []),  # empty: reported elsewhere
        ("instance", 0, [seg("a", LEFT), seg("bg", FULL_4x4, 2)], []),  # instance: stuff may lie under things
        ("panoptic", 0, [seg("a", LEFT), seg("bg", FULL_4x4, 2)], [("a", "bg", 4.0, 0.0, (0, 0, 2, 2))]),
        ("semantic", 0, [seg("a", LEFT), seg("b", MIDDLE)], []),  # semantic: not checked
        ("instance", 0, [seg("a", LEFT), seg("x", MIDDLE, 9)], [("a", "x", 2.0, 0.0, (1, 0, 1, 2))]),  # unknown class
    ],
)
def test_overlap(task: str, allowance: float, segments: list[Segment], expected: list[Any]) -> None:
    found = check_overlap(segments, height=4, width=4, guideline=guideline(task, overlap=allowance))
    assert [(v.segment_id, v.other_id, v.measured, v.limit, v.bbox) for v in found] == expected
    assert all(v.rule is Rule.OVERLAP for v in found)


def test_overlap_three_segments_reports_each_pair_once() -> None:
    segments = [seg("a", LEFT), seg("b", MIDDLE), seg("c", art("#...", "#...", "#...", "#..."))]
    found = check_overlap(segments, height=4, width=4, guideline=guideline())
    assert sorted((v.segment_id, v.other_id, v.measured) for v in found) == [("a", "b", 2.0), ("a", "c", 2.0)]
