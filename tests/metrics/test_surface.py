"""HD95 and surface distances against DeepMind surface-distance (golden values) and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qc import masks
from qc.errors import QCError, ShapeMismatchError
from qc.metrics import hd95
from qc.metrics._surface import average_surface_distance, surface_distances
from tests.support.data import golden_cases

DIAG = math.sqrt(0.5)  # contour length of a cut pixel corner at unit spacing


@pytest.mark.parametrize("case", golden_cases("mask_pairs.json"))
def test_golden_hd95(case: dict) -> None:
    got = hd95(case["a"], case["b"])
    expected = case["expected"]["hd95"]
    if expected is None:  # the reference gave inf; ours: one empty -> inf, both empty -> NaN
        empty_a, empty_b = masks.area(case["a"]) == 0, masks.area(case["b"]) == 0
        assert empty_a or empty_b
        if empty_a and empty_b:
            assert math.isnan(got)
        else:
            assert got == math.inf
    else:
        assert got == pytest.approx(expected, abs=1e-6)


def _checkerboard(h: int, w: int) -> np.ndarray:
    return (np.add.outer(np.arange(h), np.arange(w)) % 2).astype(bool)


def _pixel(h: int, w: int, row: int, col: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[row, col] = True
    return m


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # checkerboard vs its complement: the contours (pixel corners, image edge included) coincide
        (_checkerboard(16, 16), ~_checkerboard(16, 16), 0.0),
        # ... except at the image corners whose pixel is in one mask only; on a 5x7 board those cut corners
        # hold more than 5% of the contour, so HD95 is 1 there (the reference gives 1.0 too)
        (_checkerboard(5, 7), ~_checkerboard(5, 7), 1.0),
        # two single pixels that are 4-neighbours, horizontally and vertically
        (_pixel(16, 16, 4, 4), _pixel(16, 16, 4, 5), 1.0),
        (_pixel(16, 16, 4, 4), _pixel(16, 16, 5, 4), 1.0),
        # diagonal neighbours
        (_pixel(16, 16, 4, 4), _pixel(16, 16, 5, 5), math.sqrt(2)),
        # corner pixel of the image vs its neighbour: the image edge is a contour, nothing is lost at the border
        (_pixel(16, 16, 0, 0), _pixel(16, 16, 0, 1), 1.0),
        # whole image vs the image inset by 1 px: the image-edge frame is the whole image's contour
        (np.ones((30, 40), bool), np.pad(np.ones((28, 38), bool), 1), 1.0),
        # ... on a tiny image the inset's 4 cut corners (sqrt(2) away from the frame's corners) exceed 5%
        (np.ones((6, 9), bool), np.pad(np.ones((4, 7), bool), 1), math.sqrt(2)),
    ],
    ids=[
        "checker16",
        "checker5x7",
        "pixels_h",
        "pixels_v",
        "pixels_diag",
        "corner_pixel",
        "full_vs_inset",
        "full_vs_inset_tiny",
    ],
)
def test_named_edge_cases(a: np.ndarray, b: np.ndarray, expected: float) -> None:
    assert hd95(a, b) == pytest.approx(expected, abs=1e-12)


def test_nested_squares_by_hand() -> None:
    a = np.zeros((9, 9), bool)
    a[3:6, 3:6] = True  # 3x3: its contour corners are each 1 from the 5x5's
    b = np.zeros((9, 9), bool)
    b[2:7, 2:7] = True  # 5x5: 16 edge corners at 1, 4 cut corners (length sqrt(.5)) at sqrt(2)
    sd = surface_distances(a, b)
    assert sd.distances_ab.tolist() == [1.0] * 12
    assert sd.lengths_a.sum() == pytest.approx(8 + 4 * DIAG)
    assert sd.distances_ba.tolist() == [1.0] * 16 + [math.sqrt(2)] * 4
    # the 4 far corners hold 2.83 / 18.83 = 15% of B's contour length, so the 95th percentile is sqrt(2)
    assert hd95(a, b) == pytest.approx(math.sqrt(2))
    ab, ba = average_surface_distance(a, b)
    assert ab == pytest.approx(1.0)
    assert ba == pytest.approx((16 + 4 * DIAG * math.sqrt(2)) / (16 + 4 * DIAG))


def test_single_pixel_contour_is_a_diamond() -> None:
    sd = surface_distances(_pixel(5, 5, 2, 2), _pixel(5, 5, 2, 2))
    assert sd.lengths_a.tolist() == pytest.approx([DIAG] * 4)
    assert sd.to_dict()["distances_ba"] == [0.0] * 4


def test_empty_conventions() -> None:
    empty = np.zeros((8, 8), bool)
    blob = np.zeros((8, 8), bool)
    blob[2:5, 3:6] = True
    assert hd95(empty, blob) == math.inf and hd95(blob, empty) == math.inf
    assert math.isnan(hd95(empty, empty))
    sd = surface_distances(blob, empty)
    assert sd.distances_ba.size == 0 and np.isinf(sd.distances_ab).all()
    ab, ba = average_surface_distance(blob, empty)
    assert ab == math.inf and math.isnan(ba)
    assert all(math.isnan(v) for v in average_surface_distance(empty, empty))


def test_arrays_and_rles_give_the_same_value() -> None:
    a = np.zeros((20, 30), bool)
    a[3:9, 4:17] = True
    b = np.zeros((20, 30), bool)
    b[5:14, 2:11] = True
    assert hd95(a, b) == hd95(masks.encode(a), masks.encode(b)) == hd95(a, masks.encode(b))


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ShapeMismatchError) as info:
        hd95(np.zeros((4, 5), bool), np.zeros((5, 4), bool))
    assert "(4, 5)" in str(info.value) and "(5, 4)" in str(info.value)


@pytest.mark.parametrize("spacing", [(1.0,), (1.0, 0.0), (1.0, -2.0), (math.nan, 1.0), (1.0, 1.0, 1.0)])
def test_bad_spacing_is_a_typed_error(spacing: tuple[float, ...]) -> None:
    with pytest.raises(QCError) as info:
        hd95(np.ones((3, 3), bool), np.ones((3, 3), bool), spacing=spacing)
    assert info.value.field == "spacing" and "(row, col)" in str(info.value)


pairs = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(lambda w: st.tuples(arrays(np.bool_, (h, w)), arrays(np.bool_, (h, w))))
)


@settings(max_examples=150, deadline=None)
@given(pairs)
def test_hd95_symmetric_and_non_negative(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    assume(a.any() and b.any())
    forward, backward = hd95(a, b), hd95(b, a)
    assert forward == backward
    assert 0.0 <= forward <= math.hypot(*a.shape)


@settings(max_examples=100, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_hd95_of_a_mask_with_itself_is_zero(m: np.ndarray) -> None:
    assume(m.any())
    assert hd95(m, m) == 0.0


@settings(max_examples=100, deadline=None)
@given(pairs, st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.integers(0, 6))
def test_embedding_in_a_larger_image_changes_nothing(
    pair: tuple[np.ndarray, np.ndarray], top: int, bottom: int, left: int, right: int
) -> None:
    # the computation runs on a crop around the pair; the image edge behaves as background beyond it
    a, b = pair
    assume(a.any() or b.any())
    pad = ((top, bottom), (left, right))
    big = hd95(np.pad(a, pad), np.pad(b, pad))
    small = hd95(a, b)
    assert big == small or (math.isnan(big) and math.isnan(small))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(1, 12),
    st.integers(1, 8),
    st.floats(0.25, 4.0),
    st.floats(0.25, 4.0),
)
def test_anisotropic_spacing_scales_a_vertical_shift(height: int, width: int, shift: int, sy: float, sx: float) -> None:
    # the top edge (over a quarter of the contour when width*sx >= height*sy) lies shift*sy from the other's
    assume(width * sx >= height * sy)
    a = np.zeros((height + shift + 4, width + 4), bool)
    a[2 : 2 + height, 2 : 2 + width] = True
    b = np.roll(a, shift, axis=0)
    assert hd95(a, b) == pytest.approx(shift, rel=1e-12)
    assert hd95(a, b, spacing=(sy, sx)) == pytest.approx(shift * sy, rel=1e-12)
