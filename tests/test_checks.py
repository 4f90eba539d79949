"""qc.checks: one table per rule over tiny hand-drawn masks, then invariants and compliance summaries.

Masks are drawn as text: ``#`` is foreground, ``.`` background; rows are y, columns x.
Bboxes are COCO ``(x, y, w, h)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from qc import masks
from qc.checks import (
    IMAGE_CLASS,
    Rule,
    Violation,
    check_box_tolerance,
    check_empty,
    check_holes,
    check_max_parts,
    check_min_area,
    check_overlap,
    check_sliver,
    check_submission,
    check_unknown_class,
    check_unlabeled,
    compliance_frame,
    crack_perimeter,
    summarise,
    violation_records,
)
from qc.core import Segment
from qc.errors import QCError, ShapeMismatchError
from qc.guideline import Guideline


def art(*rows: str) -> np.ndarray:
    return np.array([[char == "#" for char in row] for row in rows], dtype=bool)


def seg(segment_id: Any, drawing: np.ndarray, category_id: int = 1) -> Segment:
    return Segment(segment_id, category_id, masks.encode(drawing))


def guideline(task: str = "instance", overlap: float = 0, void: float = 0.0, **coin: Any) -> Guideline:
    """Classes: 1 coin (thing, rules from ``coin``), 2 background (stuff)."""
    return Guideline.model_validate(
        {
            "version": "t",
            "task": task,
            "classes": [
                {"id": 1, "name": "coin", "kind": "thing", "colour": "#d4a017", **coin},
                {"id": 2, "name": "background", "kind": "stuff", "colour": "#7f7f7f"},
            ],
            "thresholds": {"overlap_allowance": overlap, "void_allowance": void},
        }
    )


def summary(found: list[Violation]) -> list[tuple[Any, float, float, tuple[int, int, int, int]]]:
    return [(v.segment_id, v.measured, v.limit, v.bbox) for v in found]


EMPTY_4x4 = art("....", "....", "....", "....")
PIXEL = art("....", ".#..", "....", "....")
FULL_4x4 = art("####", "####", "####", "####")
CORNER_PIXEL = art("...#", "....", "....", "....")  # touches the image border


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


# --- overlap -----------------------------------------------------------------------------------------------

LEFT = art("##..", "##..", "....", "....")
MIDDLE = art(".##.", ".##.", "....", "....")  # shares x = 1, y 0..1 (2 px) with LEFT
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


# --- compliance summaries ----------------------------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    rules = guideline("panoptic", min_area=3)
    records = []
    submissions = {
        ("ann1", 1): [seg("a", LEFT), seg("b", PIXEL)],  # b: min_area and overlap with a
        ("ann1", 2): [seg("c", FULL_4x4)],  # clean
        ("ann2", 1): [seg("d", PIXEL), seg("e", CORNER_PIXEL, 9)],  # d: min_area; e: unknown; void
    }
    for (annotator, image_id), segments in submissions.items():
        found = check_submission(segments, height=4, width=4, guideline=rules)
        records += violation_records(segments, found, annotator=annotator, image_id=image_id, guideline=rules)
    return records


def test_violation_records_one_per_segment_and_one_per_image() -> None:
    records = _records()
    assert [(r["annotator"], r["image_id"], r["class"], len(r["violations"])) for r in records] == [
        ("ann1", 1, "coin", 1),  # a: overlap (counted for the first segment of the pair)
        ("ann1", 1, "coin", 1),  # b: min_area
        ("ann1", 1, None, 1),  # unlabeled
        ("ann1", 2, "coin", 0),
        ("ann1", 2, None, 0),
        ("ann2", 1, "coin", 1),
        ("ann2", 1, "unknown:9", 1),
        ("ann2", 1, None, 1),
    ]


def test_compliance_frame_rows_per_applicable_rule() -> None:
    frame = compliance_frame(_records())
    assert list(frame.columns) == ["record", "annotator", "image_id", "class", "rule", "violations"]
    segment_rules = len(Rule) - 1
    assert len(frame) == 5 * segment_rules + 3 * 1  # 5 segments x segment rules + 3 images x unlabeled
    assert set(frame.loc[frame["class"] == IMAGE_CLASS, "rule"]) == {"unlabeled"}
    assert int(frame["violations"].sum()) == 6


def test_compliance_frame_accepts_tuples_and_rejects_junk() -> None:
    frame = compliance_frame([("ann", 1, "coin", []), ("ann", 1, None, [])])
    assert len(frame) == len(Rule)
    with pytest.raises(QCError, match="compliance record 0"):
        compliance_frame([("ann", 1)])


def test_summarise_by_annotator_and_rule() -> None:
    table = summarise(compliance_frame(_records()))
    rows = {(r.annotator, r.rule): (r.items, r.flagged, r.violations, r.rate) for r in table.itertuples()}
    assert rows[("ann1", "min_area")] == (3, 1, 1, pytest.approx(1 / 3))  # a, b, c
    assert rows[("ann1", "overlap")] == (3, 1, 1, pytest.approx(1 / 3))
    assert rows[("ann1", "unlabeled")] == (2, 1, 1, 0.5)  # two images
    assert rows[("ann2", "unknown_class")] == (2, 1, 1, 0.5)
    assert rows[("ann2", "unlabeled")] == (1, 1, 1, 1.0)
    assert rows[("ann2", "holes")] == (2, 0, 0, 0.0)
    assert list(table.columns) == ["annotator", "rule", "items", "flagged", "violations", "rate"]


def test_summarise_by_annotator_counts_each_record_once() -> None:
    table = summarise(compliance_frame(_records()), by=("annotator",)).set_index("annotator")
    assert table.loc["ann1", ["items", "flagged", "violations"]].tolist() == [5, 3, 3]  # 3 segments + 2 images
    assert table.loc["ann2", ["items", "flagged", "violations"]].tolist() == [3, 3, 3]
    by_class = summarise(compliance_frame(_records()), by=("class",)).set_index("class")
    assert by_class.loc["coin", "items"] == 4 and by_class.loc["coin", "flagged"] == 3


@pytest.mark.parametrize("by", [(), ("record",), ("annotator", "colour")])
def test_summarise_rejects_unknown_keys(by: tuple[str, ...]) -> None:
    with pytest.raises(QCError, match="annotator, image_id, class, rule"):
        summarise(compliance_frame(_records()), by=by)


@settings(max_examples=300, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 8), st.integers(1, 8))))
def test_one_piece_shortcut_never_contradicts_labelling(mask: np.ndarray) -> None:
    from qc.checks import _EIGHT, _one_piece

    if _one_piece(mask):
        assert ndimage.label(mask, structure=_EIGHT)[1] == 1
