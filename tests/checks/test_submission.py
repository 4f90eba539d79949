"""qc.checks.check_submission: every rule in order, and invariants against full-image references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from qc.checks import (
    Rule,
    Violation,
    check_submission,
)
from qc.errors import ShapeMismatchError
from tests.checks.drawing import LEFT, art, guideline, seg

# --- invariants against full-image references on random masks -------------------------------------------------


def _random_masks(rng: np.random.Generator, count: int, height: int, width: int) -> list[np.ndarray]:
    drawings = []
    for _ in range(count):
        drawing = np.zeros((height, width), dtype=bool)
        y0, x0 = rng.integers(0, height - 1), rng.integers(0, width - 1)
        y1, x1 = rng.integers(y0 + 1, height + 1), rng.integers(x0 + 1, width + 1)
        drawing[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < rng.uniform(0.4, 0.95)
        drawings.append(drawing)
    return drawings


def test_crop_based_rules_match_full_image_references() -> None:
    rng = np.random.default_rng(7)
    four = ndimage.generate_binary_structure(2, 1)
    rules = guideline("panoptic", allow_holes=False, max_parts=1)
    for trial in range(60):
        height, width = int(rng.integers(3, 14)), int(rng.integers(3, 14))
        drawings = _random_masks(rng, 3, height, width)
        segments = [seg(index, drawing) for index, drawing in enumerate(drawings)]
        found = check_submission(segments, height=height, width=width, guideline=rules)
        by_rule = {(v.rule, v.segment_id, v.other_id): v.measured for v in found}
        for index, drawing in enumerate(drawings):
            parts = ndimage.label(drawing, structure=np.ones((3, 3)))[1]
            background = ndimage.label(np.pad(~drawing, 1, constant_values=True), structure=four)[1]
            assert by_rule.get((Rule.MAX_PARTS, index, None), 1.0) == max(parts, 1), trial
            assert by_rule.get((Rule.HOLES, index, None), 0.0) == background - 1, trial
            for other in range(index + 1, 3):
                shared = float((drawing & drawings[other]).sum())
                assert by_rule.get((Rule.OVERLAP, index, other), 0.0) == shared, trial
        void = ~np.logical_or.reduce(drawings)
        if void.any():
            rows, cols = np.flatnonzero(void.any(axis=1)), np.flatnonzero(void.any(axis=0))
            box = (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
            (unlabeled,) = [v for v in found if v.rule is Rule.UNLABELED]
            assert (unlabeled.measured, unlabeled.bbox) == (pytest.approx(void.mean()), box), trial


# --- check_submission --------------------------------------------------------------------------------------


def test_check_submission_runs_every_rule_in_order() -> None:
    rules = guideline("panoptic", min_area=2, allow_holes=False, max_parts=1, min_area_perimeter_ratio=0.3)
    segments = [
        seg("ring", art("###..", "#.#..", "###..", ".....", ".....")),  # hole; overlaps "bar"
        seg("bar", art(".....", ".....", "#####", ".....", ".....")),  # 5 / 12 is no sliver; box too small
        seg("dot", art(".....", ".....", ".....", ".....", "....#")),  # min_area, sliver
        seg("two", art(".....", ".....", ".....", "#.#..", ".....")),  # max_parts, sliver
        seg("none", np.zeros((5, 5), dtype=bool)),  # empty
        seg("alien", art("....#", ".....", ".....", ".....", "....."), 7),  # unknown class
    ]
    found = check_submission(segments, height=5, width=5, guideline=rules, boxes={"bar": (0, 2, 4, 1)})
    assert [(v.rule.value, v.segment_id) for v in found] == [
        ("unknown_class", "alien"),
        ("empty", "none"),
        ("min_area", "dot"),
        ("max_parts", "two"),
        ("holes", "ring"),
        ("sliver", "dot"),
        ("sliver", "two"),
        ("box_tolerance", "bar"),
        ("overlap", "ring"),
        ("unlabeled", None),
    ]
    assert found[-1].measured == pytest.approx(11 / 25)


def test_check_submission_clean_and_empty() -> None:
    rules = guideline("instance", min_area=1, allow_holes=False, max_parts=1)
    assert check_submission([], height=4, width=4, guideline=rules) == []
    assert check_submission([seg("a", LEFT)], height=4, width=4, guideline=rules) == []
    assert check_submission([], height=0, width=0, guideline=guideline("semantic")) == []


def test_check_submission_rejects_a_segment_of_another_size() -> None:
    with pytest.raises(ShapeMismatchError) as caught:
        check_submission([seg("a", LEFT)], height=5, width=4, guideline=guideline())
    assert caught.value.annotation_id == "a"
    assert (caught.value.shape_a, caught.value.shape_b) == ((4, 4), (5, 4))


def test_violation_to_dict() -> None:
    violation = Violation(Rule.OVERLAP, "a", (1, 0, 1, 2), 2.0, 0.0, "shared", other_id="b")
    assert violation.to_dict() == {
        "rule": "overlap",
        "segment_id": "a",
        "other_id": "b",
        "bbox": [1, 0, 1, 2],
        "measured": 2.0,
        "limit": 0.0,
        "message": "shared",
    }
