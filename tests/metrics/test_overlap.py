"""mask IoU and Dice against the golden references (pycocotools, DeepMind surface-distance)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qc import masks
from qc.errors import ShapeMismatchError
from qc.metrics import dice, mask_iou
from tests.support.data import golden_cases


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_golden_mask_iou_and_dice(case: dict) -> None:
    expected = case["expected"]
    for name, fn in (("mask_iou", mask_iou), ("dice", dice)):
        got = fn(case["a"], case["b"])
        if expected[name] is None:  # 0/0: both masks empty -> NaN by our convention
            assert math.isnan(got), name
        else:
            assert got == pytest.approx(expected[name], abs=1e-12), name


def test_arrays_and_rles_give_the_same_value() -> None:
    a = np.zeros((6, 7), bool)
    a[1:4, 1:5] = True
    b = np.zeros((6, 7), bool)
    b[2:5, 2:6] = True
    assert mask_iou(a, b) == mask_iou(masks.encode(a), b) == pytest.approx(6 / 18)
    assert dice(a, masks.encode(b)) == pytest.approx(2 * 6 / 24)


def test_one_empty_is_zero_and_both_empty_is_nan() -> None:
    empty = np.zeros((4, 4), bool)
    full = np.ones((4, 4), bool)
    assert mask_iou(empty, full) == 0.0 and dice(empty, full) == 0.0
    assert math.isnan(mask_iou(empty, empty)) and math.isnan(dice(empty, empty))


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ShapeMismatchError) as info:
        mask_iou(np.zeros((4, 5), bool), np.zeros((5, 4), bool))
    assert "(4, 5)" in str(info.value) and "(5, 4)" in str(info.value)


pairs = st.integers(1, 10).flatmap(
    lambda h: st.integers(1, 10).flatmap(lambda w: st.tuples(arrays(np.bool_, (h, w)), arrays(np.bool_, (h, w))))
)


@settings(max_examples=150, deadline=None)
@given(pairs)
def test_iou_symmetric_bounded_and_consistent_with_dice(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    iou = mask_iou(a, b)
    if not a.any() and not b.any():
        assert math.isnan(iou)
        return
    assert iou == mask_iou(b, a)
    assert 0.0 <= iou <= 1.0
    assert dice(a, b) == pytest.approx(2 * iou / (1 + iou))
    if a.any():
        assert mask_iou(a, a) == 1.0
