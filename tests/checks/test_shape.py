"""qc.checks shape rules: max_parts, holes, sliver and the crack perimeter; the one-piece shortcut."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from qc import masks
from qc.checks import (
    Rule,
    check_holes,
    check_max_parts,
    check_sliver,
    crack_perimeter,
)
from tests.checks.drawing import CORNER_PIXEL, PIXEL, EMPTY_4x4, FULL_4x4, art, guideline, seg, summary

# --- max_parts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawing", "max_parts", "expected_parts"),
    [
        (EMPTY_4x4, 1, None),  # empty: reported elsewhere
        (PIXEL, 1, None),
        (art("#...", ".#..", "..#.", "...#"), 1, None),  # a diagonal is one 8-connected part
        (art("#.#.", "....", "....", "...."), 1, 2),  # one column apart: two parts
        (art("#..#", "....", "....", "#..#"), 1, 4),  # four corners, all on the image border
        (art("#..#", "....", "....", "#..#"), 4, None),
        (art("#.#.", "....", "#.#.", "...."), 3, 4),
        (art("#.#.", "....", "#.#.", "...."), None, None),  # no limit
    ],
)
def test_max_parts(drawing: np.ndarray, max_parts: int | None, expected_parts: int | None) -> None:
    found = check_max_parts([seg("s", drawing)], height=4, width=4, guideline=guideline(max_parts=max_parts))
    if expected_parts is None:
        assert found == []
    else:
        assert summary(found) == [
            ("s", float(expected_parts), float(max_parts or 0), masks.bbox(masks.encode(drawing)))
        ]
        assert found[0].rule is Rule.MAX_PARTS


# --- holes -------------------------------------------------------------------------------------------------

RING = art("###..", "#.#..", "###..", ".....", ".....")  # one 1-px hole at (1, 1), touching the image border
RING_OPEN_CORNER = art(".##..", "#.#..", "###..", ".....", ".....")  # centre meets outside only diagonally
U_SHAPE = art("#.#..", "#.#..", "###..", ".....", ".....")  # open at the image border: not a hole
BIG_HOLE = art(".....", "####.", "#..#.", "####.", ".....")  # a 2-px hole at (1..2, 2)
TWO_HOLES = art("#####", "#.#.#", "#####", ".....", ".....")


@pytest.mark.parametrize(
    ("drawing", "rules", "expected"),
    [
        (EMPTY_4x4[:5], {"allow_holes": False}, []),
        (PIXEL, {"allow_holes": False}, []),
        (FULL_4x4, {"allow_holes": False}, []),
        (RING, {"allow_holes": False}, [(1.0, (1, 1, 1, 1))]),
        (RING, {"allow_holes": True}, []),  # holes allowed
        (RING_OPEN_CORNER, {"allow_holes": False}, [(1.0, (1, 1, 1, 1))]),  # background is 4-connected
        (U_SHAPE, {"allow_holes": False}, []),
        (BIG_HOLE, {"allow_holes": False, "min_hole_area": 3}, []),  # hole below min_hole_area
        (BIG_HOLE, {"allow_holes": False, "min_hole_area": 2}, [(1.0, (1, 2, 2, 1))]),
        (TWO_HOLES, {"allow_holes": False}, [(2.0, (1, 1, 3, 1))]),
    ],
)
def test_holes(drawing: np.ndarray, rules: dict[str, Any], expected: list[Any]) -> None:
    height, width = drawing.shape
    found = check_holes([seg("s", drawing)], height=height, width=width, guideline=guideline(**rules))
    assert [(v.measured, v.bbox) for v in found] == expected
    assert all(v.rule is Rule.HOLES and v.limit == 0.0 and v.segment_id == "s" for v in found)


def test_hole_in_a_whole_image_segment() -> None:
    drawing = np.ones((6, 7), dtype=bool)
    drawing[2:4, 3] = False
    found = check_holes([seg("s", drawing)], height=6, width=7, guideline=guideline(allow_holes=False))
    assert summary(found) == [("s", 1.0, 0.0, (3, 2, 1, 2))]
    assert "largest 2 px" in found[0].message


# --- sliver ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drawing", "shape", "perimeter"),
    [
        (EMPTY_4x4, (4, 4), 0),
        (PIXEL, (4, 4), 4),
        (CORNER_PIXEL, (4, 4), 4),  # the image border counts as boundary
        (art("#####"), (1, 5), 12),
        (FULL_4x4, (4, 4), 16),
        (RING[:3, :3], (3, 3), 16),  # 12 outside + 4 around the hole
        (art("#.", ".#"), (2, 2), 8),  # diagonal neighbours share no edge
    ],
)
def test_crack_perimeter(drawing: np.ndarray, shape: tuple[int, int], perimeter: int) -> None:
    assert drawing.shape == shape
    assert crack_perimeter(drawing) == perimeter


@pytest.mark.parametrize(
    ("drawing", "threshold", "expected"),
    [
        (EMPTY_4x4, 1.0, []),  # empty: reported elsewhere
        (PIXEL, 0.3, [0.25]),  # 1 / 4
        (PIXEL, 0.25, []),  # equal to the threshold passes
        (art("####", "....", "....", "...."), 0.5, [0.4]),  # 4 / 10
        (FULL_4x4, 1.0, []),  # 16 / 16, along the image border
        (FULL_4x4, 1.01, [1.0]),
        (art("###.", "#.#.", "###.", "...."), 0.6, [0.5]),  # ring: 8 / 16
        (PIXEL, 0.0, []),  # threshold 0: off
    ],
)
def test_sliver(drawing: np.ndarray, threshold: float, expected: list[float]) -> None:
    found = check_sliver(
        [seg("s", drawing)], height=4, width=4, guideline=guideline(min_area_perimeter_ratio=threshold)
    )
    assert [v.measured for v in found] == pytest.approx(expected)
    assert all(v.rule is Rule.SLIVER and v.limit == threshold for v in found)


@settings(max_examples=300, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 8), st.integers(1, 8))))
def test_one_piece_shortcut_never_contradicts_labelling(mask: np.ndarray) -> None:
    from qc.checks._base import _EIGHT, _one_piece

    if _one_piece(mask):
        assert ndimage.label(mask, structure=_EIGHT)[1] == 1
