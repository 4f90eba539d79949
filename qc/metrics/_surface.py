"""Surface distances and HD95, as DeepMind ``surface-distance`` computes them in 2-D.

Port of ``compute_surface_distances`` / ``compute_robust_hausdorff`` /
``compute_average_surface_distance`` (google-deepmind/surface-distance, ``metrics.py`` and
``lookup_tables.py``), 2-D path only:

1. Both masks are decoded only inside the bounding box of their union (the reference crops
   there too) and padded with one row/column of zeros on every side, so pixels outside the
   box, including those beyond the image edge, are background: the image edge is a contour.
2. Contours sit on pixel *corners*. Each corner ``(i, j)`` of the crop gets the marching-squares
   neighbour code ``8·TL + 4·TR + 2·BL + 1·BR`` of the 2x2 pixels around it (the reference's
   ``ENCODE_NEIGHBOURHOOD_2D_KERNEL = [[8, 4], [2, 1]]`` under ``ndimage.correlate``). A corner
   whose code is neither 0 nor 15 is a contour element; its length comes from the reference's
   16-entry table (straight edge = the spacing along it, corner cut = half the pixel diagonal,
   saddle = a full diagonal).
3. The distance of every contour corner of A to the nearest contour corner of B (and back) is
   ``scipy.ndimage.distance_transform_edt`` of the complement of B's contour map, with
   ``sampling=spacing``, on exactly the reference's corner grid.
4. Distances are sorted with their lengths (lexicographically, as the reference's
   ``sorted(zip(...))``); the directed robust percentile is the first distance whose cumulative
   length fraction reaches ``percent / 100`` (``searchsorted``, left side, index clamped to the
   last element); HD95 is the larger of the two directed values.

``spacing`` is ``(row, col)``: the pixel size along axis 0 (vertical) then axis 1, as the
reference's ``spacing_mm``; distances come out in those units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc.errors import InvalidOptionError
from qc.masks import MaskLike
from qc.metrics._common import BoolArray, MaskPair, as_pair

FloatArray = npt.NDArray[np.float64]

_FULL = 0b1111
_EMPTY = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SurfaceDistances:
    """Contour-to-contour distances of a mask pair, each sorted with its contour-element lengths.

    ``distances_ab[i]`` is how far the i-th contour element of A lies from B's contour and
    ``lengths_a[i]`` its length (both sorted by distance, then length); the same for B -> A.
    A side whose mask is empty has no elements; if the *other* side is empty, every distance is
    ``inf``.
    """

    distances_ab: FloatArray
    lengths_a: FloatArray
    distances_ba: FloatArray
    lengths_b: FloatArray

    def robust_hausdorff(self, percent: float = 95.0) -> float:
        """Max of the two directed length-weighted ``percent`` percentiles.

        Exactly one mask empty -> ``inf``; both empty -> ``NaN`` (the reference gives ``inf``).
        """
        if self.distances_ab.size == 0 and self.distances_ba.size == 0:
            return math.nan
        ab = _directed_percentile(self.distances_ab, self.lengths_a, percent)
        ba = _directed_percentile(self.distances_ba, self.lengths_b, percent)
        return max(ab, ba)

    def average(self) -> tuple[float, float]:
        """Length-weighted mean distance A -> B and B -> A (``compute_average_surface_distance``).

        A direction with no contour elements (its mask is empty) is 0/0, so ``NaN`` (the reference
        warns and gives ``NaN`` too); a direction towards an empty mask is ``inf``.
        """
        return _directed_mean(self.distances_ab, self.lengths_a), _directed_mean(self.distances_ba, self.lengths_b)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, e.g. for JSON."""
        return {
            "distances_ab": self.distances_ab.tolist(),
            "lengths_a": self.lengths_a.tolist(),
            "distances_ba": self.distances_ba.tolist(),
            "lengths_b": self.lengths_b.tolist(),
        }


def surface_distances(mask_a: MaskLike, mask_b: MaskLike, *, spacing: Sequence[float] = (1.0, 1.0)) -> SurfaceDistances:
    """Sorted contour distances both ways, as DeepMind ``compute_surface_distances`` (2-D).

    Both masks empty -> all four arrays empty. One mask empty -> its side is empty and every
    distance of the other side is ``inf``. ``spacing`` is ``(row, col)``.

    >>> import numpy as np
    >>> a = np.zeros((5, 5), bool); a[2, 2] = True
    >>> sd = surface_distances(a, a)
    >>> sd.distances_ab.tolist(), sd.lengths_a.tolist()
    ([0.0, 0.0, 0.0, 0.0], [0.7071067811865476, 0.7071067811865476, 0.7071067811865476, 0.7071067811865476])
    """
    sampling = _check_spacing(spacing)
    pair = as_pair(mask_a, mask_b)
    crops = _crops(pair)
    if crops is None:
        return SurfaceDistances(_EMPTY, _EMPTY, _EMPTY, _EMPTY)
    table = _contour_length_table(sampling)
    codes_a, codes_b = _neighbour_codes(crops[0]), _neighbour_codes(crops[1])
    border_a = (codes_a != 0) & (codes_a != _FULL)
    border_b = (codes_b != 0) & (codes_b != _FULL)
    dist_to_a = _distance_map(border_a, sampling)
    dist_to_b = _distance_map(border_b, sampling)
    d_ab, l_a = _sorted_pairs(dist_to_b[border_a], table[codes_a[border_a]])
    d_ba, l_b = _sorted_pairs(dist_to_a[border_b], table[codes_b[border_b]])
    return SurfaceDistances(d_ab, l_a, d_ba, l_b)


def hd95(mask_a: MaskLike, mask_b: MaskLike, *, spacing: Sequence[float] = (1.0, 1.0)) -> float:
    """95th-percentile symmetric Hausdorff distance (DeepMind surface-distance definition).

    Equals ``compute_robust_hausdorff(compute_surface_distances(a, b, spacing), 95)``: contours
    on pixel corners (the image edge is a contour), each direction's 95th percentile weighted by
    contour length, then the max of the two directions. Units are those of ``spacing``
    (``(row, col)``, pixels by default).

    Empty cases: exactly one mask empty -> ``inf``; both empty -> ``NaN`` (0/0; the reference
    returns ``inf`` there).

    >>> import numpy as np
    >>> a = np.zeros((16, 16), bool); a[4, 4] = True
    >>> b = np.zeros((16, 16), bool); b[4, 5] = True
    >>> hd95(a, b)
    1.0
    >>> hd95(a, b, spacing=(1.0, 2.5))
    2.5
    >>> none = np.zeros((16, 16), bool)
    >>> hd95(a, none), hd95(none, none)
    (inf, nan)
    """
    return surface_distances(mask_a, mask_b, spacing=spacing).robust_hausdorff(95.0)


def average_surface_distance(
    mask_a: MaskLike, mask_b: MaskLike, *, spacing: Sequence[float] = (1.0, 1.0)
) -> tuple[float, float]:
    """Length-weighted mean contour distance ``(A -> B, B -> A)``, as ``compute_average_surface_distance``.

    Empty cases: both masks empty -> ``(NaN, NaN)``; one empty -> ``inf`` from the non-empty side
    and ``NaN`` (0/0) from the empty side.

    >>> import numpy as np
    >>> a = np.zeros((8, 8), bool); a[2:5, 2:5] = True
    >>> average_surface_distance(a, a)
    (0.0, 0.0)
    """
    return surface_distances(mask_a, mask_b, spacing=spacing).average()


# --- internals -------------------------------------------------------------------------------------------


def _check_spacing(spacing: Sequence[float]) -> tuple[float, float]:
    values = tuple(spacing)
    if len(values) != 2 or not all(isinstance(v, Real) and math.isfinite(v) and v > 0 for v in values):
        raise InvalidOptionError(
            "spacing",
            "two positive finite numbers (row, col)",
            spacing,
            hint="Pass the pixel size along rows then columns, e.g. spacing=(1.0, 1.0).",
        )
    return float(values[0]), float(values[1])


def _crops(pair: MaskPair) -> tuple[BoolArray, BoolArray] | None:
    """Both masks inside the bbox of their union, or ``None`` when both are empty."""
    region = pair.union_box()
    if region is None:
        return None
    return pair.crops(region)


def _contour_length_table(spacing: tuple[float, float]) -> FloatArray:
    """Contour length per 2x2 neighbour code (``create_table_neighbour_code_to_contour_length``)."""
    vertical, horizontal = spacing
    diag = 0.5 * math.sqrt(spacing[0] ** 2 + spacing[1] ** 2)
    table = np.zeros(16, dtype=np.float64)
    table[[0b0001, 0b0010, 0b0100, 0b1000, 0b0111, 0b1011, 0b1101, 0b1110]] = diag
    table[[0b0011, 0b1100]] = horizontal
    table[[0b0101, 0b1010]] = vertical
    table[[0b0110, 0b1001]] = 2 * diag
    return table


def _neighbour_codes(crop: BoolArray) -> npt.NDArray[np.intp]:
    """Code of every pixel corner: 8·top-left + 4·top-right + 2·bottom-left + 1·bottom-right."""
    p = np.pad(crop, 1).astype(np.intp)
    return 8 * p[:-1, :-1] + 4 * p[:-1, 1:] + 2 * p[1:, :-1] + p[1:, 1:]


def _distance_map(border: BoolArray, sampling: tuple[float, float]) -> FloatArray:
    """Distance of every corner to the nearest corner of ``border`` (all ``inf`` if there is none)."""
    if not border.any():
        return np.full(border.shape, np.inf)
    return np.asarray(ndimage.distance_transform_edt(~border, sampling=sampling), dtype=np.float64)


def _sorted_pairs(distances: FloatArray, lengths: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sort by distance, then length, like the reference's ``sorted(zip(distances, lengths))``."""
    order = np.lexsort((lengths, distances))
    return distances[order], lengths[order]


def _directed_percentile(distances: FloatArray, lengths: FloatArray, percent: float) -> float:
    """First distance whose cumulative length fraction reaches ``percent``/100; ``inf`` if there is none."""
    if distances.size == 0:
        return math.inf
    cumulative = np.cumsum(lengths) / np.sum(lengths)
    idx = int(np.searchsorted(cumulative, percent / 100.0))
    return float(distances[min(idx, distances.size - 1)])


def _directed_mean(distances: FloatArray, lengths: FloatArray) -> float:
    if distances.size == 0:
        return math.nan
    return float(np.sum(distances * lengths) / np.sum(lengths))
