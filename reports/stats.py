"""The report's statistics: pure functions of numbers, each saying what an empty input gives.

Undefined is NaN. Confidence intervals are 95% percentile bootstrap intervals over images
(``resamples`` draws, seeded), computed as ratios of resampled sums.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from qc.errors import InvalidOptionError

__all__ = ["NO_ESTIMATE", "bootstrap_ratio", "ratio"]

NO_ESTIMATE = (math.nan, math.nan, math.nan)
"""An estimate and its interval when there is nothing to estimate from."""


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is zero (nothing to divide by).

    >>> ratio(3, 2)
    1.5
    >>> ratio(0, 0)
    nan
    """
    return float(numerator / denominator) if denominator else math.nan


def bootstrap_ratio(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """``sum(num) / sum(den)`` over images and its 95% percentile bootstrap interval (images resampled).

    Images with ``den == 0`` carry no information and are dropped first. No image left:
    ``(nan, nan, nan)``; one image: the estimate with a zero-width interval; ``resamples=0``:
    the estimate without an interval (``qc report --resamples 0``, when only the figures matter).

    >>> bootstrap_ratio([1.0, 3.0], [1.0, 1.0], resamples=200)[0]
    2.0
    >>> bootstrap_ratio([], [])
    (nan, nan, nan)
    >>> bootstrap_ratio([2.0], [0.0])
    (nan, nan, nan)
    >>> bootstrap_ratio([2.0], [4.0])
    (0.5, 0.5, 0.5)
    >>> bootstrap_ratio([1.0, 3.0], [1.0, 1.0], resamples=0)
    (2.0, nan, nan)
    >>> bootstrap_ratio([1.0], [1.0], resamples=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    qc.errors.InvalidOptionError: field 'resamples': resamples must be a whole number >= 0 ...; got -1
    """
    InvalidOptionError.check_count("resamples", resamples, 0, "a whole number >= 0 (0: no confidence intervals)")
    num, den = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    keep = den > 0
    num, den = num[keep], den[keep]
    if num.size == 0:
        return NO_ESTIMATE
    estimate = float(num.sum() / den.sum())
    if resamples == 0:
        return estimate, math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num.size, size=(resamples, num.size), dtype=np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = num[draws].sum(axis=1) / den[draws].sum(axis=1)
    low, high = np.nanpercentile(stats, [2.5, 97.5])
    return estimate, float(low), float(high)
