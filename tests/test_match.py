"""qc.match: pairwise Hungarian matching and multi-annotator groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as cocomask

from qc import masks
from qc.core import Segment
from qc.errors import ShapeMismatchError
from qc.match import MatchTally, group_instances, iou_matrix, match_instances


def rect(x: int, y: int, w: int, h: int, *, size: tuple[int, int] = (32, 32)) -> dict:
    mask = np.zeros(size, bool)
    mask[y : y + h, x : x + w] = True
    return masks.encode(mask)


def seg(sid: str, x: int, y: int, w: int = 6, h: int = 6, cat: int = 1) -> Segment:
    return Segment(sid, cat, rect(x, y, w, h))


# (a, b, expected matches as (a_id, b_id)): empty first
MATCH_TABLE = [
    ([], [], []),  # nothing on either side
    ([seg("a", 0, 0)], [], []),  # one side empty
    ([seg("a", 0, 0)], [seg("b", 0, 0)], [("a", "b")]),  # identical
    ([seg("a", 0, 0)], [seg("b", 20, 20)], []),  # disjoint: boxes never overlap
    ([seg("a", 0, 0)], [seg("b", 0, 3)], []),  # IoU 18/54 = 0.33 < 0.5
    ([seg("a", 0, 0)], [seg("b", 0, 1)], [("a", "b")]),  # IoU 30/42 = 0.71
    ([seg("a", 0, 0, cat=1)], [seg("b", 0, 0, cat=2)], []),  # same object, other class
    # greedy would pair a1-b1 (0.71) and leave a2 alone; Hungarian maximises the total
    (
        [seg("a1", 0, 0, 6, 6), seg("a2", 0, 2, 6, 6)],
        [seg("b1", 0, 1, 6, 6), seg("b2", 0, 3, 6, 6)],
        [("a1", "b1"), ("a2", "b2")],
    ),
]


@pytest.mark.parametrize(("a", "b", "expected"), MATCH_TABLE)
def test_match_table(a: list[Segment], b: list[Segment], expected: list[tuple[str, str]]) -> None:
    assert [(m.a_id, m.b_id) for m in match_instances(a, b)] == expected


def test_class_agnostic_matching_reports_the_class_conflict() -> None:
    (match,) = match_instances([seg("a", 0, 0, cat=1)], [seg("b", 0, 0, cat=2)], class_agnostic=True)
    assert match.class_conflict and match.iou == 1.0


def test_iou_threshold_is_inclusive() -> None:
    # 4x4 square against the same square grown to 4x8: IoU exactly 0.5
    (match,) = match_instances([seg("a", 0, 0, 4, 4)], [seg("b", 0, 0, 4, 8)])
    assert match.iou == 0.5


def test_iou_matrix_equals_pycocotools() -> None:
    rng = np.random.default_rng(3)
    a = [seg(f"a{i}", *rng.integers(0, 20, 2), *rng.integers(2, 12, 2)) for i in range(6)]
    b = [seg(f"b{i}", *rng.integers(0, 20, 2), *rng.integers(2, 12, 2)) for i in range(5)]
    expected = cocomask.iou([masks.to_pycocotools(s.rle) for s in a], [masks.to_pycocotools(s.rle) for s in b], [0] * 5)
    assert np.allclose(iou_matrix(a, b), expected, atol=0)


def test_segments_of_different_sizes_are_refused() -> None:
    small = Segment("s", 1, rect(0, 0, 2, 2, size=(8, 8)))
    with pytest.raises(ShapeMismatchError) as info:
        match_instances([seg("a", 0, 0)], [small])
    assert "(32, 32)" in str(info.value) and "(8, 8)" in str(info.value)


def test_three_annotators_group_and_outlier_stays_apart() -> None:
    groups = group_instances(
        {
            "ann1": [seg("x1", 0, 0), seg("y1", 20, 20)],
            "ann2": [seg("x2", 0, 1), seg("y2", 20, 21)],
            "ann3": [seg("x3", 1, 0), seg("z3", 10, 20)],  # misses y, draws an extra z
        }
    )
    members = [{a: s.id for a, s in g.members} for g in groups]
    assert members == [{"ann1": "x1", "ann2": "x2", "ann3": "x3"}, {"ann3": "z3"}, {"ann1": "y1", "ann2": "y2"}]
    first = groups[0]
    assert dict(first.pair_ious)[("ann1", "ann2")] == pytest.approx(30 / 42)
    assert first.min_iou == pytest.approx(25 / 47)  # (0,1) vs (1,0): 5x5 overlap over 72-25
    assert np.isnan(groups[1].min_iou)


def test_group_holds_one_segment_per_annotator_and_the_higher_iou_wins() -> None:
    # ann2 drew the object twice; ann1's segment matches both, the closer one joins the group
    groups = group_instances({"ann1": [seg("x1", 0, 0)], "ann2": [seg("far", 0, 2), seg("near", 0, 1)]})
    assert [{a: s.id for a, s in g.members} for g in groups] == [{"ann1": "x1", "ann2": "near"}, {"ann2": "far"}]


def test_group_exposes_class_conflict() -> None:
    (group,) = group_instances({"a": [seg("x", 0, 0, cat=1)], "b": [seg("y", 0, 0, cat=2)]})
    assert group.class_conflict and group.categories == (1, 2)


squares = st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24), st.integers(1, 8), st.integers(1, 8)), max_size=6)


@settings(max_examples=60, deadline=None)
@given(squares, squares, st.randoms(use_true_random=False))
def test_matching_is_invariant_to_segment_order(boxes_a: list, boxes_b: list, rnd) -> None:  # type: ignore[no-untyped-def]
    a = [seg(f"a{i}", *box) for i, box in enumerate(boxes_a)]
    b = [seg(f"b{i}", *box) for i, box in enumerate(boxes_b)]
    expected = {(m.a_id, m.b_id) for m in match_instances(a, b)}
    rnd.shuffle(a)
    rnd.shuffle(b)
    assert {(m.a_id, m.b_id) for m in match_instances(a, b)} == expected
    groups = {frozenset((x, s.id) for x, s in g.members) for g in group_instances({"p": a, "q": b})}
    rnd.shuffle(a)
    assert {frozenset((x, s.id) for x, s in g.members) for g in group_instances({"p": a, "q": b})} == groups


@settings(max_examples=60, deadline=None)
@given(squares, squares)
def test_iou_symmetric_and_bounded(boxes_a: list, boxes_b: list) -> None:
    a = [seg(f"a{i}", *box) for i, box in enumerate(boxes_a)]
    b = [seg(f"b{i}", *box) for i, box in enumerate(boxes_b)]
    forward, backward = iou_matrix(a, b), iou_matrix(b, a)
    assert np.array_equal(forward, backward.T)
    assert ((forward >= 0) & (forward <= 1)).all()
    if a:
        assert np.allclose(np.diag(iou_matrix(a, a)), 1.0)


# (match IoUs, a_total, b_total, expected (pq, sq, rq, mean_iou)): empty first
TALLY_TABLE = [
    ([], 0, 0, (math.nan, math.nan, math.nan, math.nan)),  # nothing on either side: undefined
    ([], 2, 0, (0.0, 0.0, 0.0, 0.0)),  # one side empty: all misses
    ([], 1, 1, (0.0, 0.0, 0.0, 0.0)),  # neither matched
    ([1.0], 1, 1, (1.0, 1.0, 1.0, 1.0)),  # one perfect match
    ([0.5], 1, 2, (0.5 / 1.5, 0.5, 1 / 1.5, 0.25)),  # one extra on b: PQ charges half, mean IoU charges it whole
    ([0.8, 0.6], 3, 2, (0.56, 0.7, 0.8, 1.4 / 3)),  # one miss on a
]


@pytest.mark.parametrize(("ious", "a_total", "b_total", "expected"), TALLY_TABLE)
def test_match_tally(ious: list[float], a_total: int, b_total: int, expected: tuple[float, ...]) -> None:
    tally = MatchTally.of(ious, a_total=a_total, b_total=b_total)
    assert (tally.only_a, tally.only_b) == (a_total - len(ious), b_total - len(ious))
    assert (tally.pq, tally.sq, tally.rq, tally.mean_iou) == pytest.approx(expected, nan_ok=True)
