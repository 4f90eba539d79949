"""qc.checks unlabeled: the void fraction of semantic and panoptic images."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qc.checks import (
    Rule,
    check_unlabeled,
)
from tests.checks.drawing import LEFT, MIDDLE, EMPTY_4x4, FULL_4x4, art, guideline, seg

# --- unlabeled ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "void", "drawings", "expected"),
    [
        ("semantic", 0.0, [], [(1.0, (0, 0, 4, 4))]),  # nothing drawn: all void
        ("semantic", 0.0, [EMPTY_4x4], [(1.0, (0, 0, 4, 4))]),
        ("semantic", 0.0, [FULL_4x4], []),
        ("semantic", 0.0, [art("####", "####", "###.", "####")], [(1 / 16, (3, 2, 1, 1))]),
        ("semantic", 0.1, [art("####", "####", "###.", "####")], []),  # 1/16 within 10 %
        ("semantic", 0.0, [art("###.", "###.", "####", "#.##")], [(3 / 16, (1, 0, 3, 4))]),  # x 3 and x 1
        ("panoptic", 0.0, [LEFT, MIDDLE], [(10 / 16, (0, 0, 4, 4))]),  # union: the overlap counts once
        ("panoptic", 0.25, [LEFT, MIDDLE, art("....", "....", "####", "....")], [(6 / 16, (0, 0, 4, 4))]),
        ("panoptic", 0.375, [LEFT, MIDDLE, art("....", "....", "####", "....")], []),  # exactly the allowance
        ("panoptic", 0.0, [art("##..", "##..", "##..", "##.."), art("..##", "..##", "..##", "..##")], []),
        ("instance", 0.0, [], []),  # instance projects leave background unlabeled
    ],
)
def test_unlabeled(task: str, void: float, drawings: list[np.ndarray], expected: list[Any]) -> None:
    segments = [seg(index, drawing) for index, drawing in enumerate(drawings)]
    found = check_unlabeled(segments, height=4, width=4, guideline=guideline(task, void=void))
    assert [(v.measured, v.bbox) for v in found] == [(pytest.approx(m), b) for m, b in expected]
    assert all(v.rule is Rule.UNLABELED and v.segment_id is None and v.limit == void for v in found)
