"""qc.consensus: majority vote and STAPLE against the golden file and SimpleITK."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qc import masks
from qc.consensus import StapleResult, majority_crop, majority_vote, reliability_decides, staple, vote_counts
from qc.errors import InvalidMaskError, InvalidOptionError, QCError, ShapeMismatchError
from tests.support.data import golden_cases

BoolArray = npt.NDArray[np.bool_]


def _floats(values: list[float | None]) -> npt.NDArray[np.float64]:
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _assert_close_nan(actual: Any, expected: Any, tol: float) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol, equal_nan=True)


# --- golden (SimpleITK 2.5.7 STAPLEImageFilter, LabelVoting) -------------------------------------------


@pytest.mark.parametrize("case", golden_cases("staple.json"))
def test_staple_matches_golden(case: dict[str, Any]) -> None:
    expected = case["expected"]
    result = staple(case["raters"])
    probability = _floats(expected["probability"]).reshape(case["height"], case["width"])
    _assert_close_nan(result.probability_map(), probability, 1e-9)
    _assert_close_nan(result.sensitivity, _floats(expected["sensitivity"]), 1e-9)
    _assert_close_nan(result.specificity, _floats(expected["specificity"]), 1e-9)
    assert result.iterations == expected["elapsed_iterations"]
    assert result.consensus == expected["consensus_0.5"]


@pytest.mark.parametrize("case", golden_cases("staple.json"))
def test_majority_vote_matches_golden(case: dict[str, Any]) -> None:
    assert majority_vote(case["raters"]) == case["expected"]["majority_vote"]
    assert majority_vote(case["raters"], strict=True) == case["expected"]["strict_majority"]


# --- differential against SimpleITK ---------------------------------------------------------------------


def _blob_raters(k: int, height: int, width: int, seed: int) -> list[BoolArray]:
    """k jittered copies of one ellipse, plus a few noise pixels each."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    ry, rx = rng.uniform(0.1, 0.3) * height, rng.uniform(0.1, 0.3) * width
    raters = []
    for _ in range(k):
        dy, dx = rng.normal(0, 1.5, size=2)
        scale = rng.uniform(0.85, 1.15)
        blob = ((yy - cy - dy) / (ry * scale)) ** 2 + ((xx - cx - dx) / (rx * scale)) ** 2 <= 1.0
        blob[rng.integers(0, height, 3), rng.integers(0, width, 3)] ^= True
        raters.append(blob)
    return raters


def _sitk_staple(raters: list[BoolArray], confidence_weight: float = 1.0) -> tuple[Any, Any]:
    sitk = pytest.importorskip("SimpleITK", reason="SimpleITK is the STAPLE reference (dev dependency)")
    staple_filter = sitk.STAPLEImageFilter()
    staple_filter.SetForegroundValue(1.0)
    staple_filter.SetConfidenceWeight(confidence_weight)
    image = staple_filter.Execute([sitk.GetImageFromArray(r.astype(np.uint8)) for r in raters])
    return staple_filter, sitk.GetArrayFromImage(image)


@pytest.mark.parametrize(
    ("k", "height", "width", "seed"),
    [
        (3, 64, 64, 1),
        (4, 50, 90, 2),  # non-square, wide
        (5, 120, 40, 3),  # non-square, tall
        (2, 33, 47, 4),  # even k, odd sizes
        (7, 40, 40, 5),
    ],
)
def test_staple_matches_simpleitk(k: int, height: int, width: int, seed: int) -> None:
    raters = _blob_raters(k, height, width, seed)
    reference_filter, reference = _sitk_staple(raters)
    result = staple([masks.encode(r) for r in raters])
    _assert_close_nan(result.probability_map(), reference, 1e-6)
    _assert_close_nan(result.sensitivity, reference_filter.GetSensitivity(), 1e-6)
    _assert_close_nan(result.specificity, reference_filter.GetSpecificity(), 1e-6)
    assert result.iterations == reference_filter.GetElapsedIterations()
    assert np.array_equal(masks.decode(result.consensus), reference >= 0.5)


def test_staple_background_above_half_fills_outside_the_crop() -> None:
    # a prior pushed up by confidence_weight makes the all-background vector W >= 0.5: every pixel outside the
    # union box is then in the consensus, which needs the complement path
    rng = np.random.default_rng(1)
    raters = []
    for _ in range(3):
        mask = np.zeros((12, 14), dtype=bool)
        mask[1:11, 2:12] = rng.random((10, 10)) < 0.3
        raters.append(mask)
    reference_filter, reference = _sitk_staple(raters, confidence_weight=4.5)
    result = staple(raters, confidence_weight=4.5)
    assert result.background_probability >= 0.5
    _assert_close_nan(result.probability_map(), reference, 1e-9)
    assert result.iterations == reference_filter.GetElapsedIterations()
    assert np.array_equal(masks.decode(result.consensus), reference >= 0.5)
    assert masks.decode(result.consensus)[0, 0]


def _three_squares(size: int) -> list[BoolArray]:
    """Three 3x3 squares, two shifted by one pixel, in the corner of a ``size`` x ``size`` image."""
    raters = [np.zeros((size, size), dtype=bool) for _ in range(3)]
    raters[0][1:4, 1:4] = True
    raters[1][1:4, 2:5] = True
    raters[2][2:5, 1:4] = True
    return raters


def test_staple_prior_is_over_the_whole_image() -> None:
    # the same objects padded into a bigger image lower the prior and so change W, as in ITK; [0, 0] is the
    # pixel only rater 0 marks
    in_small, in_big = staple(_three_squares(6)), staple(_three_squares(12))
    assert in_small.prior == pytest.approx(27 / 108)
    assert in_big.prior == pytest.approx(27 / 432)
    assert in_small.region == in_big.region == (1, 1, 5, 5)
    assert in_small.probability_crop[0, 0] == pytest.approx(0.99833245, abs=1e-8)
    assert in_big.probability_crop[0, 0] == pytest.approx(0.99841497, abs=1e-8)
    for size, result in ((6, in_small), (12, in_big)):
        reference_filter, reference = _sitk_staple(_three_squares(size))
        _assert_close_nan(result.probability_map(), reference, 1e-9)
        assert result.iterations == reference_filter.GetElapsedIterations()


def test_staple_max_iterations_caps_the_loop() -> None:
    raters = _blob_raters(4, 40, 40, 7)
    full = staple(raters)
    assert full.iterations > 2
    capped = staple(raters, max_iterations=2)
    assert capped.iterations == 2
    assert capped.sensitivity != full.sensitivity


# --- edge cases ------------------------------------------------------------------------------------------


def test_single_rater() -> None:
    mask = np.zeros((9, 7), dtype=bool)
    mask[2:5, 1:4] = True
    mask[7, 6] = True
    rle = masks.encode(mask)
    assert majority_vote([mask]) == rle
    assert majority_vote([mask], strict=True) == rle
    result = staple([mask])
    assert result.consensus == rle
    assert result.sensitivity == (1.0,) and result.specificity == (1.0,)
    assert result.iterations == 1
    np.testing.assert_array_equal(result.probability_map(), mask.astype(np.float64))


def test_one_pixel_object() -> None:
    mask = np.zeros((16, 16), dtype=bool)
    mask[5, 9] = True
    region, counts = vote_counts([mask, mask, np.zeros_like(mask)])
    assert region == (9, 5, 10, 6)
    assert counts.tolist() == [[2]]
    assert masks.area(majority_vote([mask, mask, np.zeros_like(mask)])) == 1
    result = staple([mask, mask, mask])
    assert result.region == (9, 5, 10, 6)
    assert result.probability_crop.tolist() == [[1.0]]
    assert result.background_probability == 0.0
    assert masks.decode(result.consensus)[5, 9] and masks.area(result.consensus) == 1


def test_all_empty_raters() -> None:
    blank = np.zeros((5, 6), dtype=bool)
    assert majority_vote([blank, blank]) == masks.empty(5, 6)
    region, counts = vote_counts([blank, blank])
    assert region is None and counts.shape == (0, 0)
    result = staple([blank, blank, blank])
    assert result.region is None
    assert math.isnan(result.background_probability)
    assert all(math.isnan(v) for v in result.sensitivity + result.specificity)
    assert np.isnan(result.probability_map()).all()
    assert result.consensus == masks.empty(5, 6)
    assert result.iterations == 1


def test_all_full_raters() -> None:
    full = np.ones((4, 3), dtype=bool)
    result = staple([full, full])
    assert result.region == (0, 0, 3, 4)
    assert np.isnan(result.probability_map()).all()
    assert all(math.isnan(v) for v in result.sensitivity + result.specificity)
    assert masks.area(result.consensus) == 0
    assert majority_vote([full, full]) == masks.encode(full)


def test_even_split_is_in_unless_strict() -> None:
    a = np.zeros((3, 4), dtype=bool)
    a[1, 0:2] = True
    b = np.zeros((3, 4), dtype=bool)
    b[1, 1:3] = True
    assert masks.decode(majority_vote([a, b])).tolist()[1] == [True, True, True, False]
    assert masks.decode(majority_vote([a, b], strict=True)).tolist()[1] == [False, True, False, False]


def test_many_raters_use_the_unique_path() -> None:
    # more than 16 raters: patterns are found with np.unique instead of a 2**k bincount
    raters = _blob_raters(18, 30, 36, 11)
    reference_filter, reference = _sitk_staple(raters)
    result = staple(raters)
    _assert_close_nan(result.probability_map(), reference, 1e-6)
    assert result.iterations == reference_filter.GetElapsedIterations()
    counts = np.sum(raters, axis=0)
    assert np.array_equal(masks.decode(majority_vote(raters)), counts >= 9)


def test_to_dict_and_frozen() -> None:
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:3, 1:4] = True
    result = staple([mask, mask])
    data = result.to_dict()
    assert data["iterations"] == 1 and data["region"] == [1, 1, 4, 3] and data["consensus"] == masks.encode(mask)
    assert data["sensitivity"] == [1.0, 1.0] and "probability_crop" not in data
    assert result.to_dict(include_probability=True)["probability_crop"] == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert isinstance(result, StapleResult)
    with pytest.raises(AttributeError):
        result.iterations = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.probability_crop[0, 0] = 0.5


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [majority_vote, staple, vote_counts])
def test_empty_list_is_a_clear_error(function: Any) -> None:
    with pytest.raises(InvalidMaskError, match="at least one rater"):
        function([])


@pytest.mark.parametrize("function", [majority_vote, staple, vote_counts])
def test_size_mismatch(function: Any) -> None:
    with pytest.raises(ShapeMismatchError, match=r"\(4, 5\) and \(5, 4\)"):
        function([np.zeros((4, 5), dtype=bool), masks.empty(5, 4)])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_max_iterations(bad: Any) -> None:
    with pytest.raises(QCError, match="max_iterations") as info:
        staple([np.ones((2, 2), dtype=bool)], max_iterations=bad)
    assert info.value.field == "max_iterations"


# --- properties ------------------------------------------------------------------------------------------

_masks = arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12)))


@settings(max_examples=60, deadline=None)
@given(mask=_masks, k=st.integers(1, 6))
def test_majority_of_copies_is_the_mask(mask: BoolArray, k: int) -> None:
    rle = masks.encode(mask)
    assert majority_vote([rle] * k) == rle
    assert majority_vote([mask] * k, strict=True) == rle


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=st.tuples(st.integers(1, 10), st.integers(1, 10)), k=st.integers(1, 6))
def test_strict_majority_is_a_subset(data: st.DataObject, shape: tuple[int, int], k: int) -> None:
    raters = [data.draw(arrays(np.bool_, shape)) for _ in range(k)]
    loose, strict = masks.decode(majority_vote(raters)), masks.decode(majority_vote(raters, strict=True))
    counts = np.sum(raters, axis=0)
    assert not (strict & ~loose).any()
    assert np.array_equal(loose, counts >= math.ceil(k / 2))
    assert np.array_equal(strict, 2 * counts > k)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=st.tuples(st.integers(1, 10), st.integers(1, 10)), k=st.integers(1, 6))
def test_majority_of_crops_is_the_majority_vote(data: st.DataObject, shape: tuple[int, int], k: int) -> None:
    """One rule: the crops of the agreement module and the full masks of majority_vote vote alike."""
    raters = [data.draw(arrays(np.bool_, shape)) for _ in range(k)]
    for strict in (False, True):
        assert masks.encode(majority_crop(raters, strict=strict)) == majority_vote(raters, strict=strict)


def test_majority_of_no_crop_is_a_clear_error() -> None:
    with pytest.raises(InvalidMaskError, match="at least one crop"):
        majority_crop([])


def test_a_stack_is_k_masks_and_a_single_array_is_refused() -> None:
    stack = np.zeros((3, 4, 4), dtype=bool)
    stack[:2, 1, 2] = True
    assert masks.decode(majority_vote(stack)).nonzero() == (np.array([1]), np.array([2]))
    with pytest.raises(InvalidMaskError, match=r"sequence of k 2-D masks; got one array of shape \(4, 4\)"):
        majority_vote(np.zeros((4, 4), dtype=bool))


def test_reliability_decides_for_the_much_heavier_member_and_those_agreeing_with_them() -> None:
    weights = {"a": 2.0, "b": 1.0, "c": 0.3}
    assert reliability_decides(["a", "b", "c"], {("b", "a")}, weights) == ("a", "b")  # either pair order
    assert reliability_decides(["c", "a"], set(), weights) == ("a",)
    assert reliability_decides(["a", "b", "c"], {("a", "b")}, {**weights, "c": 0.6}) is None  # 2 < 4 x 0.6
    assert reliability_decides(["a", "b"], set(), {"a": 1.0, "b": 1.0}) is None  # a tie decides nothing
    assert reliability_decides(["a", "c"], set(), weights, ratio=8.0) is None
    assert reliability_decides(["a"], set(), weights) is None  # no dispute with one member


def test_reliability_decides_refuses_a_ratio_below_one() -> None:
    with pytest.raises(InvalidOptionError):
        reliability_decides(["a", "b"], set(), {"a": 1.0, "b": 1.0}, ratio=0.5)
