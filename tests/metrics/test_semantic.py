"""qc.metrics semantic agreement: per-class IoU, Cohen's, Fleiss' kappa, Krippendorff's alpha."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qc.errors import InvalidMaskError, ShapeMismatchError
from qc.metrics import cohen_kappa, fleiss_kappa, krippendorff_alpha, per_class_iou
from tests.support.data import golden_cases

# a = [[0, 0], [1, 1]], b = [[0, 1], [1, 1]]: table [[1, 1], [0, 2]], 3 of 4 pixels agree
A = np.array([[0, 0], [1, 1]])
B = np.array([[0, 1], [1, 1]])


def _nan_equal(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == y


# --- edge cases first ----------------------------------------------------------------------------------


def test_empty_maps_are_undefined() -> None:
    empty = np.zeros((0, 0), dtype=np.int64)
    assert np.isnan(per_class_iou(empty, empty, 2)).all()
    assert math.isnan(cohen_kappa(empty, empty))
    assert math.isnan(fleiss_kappa([empty, empty]))
    assert math.isnan(krippendorff_alpha([empty, empty]))


def test_fewer_than_two_raters_is_undefined() -> None:
    assert math.isnan(fleiss_kappa([A]))
    assert math.isnan(krippendorff_alpha([A]))
    assert math.isnan(fleiss_kappa([]))


def test_identical_single_label_maps_are_nan_without_warning() -> None:
    ones = np.ones((3, 3), dtype=np.int64)
    assert math.isnan(cohen_kappa(ones, ones))  # warnings are errors in this suite
    assert math.isnan(fleiss_kappa([ones, ones, ones]))
    assert math.isnan(krippendorff_alpha([ones, ones]))
    assert per_class_iou(ones, ones, 3).tolist()[1] == 1.0


def test_two_constant_maps_of_different_labels() -> None:
    zeros, ones = np.zeros((2, 2), int), np.ones((2, 2), int)
    assert cohen_kappa(zeros, ones) == 0.0
    assert per_class_iou(zeros, ones, 2).tolist() == [0.0, 0.0]
    assert fleiss_kappa([zeros, ones]) == -1.0


# --- hand-computed ---------------------------------------------------------------------------------------


def test_per_class_iou_by_hand() -> None:
    # class 0: 1 / (2 + 1 - 1); class 1: 2 / (2 + 3 - 2); class 2 absent from both: NaN
    got = per_class_iou(A, B, 3)
    assert got[0] == 0.5 and got[1] == pytest.approx(2 / 3, abs=1e-15) and math.isnan(got[2])


def test_cohen_kappa_by_hand() -> None:
    # po = 3/4; pe = (1*2 + 3*2) / 16 = 1/2; kappa = (3/4 - 1/2) / (1/2)
    assert cohen_kappa(A, B) == 0.5


def test_fleiss_kappa_by_hand() -> None:
    # P = (Σ n² - N k) / (N k (k-1)) = (14 - 8) / 8 = 3/4; Pe = (3/8)² + (5/8)² = 34/64
    assert fleiss_kappa([A, B]) == pytest.approx((0.75 - 34 / 64) / (1 - 34 / 64), abs=1e-15)


def test_krippendorff_alpha_by_hand() -> None:
    # Do ∝ (N k² - Σ n²) / (k - 1) = 2; De ∝ (n² - Σ n_c²) / (n - 1) = 30 / 7
    assert krippendorff_alpha([A, B]) == pytest.approx(1 - 2 * 7 / 30, abs=1e-15)


def test_total_disagreement_8x8() -> None:
    a = (np.indices((8, 8)).sum(axis=0) % 2).astype(np.int64)
    assert fleiss_kappa([a, 1 - a]) == -1.0
    assert krippendorff_alpha(np.stack([a, 1 - a])) == -0.984375


def test_stacked_array_equals_sequence() -> None:
    rng = np.random.default_rng(3)
    maps = rng.integers(0, 4, size=(3, 6, 5))
    assert fleiss_kappa(maps) == fleiss_kappa(list(maps))
    assert krippendorff_alpha(maps) == krippendorff_alpha(list(maps))


def test_sparse_large_label_ids_are_renumbered() -> None:
    rng = np.random.default_rng(5)
    small = rng.integers(0, 3, size=(3, 10, 10))
    large = np.array([0, 1000, 70000])[small]
    assert cohen_kappa(large[0], large[1]) == cohen_kappa(small[0], small[1])
    assert fleiss_kappa(large) == fleiss_kappa(small)
    assert krippendorff_alpha(large) == krippendorff_alpha(small)


# --- errors ----------------------------------------------------------------------------------------------


def test_shape_mismatch_raises() -> None:
    other = np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ShapeMismatchError, match=r"\(2, 2\) and \(2, 3\)"):
        per_class_iou(A, other, 2)
    with pytest.raises(ShapeMismatchError):
        cohen_kappa(A, other)
    with pytest.raises(ShapeMismatchError):
        fleiss_kappa([A, B, other])
    with pytest.raises(ShapeMismatchError):
        krippendorff_alpha([A, other])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([[0.0, 1.0], [1.0, 1.0]]), "integer class ids"),  # float map
        (np.array([[0, -1], [1, 1]]), "negative"),
        (np.array([[0, 5], [1, 1]]), "num_classes is 2"),  # out of range
        (np.array([0, 1, 1, 1]), "2-D"),
    ],
)
def test_bad_label_maps_raise(bad: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidMaskError, match=message):
        per_class_iou(A, bad, 2)


def test_two_dimensional_stack_is_refused() -> None:
    with pytest.raises(InvalidMaskError, match=r"\(k, height, width\)"):
        fleiss_kappa(np.zeros((2, 4), dtype=np.int64))


# --- properties ------------------------------------------------------------------------------------------

label_maps = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda shape: st.tuples(
        arrays(np.int64, shape, elements=st.integers(0, 3)),
        arrays(np.int64, shape, elements=st.integers(0, 3)),
    )
)


@settings(max_examples=150, deadline=None)
@given(label_maps)
def test_per_class_iou_symmetric_and_bounded(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    forward, backward = per_class_iou(a, b, 4), per_class_iou(b, a, 4)
    assert all(_nan_equal(x, y) for x, y in zip(forward.tolist(), backward.tolist(), strict=True))
    finite = forward[~np.isnan(forward)]
    assert ((finite >= 0.0) & (finite <= 1.0)).all()
    absent = ~(np.isin(np.arange(4), a) | np.isin(np.arange(4), b))
    assert np.array_equal(np.isnan(forward), absent)


@settings(max_examples=150, deadline=None)
@given(label_maps)
def test_cohen_kappa_symmetric(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    assert _nan_equal(cohen_kappa(a, b), cohen_kappa(b, a))
    assert cohen_kappa(a, a) == 1.0 or len(np.unique(a)) == 1


# --- golden: statsmodels, krippendorff, sklearn ----------------------------------------------------------


def _maps(case: dict[str, Any]) -> list[np.ndarray]:
    return [np.asarray(m, dtype=np.int64).reshape(case["height"], case["width"]) for m in case["maps"]]


def _close(got: float, want: float | None) -> bool:
    return math.isnan(got) if want is None else got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("case", golden_cases("label_maps.json"))
def test_golden_label_maps(case: dict[str, Any]) -> None:
    maps = _maps(case)
    expected = case["expected"]
    assert len(maps) == case["k"]
    assert _close(fleiss_kappa(maps), expected["fleiss_kappa"])
    assert _close(krippendorff_alpha(np.stack(maps)), expected["krippendorff_alpha_nominal"])
    for pair, want in expected["cohen_kappa_pairs"].items():
        i, j = (int(x) for x in pair.split("-"))
        assert _close(cohen_kappa(maps[i], maps[j]), want), pair
    for pair, per_class in expected["per_class_iou_pairs"].items():
        i, j = (int(x) for x in pair.split("-"))
        got = per_class_iou(maps[i], maps[j], case["num_classes"])
        assert len(got) == case["num_classes"] == len(per_class)
        for cls, want in per_class.items():
            assert _close(float(got[int(cls)]), want), (pair, cls)
