"""qc.metrics panoptic_quality: hand-computed cases, then every panopticapi golden case."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from qc import masks
from qc.core import Category, Segment
from qc.errors import QCError, ShapeMismatchError
from qc.metrics import PanopticResult, panoptic_quality
from tests.support.data import golden_cases

CATS = [Category(1, "cell", True), Category(2, "vessel", True), Category(10, "tissue", False)]


def _box(top: int, left: int, bottom: int, right: int, shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def _seg(seg_id: Any, category_id: int, mask: np.ndarray, *, iscrowd: bool = False) -> Segment:
    return Segment(seg_id, category_id, masks.encode(mask), iscrowd)


# --- edge cases first ----------------------------------------------------------------------------------


def test_both_empty_gives_no_groups_and_zero_counts() -> None:
    result = panoptic_quality([], [], CATS)
    assert (result.all, result.things, result.stuff) == (None, None, None)
    assert result.matches == ()
    assert {cat: (s.tp, s.fp, s.fn, s.pq) for cat, s in result.per_class.items()} == {
        1: (0, 0, 0, 0.0),
        2: (0, 0, 0, 0.0),
        10: (0, 0, 0, 0.0),
    }


def test_b_empty_makes_every_a_segment_a_false_negative() -> None:
    a = [_seg(1, 1, _box(0, 0, 2, 2)), _seg(2, 10, _box(4, 4, 8, 8))]
    result = panoptic_quality(a, [], CATS)
    assert result.all is not None and result.all.to_dict() == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 2}
    assert result.per_class[1].fn == 1 and result.per_class[10].fn == 1
    assert result.per_class[2].fn == 0


def test_a_empty_puts_every_b_segment_on_void_so_nothing_counts() -> None:
    result = panoptic_quality([], [_seg(1, 1, _box(0, 0, 2, 2))], CATS)
    assert result.all is None
    assert result.per_class[1].fp == 0


def test_one_identical_segment_each() -> None:
    result = panoptic_quality([_seg("x", 2, _box(1, 1, 3, 4))], [_seg("y", 2, _box(1, 1, 3, 4))], CATS)
    assert result.all is not None and (result.all.pq, result.all.n) == (1.0, 1)
    assert result.stuff is None
    assert [m.to_dict() for m in result.matches] == [{"a_id": "x", "b_id": "y", "iou": 1.0}]


def test_one_segment_each_of_other_class_is_fn_plus_fp() -> None:
    result = panoptic_quality([_seg(1, 1, _box(1, 1, 3, 4))], [_seg(1, 2, _box(1, 1, 3, 4))], CATS)
    assert result.matches == ()
    assert (result.per_class[1].fn, result.per_class[2].fp) == (1, 1)
    assert result.things is not None and result.things.to_dict() == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 2}


def test_empty_segments_are_ignored() -> None:
    empty = np.zeros((8, 8), dtype=bool)
    result = panoptic_quality([_seg(1, 1, empty)], [_seg(1, 1, empty)], CATS)
    assert result.all is None


# --- hand-computed ---------------------------------------------------------------------------------------


def test_void_in_a_leaves_b_pixels_out_of_the_union() -> None:
    # a: 2x2 = 4 px, rest VOID; b: the same 4 px plus 2 px on a's VOID. Union = 4 + 6 - 4 - 2 = 4.
    a = [_seg(1, 1, _box(0, 0, 2, 2))]
    b = [_seg(1, 1, _box(0, 0, 2, 3))]
    assert panoptic_quality(a, b, CATS).matches[0].iou == 1.0
    # swapped: b's 4 px lie inside a's 6 px, nothing on VOID: 4 / 6
    swapped = panoptic_quality(b, a, CATS)
    assert swapped.matches[0].iou == pytest.approx(4 / 6, abs=1e-15)


def test_iou_exactly_half_is_not_a_match() -> None:
    # background stuff segment covers the rest in a, so b's missing half is not on VOID
    a = [_seg(1, 1, _box(0, 0, 2, 2)), _seg(2, 10, ~_box(0, 0, 2, 2))]
    b = [_seg(1, 1, _box(0, 0, 1, 2))]  # 2 of a's 4 px: IoU 0.5
    result = panoptic_quality(a, b, CATS)
    assert (result.per_class[1].tp, result.per_class[1].fp, result.per_class[1].fn) == (0, 1, 1)
    b_more = [_seg(1, 1, _box(0, 0, 2, 2) | _box(2, 0, 3, 1))]  # 4 of 5: IoU 0.8
    assert panoptic_quality(a, b_more, CATS).matches[0].iou == 0.8


def test_crowd_region_hides_only_its_own_class_and_only_the_last_crowd() -> None:
    first_crowd = _seg(1, 1, _box(0, 0, 4, 4), iscrowd=True)
    last_crowd = _seg(2, 1, _box(4, 4, 8, 8), iscrowd=True)
    rest = _seg(3, 10, ~(_box(0, 0, 4, 4) | _box(4, 4, 8, 8)))
    a = [first_crowd, last_crowd, rest]
    # inside the last crowd of its class: ignored, and the crowd itself is never an FN
    inside_last = panoptic_quality(a, [_seg(9, 1, _box(5, 5, 7, 7))], CATS)
    assert (inside_last.per_class[1].fp, inside_last.per_class[1].fn) == (0, 0)
    # inside the earlier crowd of its class: panopticapi only keeps the last one per class, so FP
    inside_first = panoptic_quality(a, [_seg(9, 1, _box(1, 1, 3, 3))], CATS)
    assert inside_first.per_class[1].fp == 1
    # another class inside the crowd: FP
    other_class = panoptic_quality(a, [_seg(9, 2, _box(5, 5, 7, 7))], CATS)
    assert other_class.per_class[2].fp == 1


def test_dict_categories_equal_category_objects() -> None:
    a = [_seg(1, 1, _box(0, 0, 3, 3)), _seg(2, 10, _box(4, 0, 8, 8))]
    b = [_seg(5, 1, _box(0, 0, 3, 2)), _seg(6, 10, _box(3, 0, 8, 8))]
    as_dicts = [{"id": c.id, "name": c.name, "isthing": int(c.isthing)} for c in CATS]
    assert panoptic_quality(a, b, as_dicts).to_dict() == panoptic_quality(a, b, CATS).to_dict()


def test_result_is_frozen_and_serialises() -> None:
    result = panoptic_quality([_seg(1, 1, _box(0, 0, 2, 2))], [_seg(2, 1, _box(0, 0, 2, 2))], CATS)
    assert isinstance(result, PanopticResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.all = None  # type: ignore[misc]
    data = result.to_dict()
    assert data["matches"] == [[1, 2, 1.0]]
    assert data["per_class"][1] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "tp": 1, "fp": 0, "fn": 0, "iou_sum": 1.0}
    assert data["stuff"] is None


# --- errors ----------------------------------------------------------------------------------------------


def test_segments_of_different_sizes_raise() -> None:
    with pytest.raises(ShapeMismatchError, match=r"\(8, 8\)"):
        panoptic_quality([_seg(1, 1, _box(0, 0, 2, 2))], [_seg(1, 1, _box(0, 0, 2, 2, shape=(8, 9)))], CATS)


def test_unknown_category_and_duplicate_ids_raise() -> None:
    with pytest.raises(QCError, match="category_id 7"):
        panoptic_quality([_seg(1, 7, _box(0, 0, 2, 2))], [], CATS)
    with pytest.raises(QCError, match="two segments with id 1"):
        panoptic_quality([], [_seg(1, 1, _box(0, 0, 2, 2)), _seg(1, 1, _box(4, 4, 6, 6))], CATS)


# --- golden: panopticapi pq_compute_single_core + pq_average ---------------------------------------------


def _segments(side: dict[str, Any]) -> list[Segment]:
    return [Segment(s["id"], s["category_id"], s["rle"], bool(s["iscrowd"])) for s in side["segments"]]


@pytest.mark.parametrize("case", golden_cases("panoptic_pairs.json"))
def test_golden_panopticapi(case: dict[str, Any]) -> None:
    result = panoptic_quality(_segments(case["a"]), _segments(case["b"]), case["categories"])
    expected = case["expected"]
    for name in ("all", "things", "stuff"):
        group = getattr(result, name)
        if expected[name] is None:
            assert group is None, name
            continue
        assert group is not None, name
        assert group.n == expected[name]["n"]
        for key in ("pq", "sq", "rq"):
            assert getattr(group, key) == pytest.approx(expected[name][key], abs=1e-9), (name, key)
    assert set(result.per_class) == {int(cat) for cat in expected["per_class"]}
    for cat, want in expected["per_class"].items():
        got = result.per_class[int(cat)]
        assert (got.tp, got.fp, got.fn) == (want["tp"], want["fp"], want["fn"]), cat
        for key in ("pq", "sq", "rq", "iou_sum"):
            assert getattr(got, key) == pytest.approx(want[key], abs=1e-9), (cat, key)
    got_matches = sorted((m.a_id, m.b_id, m.iou) for m in result.matches)
    want_matches = sorted(tuple(m) for m in expected["matches"])
    assert [m[:2] for m in got_matches] == [m[:2] for m in want_matches]
    assert [m[2] for m in got_matches] == pytest.approx([m[2] for m in want_matches], abs=1e-9)
