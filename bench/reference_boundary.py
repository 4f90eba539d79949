"""Boundary IoU the slow, literal way: the whole image, as boundary-iou-api ``mask_to_boundary`` does it.

This is the yardstick for ``qc.metrics.boundary_iou`` (which works on a crop around the pair):
pad the full mask with 1 px of zeros, erode it with a 3x3 square ``d`` times, take
``mask & ~eroded`` and the IoU of the two bands. Used by the benchmarks and the tests.

Run ``python -m bench.reference_boundary`` for a quick check against ``qc.metrics.boundary_iou``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc import masks
from qc.masks import MaskLike

_SQUARE = np.ones((3, 3), dtype=bool)


def mask_to_boundary(mask: npt.NDArray[np.bool_], dilation_ratio: float = 0.02) -> npt.NDArray[np.bool_]:
    """The band of a full-image mask: ``mask`` minus its 3x3 erosion applied ``d`` times, border = background."""
    height, width = mask.shape
    d = max(1, round(dilation_ratio * math.sqrt(height**2 + width**2)))  # Python round: half to even
    padded = np.pad(mask.astype(bool), 1, mode="constant", constant_values=False)
    eroded = ndimage.binary_erosion(padded, structure=_SQUARE, iterations=d, border_value=0)
    return mask & ~eroded[1 : height + 1, 1 : width + 1]


def boundary_iou_full_image(mask_a: MaskLike, mask_b: MaskLike, *, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU on the full images; ``NaN`` when both bands are empty (the reference's RLE IoU gives 0.0)."""
    full_a = masks.decode(masks.as_rle(mask_a)) if isinstance(mask_a, dict) else np.asarray(mask_a, dtype=bool)
    full_b = masks.decode(masks.as_rle(mask_b)) if isinstance(mask_b, dict) else np.asarray(mask_b, dtype=bool)
    band_a = mask_to_boundary(full_a, dilation_ratio)
    band_b = mask_to_boundary(full_b, dilation_ratio)
    union = int(np.count_nonzero(band_a | band_b))
    if union == 0:
        return math.nan
    return int(np.count_nonzero(band_a & band_b)) / union


def _check() -> None:
    from qc.metrics import boundary_iou

    rng = np.random.default_rng(0)
    height, width = 768, 1024
    yy, xx = np.mgrid[:height, :width]
    worst = 0.0
    for _ in range(20):
        cy, cx, r = rng.integers(100, 600), rng.integers(100, 900), rng.integers(5, 90)
        a = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        b = (yy - cy - rng.integers(-3, 4)) ** 2 + (xx - cx - rng.integers(-3, 4)) ** 2 <= (r + 1) ** 2
        rle_a, rle_b = masks.encode(a), masks.encode(b)
        t0 = time.perf_counter()
        slow = boundary_iou_full_image(rle_a, rle_b)
        t1 = time.perf_counter()
        fast = boundary_iou(rle_a, rle_b)
        t2 = time.perf_counter()
        worst = max(worst, abs(slow - fast))
        print(
            f"r={r:3d}  full {slow:.12f} in {(t1 - t0) * 1e3:7.2f} ms   crop {fast:.12f} in {(t2 - t1) * 1e3:6.2f} ms"
        )
    print(f"largest difference: {worst:.3g}")
    if worst > 1e-12:
        raise SystemExit("crop-based boundary_iou disagrees with the full-image reference")


if __name__ == "__main__":
    _check()
