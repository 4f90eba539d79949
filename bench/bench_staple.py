"""Time qc.consensus.staple against SimpleITK's STAPLEImageFilter on k jittered raters of 512x512.

Both get the same masks: ours as COCO RLE (how masks travel in qc), SimpleITK as uint8
images built beforehand, so only ``staple(...)`` and ``Execute(...)`` are timed. The
RLE parse cache of qc.masks is cleared before every run of ours, so each run decodes
cold. Probabilities must agree to 1e-6 (full map, NaN where both are NaN).

Run: ``.venv/bin/python -m bench.bench_staple``
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from qc import _rle, masks
from qc.consensus import staple

SIZE = 512
RATERS = (3, 4, 5, 6)
REPEATS = 7
SEED = 20240611
TARGET_RATIO = 1.5


def blob_raters(k: int, *, size: int = SIZE, seed: int = SEED) -> list[npt.NDArray[np.bool_]]:
    """k annotators of one smooth blob: shared shape, each with its own shift and boundary wobble."""
    rng = np.random.default_rng(seed + k)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cy, cx = rng.uniform(0.4, 0.6, size=2) * size
    radius = size * rng.uniform(0.18, 0.26)
    harmonics = [(j, rng.uniform(0.02, 0.08) * radius, rng.uniform(0, 2 * np.pi)) for j in range(2, 6)]
    raters = []
    for _ in range(k):
        dy, dx = rng.normal(0.0, 2.0, size=2)
        theta = np.arctan2(yy - cy - dy, xx - cx - dx)
        dist = np.hypot(yy - cy - dy, xx - cx - dx)
        edge = radius + sum(a * np.cos(j * theta + ph) for j, a, ph in harmonics)
        edge = edge + sum(rng.normal(0, 1.2) * np.cos(j * theta + rng.uniform(0, 2 * np.pi)) for j in range(3, 12))
        raters.append(dist <= edge)
    return raters


def _median_seconds(call: Callable[[], Any], repeats: int, before: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _clear_rle_cache() -> None:
    """Drop the parsed-counts cache behind qc.masks (qc._rle, a private lru_cache) so every timed run decodes cold."""
    _rle.parse_counts.cache_clear()


def _sitk_staple(images: list[Any]) -> Any:
    import SimpleITK as sitk

    staple_filter = sitk.STAPLEImageFilter()
    staple_filter.SetForegroundValue(1.0)
    output = staple_filter.Execute(images)
    return staple_filter, output


def bench_one(k: int, *, repeats: int = REPEATS) -> dict[str, Any]:
    """One row: times (median of ``repeats``), ratio ours / SimpleITK, and the agreement check."""
    import SimpleITK as sitk

    arrays = blob_raters(k)
    rles = [masks.encode(a) for a in arrays]
    images = [sitk.GetImageFromArray(a.astype(np.uint8)) for a in arrays]

    ours = staple(rles)
    reference_filter, reference_image = _sitk_staple(images)
    reference = sitk.GetArrayFromImage(reference_image)
    mine = ours.probability_map()
    both_nan = np.isnan(mine) & np.isnan(reference)
    max_diff = float(np.max(np.abs(np.where(both_nan, 0.0, mine - reference))))
    assert max_diff <= 1e-6, f"k={k}: probabilities differ by {max_diff}"
    assert ours.iterations == reference_filter.GetElapsedIterations(), f"k={k}: iteration counts differ"

    ours_s = _median_seconds(lambda: staple(rles), repeats, before=_clear_rle_cache)
    sitk_s = _median_seconds(lambda: _sitk_staple(images), repeats)
    region = ours.region or (0, 0, 0, 0)
    return {
        "k": k,
        "size": f"{SIZE}x{SIZE}",
        "crop": f"{region[3] - region[1]}x{region[2] - region[0]}",
        "iterations": ours.iterations,
        "ours_ms": ours_s * 1e3,
        "sitk_ms": sitk_s * 1e3,
        "ratio": ours_s / sitk_s,
        "max_abs_diff": max_diff,
    }


def run(*, repeats: int = REPEATS) -> list[dict[str, Any]]:
    """Bench every k in RATERS, print a table and return its rows."""
    rows = [bench_one(k, repeats=repeats) for k in RATERS]
    print(f"STAPLE, {SIZE}x{SIZE}, median of {repeats} runs (ratio = ours / SimpleITK, target <= {TARGET_RATIO})")
    print(f"{'k':>2} {'crop':>9} {'iter':>4} {'ours ms':>9} {'sitk ms':>9} {'ratio':>7} {'max |diff|':>11}")
    for row in rows:
        print(
            f"{row['k']:>2} {row['crop']:>9} {row['iterations']:>4} {row['ours_ms']:>9.2f} {row['sitk_ms']:>9.2f} "
            f"{row['ratio']:>7.3f} {row['max_abs_diff']:>11.2e}"
        )
    return rows


if __name__ == "__main__":
    run()
