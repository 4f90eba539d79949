"""qc.checks box_tolerance: pixel centres against the drawn box grown by the tolerance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qc.checks import (
    Rule,
    check_box_tolerance,
)
from qc.errors import QCError
from tests.checks.drawing import guideline, seg

# --- box_tolerance -----------------------------------------------------------------------------------------

SQUARE = np.zeros((8, 8), dtype=bool)
SQUARE[2:6, 2:6] = True  # a 4 x 4 square at x 2..5, y 2..5


@pytest.mark.parametrize(
    ("drawn", "tolerance", "expected"),
    [
        ({}, 0, []),  # no box drawn for it
        ({"other": (0, 0, 1, 1)}, 0, []),  # a box for another segment
        ({"s": (2, 2, 4, 4)}, 0, []),  # the exact box
        ({"s": (2, 2, 3, 4)}, 0, [(4.0, (5, 2, 1, 4))]),  # column x = 5 sticks out
        ({"s": (2, 2, 3, 4)}, 1, []),  # ... within a 1-px tolerance
        ({"s": (2.4, 2, 3, 4)}, 0, [(4.0, (5, 2, 1, 4))]),  # pixel centre 5.5 > 5.4: outside
        ({"s": (1.6, 2, 3, 4)}, 0, [(4.0, (5, 2, 1, 4))]),  # centre 2.5 >= 1.6 in, 5.5 > 4.6 out
        ({"s": (3, 3, 2, 2)}, 0, [(12.0, (2, 2, 4, 4))]),  # only the inner 2 x 2 is inside
        ({"s": (-5, -5, 30, 30)}, 0, []),  # a box beyond the image
        ({"s": (0, 0, 0, 0)}, 0, [(16.0, (2, 2, 4, 4))]),  # a degenerate box holds nothing
    ],
)
def test_box_tolerance(drawn: dict[str, Any], tolerance: int, expected: list[Any]) -> None:
    found = check_box_tolerance(
        [seg("s", SQUARE)], height=8, width=8, guideline=guideline(box_tolerance=tolerance), boxes=drawn
    )
    assert [(v.measured, v.bbox) for v in found] == expected
    assert all(v.rule is Rule.BOX_TOLERANCE and v.limit == 0.0 for v in found)


@pytest.mark.parametrize("bad", [(1, 2, 3), (0, 0, -1, 2), (0, float("nan"), 1, 1)])
def test_box_tolerance_rejects_bad_boxes(bad: tuple[float, ...]) -> None:
    with pytest.raises(QCError, match=r"\(x, y, w, h\)") as caught:
        check_box_tolerance([seg("s", SQUARE)], height=8, width=8, guideline=guideline(), boxes={"s": bad})
    assert caught.value.annotation_id == "s"
