"""reports.stats: the bootstrap interval and ratios, empty cases first (doctests run through doctest-modules)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.stats import NO_ESTIMATE, bootstrap_ratio, ratio


def test_bootstrap_ratio_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    num, den = rng.random(500), np.ones(500)
    first = bootstrap_ratio(num, den, resamples=500, seed=1)
    assert first == bootstrap_ratio(num, den, resamples=500, seed=1)
    assert first[0] == pytest.approx(num.mean())
    assert first[1] < first[0] < first[2] and first[2] - first[1] < 0.1
    assert all(math.isnan(v) for v in bootstrap_ratio([1.0], [0.0]))


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        ([], [], NO_ESTIMATE),  # no image: nothing to estimate
        ([5.0, 1.0], [0.0, 0.0], NO_ESTIMATE),  # every image without a denominator is dropped
        ([3.0], [4.0], (0.75, 0.75, 0.75)),  # one image: a zero-width interval
        ([2.0, 2.0, 2.0], [4.0, 4.0, 4.0], (0.5, 0.5, 0.5)),  # identical images: every draw agrees
    ],
)
def test_bootstrap_ratio_edge_cases(numerator: list[float], denominator: list[float], expected: tuple) -> None:
    got = bootstrap_ratio(numerator, denominator, resamples=50)
    assert np.allclose(got, expected, equal_nan=True)


def test_bootstrap_ratio_is_a_ratio_of_sums_not_a_mean_of_ratios() -> None:
    estimate, low, high = bootstrap_ratio([1.0, 9.0], [1.0, 9.0 / 0.5], resamples=200)
    assert estimate == pytest.approx(10.0 / 19.0)
    assert 0.5 <= low <= estimate <= high <= 1.0


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 0, math.nan), (3, 0, math.nan), (0, 5, 0.0), (3, 2, 1.5), (np.int64(7), 2, 3.5)],
)
def test_ratio(numerator: float, denominator: float, expected: float) -> None:
    assert np.allclose(ratio(numerator, denominator), expected, equal_nan=True)
    assert isinstance(ratio(numerator, denominator), float)
