"""qc.checks class and area rules: unknown_class, empty, min_area (one table per rule)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from qc.checks import (
    Rule,
    check_empty,
    check_min_area,
    check_unknown_class,
)
from qc.core import Segment
from tests.checks.drawing import CORNER_PIXEL, PIXEL, EMPTY_4x4, FULL_4x4, art, guideline, seg, summary

# --- unknown_class -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ([], []),  # no segment, no finding
        ([seg("a", PIXEL, 1), seg("b", PIXEL, 2)], []),  # both classes known
        ([seg("a", PIXEL, 9)], [("a", 9.0, (1, 1, 1, 1))]),
        ([seg("a", EMPTY_4x4, 0)], [("a", 0.0, (0, 0, 0, 0))]),  # unknown and empty: reported as unknown only
    ],
)
def test_unknown_class(segments: list[Segment], expected: list[tuple[Any, float, Any]]) -> None:
    found = check_unknown_class(segments, height=4, width=4, guideline=guideline())
    assert [(v.segment_id, v.measured, v.bbox) for v in found] == expected
    assert all(v.rule is Rule.UNKNOWN_CLASS and math.isnan(v.limit) for v in found)
    assert all("1 (coin), 2 (background)" in v.message for v in found)
    assert check_empty(segments, height=4, width=4, guideline=guideline()) == []


# --- empty -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawing", "expected"),
    [
        (EMPTY_4x4, [("s", 0.0, 1.0, (0, 0, 0, 0))]),
        (PIXEL, []),  # one pixel is not empty
        (CORNER_PIXEL, []),
        (FULL_4x4, []),
    ],
)
def test_empty(drawing: np.ndarray, expected: list[Any]) -> None:
    found = check_empty([seg("s", drawing)], height=4, width=4, guideline=guideline())
    assert summary(found) == expected
    assert all(v.rule is Rule.EMPTY for v in found)


# --- min_area ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawing", "min_area", "expected"),
    [
        (EMPTY_4x4, 4, []),  # empty is reported by `empty`, not again here
        (PIXEL, 4, [(1.0, 4.0, (1, 1, 1, 1))]),
        (CORNER_PIXEL, 2, [(1.0, 2.0, (3, 0, 1, 1))]),  # at the image border
        (art("###.", "....", "....", "...."), 4, [(3.0, 4.0, (0, 0, 3, 1))]),
        (art("##..", "##..", "....", "...."), 4, []),  # exactly min_area passes
        (PIXEL, 0, []),  # no minimum
        (FULL_4x4, 16, []),
    ],
)
def test_min_area(drawing: np.ndarray, min_area: int, expected: list[Any]) -> None:
    found = check_min_area([seg("s", drawing)], height=4, width=4, guideline=guideline(min_area=min_area))
    assert [(v.measured, v.limit, v.bbox) for v in found] == expected
    assert all(v.rule is Rule.MIN_AREA and v.segment_id == "s" for v in found)
