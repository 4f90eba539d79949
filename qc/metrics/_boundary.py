"""Boundary agreement: Boundary IoU (Cheng et al., CVPR 2021) and the DAVIS boundary F-measure.

Both are computed on a crop around the pair (:func:`qc.masks.crop`), never on the full
frame, and both equal their full-image references exactly:

* **Boundary IoU** follows boundary-iou-api ``mask_to_boundary``: the band of a mask M is
  M minus its erosion by a 3x3 square applied ``d`` times, with
  ``d = max(1, round(dilation_ratio * sqrt(h² + w²)))`` (half to even) from the FULL image
  size; the image border counts as background, so a mask touching it has a band along it.
  Erosion by a 3x3 square ``d`` times is a (2d+1)x(2d+1) min-filter with zeros outside,
  done here as two 1-D min-filters. A mask is zero outside its bbox, so zero padding the
  crop is exact and only ``d`` (from the full image) has to be carried over.
* **Boundary F** follows DAVIS 2017 ``f_measure`` with ``_seg2bmap``: 1-px boundaries where a
  pixel differs from its right, lower or lower-right neighbour, the image border never a
  boundary (the last row and column only compare along the border), and boundary pixels
  matched within a disk of radius ``ceil(bound_th * diagonal)`` px (``bound_th`` px when
  ``bound_th >= 1``). The crop keeps one pixel around the pair and repeats the last
  row/column only where the crop meets the image's bottom/right edge, which reproduces
  ``_seg2bmap`` exactly.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from qc.errors import InvalidOptionError
from qc.masks import MaskLike
from qc.metrics._common import BoolArray, MaskPair, as_pair

__all__ = ["boundary_fscore", "boundary_iou", "coco_boundary_iou"]


def boundary_iou(mask_a: MaskLike, mask_b: MaskLike, *, dilation_ratio: float = 0.02) -> float:
    """Boundary IoU |Ba∩Bb| / |Ba∪Bb| of the two inner bands (boundary-iou-api ``mask_to_boundary``).

    Empty cases: both masks empty is 0/0, so ``NaN`` (the reference's pycocotools IoU
    gives 0.0); one mask empty gives 0.0. Masks of different sizes raise
    :class:`qc.errors.ShapeMismatchError`.

    A 5x5 square in a 20x20 image (d = round(0.02 * 28.28) = 1) against the same square
    shifted one column: each band is the 16-px ring, and they share 8 pixels.

    >>> import numpy as np
    >>> a = np.zeros((20, 20), bool); a[5:10, 5:10] = True
    >>> b = np.zeros((20, 20), bool); b[5:10, 6:11] = True
    >>> boundary_iou(a, b)
    0.3333333333333333
    >>> none = np.zeros((20, 20), bool)
    >>> boundary_iou(a, none), boundary_iou(none, none)
    (0.0, nan)
    """
    crops = _band_crops(as_pair(mask_a, mask_b), dilation_ratio)
    return math.nan if crops is None else _iou(crops[2], crops[3])


def coco_boundary_iou(mask_a: MaskLike, mask_b: MaskLike, *, dilation_ratio: float = 0.02) -> float:
    """min(mask IoU, Boundary IoU): what boundary-iou-api's COCO/LVIS ``COCOeval(iouType="boundary")`` scores.

    Empty cases: both masks empty is ``NaN`` (the reference gives 0.0); one empty gives 0.0.

    >>> import numpy as np
    >>> a = np.zeros((20, 20), bool); a[5:10, 5:10] = True
    >>> b = np.zeros((20, 20), bool); b[5:10, 6:11] = True
    >>> coco_boundary_iou(a, b)  # mask IoU 20/30 is larger than the boundary IoU 8/24
    0.3333333333333333
    """
    crops = _band_crops(as_pair(mask_a, mask_b), dilation_ratio)
    if crops is None:
        return math.nan
    crop_a, crop_b, band_a, band_b = crops
    return min(_iou(crop_a, crop_b), _iou(band_a, band_b))


def boundary_fscore(mask_a: MaskLike, mask_b: MaskLike, *, bound_th: float = 0.008) -> float:
    """DAVIS 2017 boundary F-measure (``f_measure``), computed on a crop yet equal to the full-image value.

    Precision is the share of A's 1-px boundary within the tolerance disk of B's boundary,
    recall the converse, F = 2PR / (P + R). The tolerance radius is
    ``ceil(bound_th * sqrt(h² + w²))`` px, or ``bound_th`` px when ``bound_th >= 1``. With an
    integral radius (always so for ``bound_th < 1``) the disk is centred and F is exactly
    symmetric; a fractional pixel radius gives DAVIS's even-sized, off-centre disk, reproduced as is.

    Empty cases: when both boundary maps are empty (both masks empty, both whole-image,
    or one empty and the other whole-image: the image border is never a boundary) the
    result is ``NaN`` (DAVIS returns 1.0); exactly one boundary map empty gives 0.0.

    >>> import numpy as np
    >>> a = np.zeros((20, 20), bool); a[5:10, 5:10] = True
    >>> b = np.zeros((20, 20), bool); b[5:10, 7:12] = True  # 2 px right; tolerance 1 px
    >>> boundary_fscore(a, b)
    0.6
    >>> boundary_fscore(a, a), boundary_fscore(np.zeros((20, 20), bool), np.ones((20, 20), bool))
    (1.0, nan)
    """
    pair = as_pair(mask_a, mask_b)
    radius = _tolerance_px(pair.height, pair.width, bound_th)
    map_a, map_b = _boundary_map_crops(pair)
    count_a, count_b = int(np.count_nonzero(map_a)), int(np.count_nonzero(map_b))
    if count_a == 0 and count_b == 0:
        return math.nan
    if count_a == 0 or count_b == 0:
        return 0.0
    precision = _matched(map_a, map_b, radius) / float(count_a)
    recall = _matched(map_b, map_a, radius) / float(count_b)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


# --- Boundary IoU ----------------------------------------------------------------------------------------


def _band_width(height: int, width: int, dilation_ratio: float) -> int:
    """``mask_to_boundary``'s d: max(1, round(ratio * diagonal)), half to even, from the full image."""
    if not math.isfinite(dilation_ratio) or dilation_ratio < 0:
        raise InvalidOptionError(
            "dilation_ratio",
            "a finite number >= 0 (0.02 for COCO, 0.005 for Cityscapes)",
            dilation_ratio,
        )
    return max(1, round(dilation_ratio * math.sqrt(height * height + width * width)))


def _band_crops(pair: MaskPair, dilation_ratio: float) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray] | None:
    """Both masks and their inner bands inside the union box grown by d + 2; ``None`` when both are empty."""
    d = _band_width(pair.height, pair.width, dilation_ratio)
    region = pair.union_box(d + 2)
    if region is None:
        return None
    crop_a, crop_b = pair.crops(region)
    return crop_a, crop_b, _inner_band(crop_a, d), _inner_band(crop_b, d)


def _inner_band(mask: BoolArray, d: int) -> BoolArray:
    """``mask`` minus its (2d+1)x(2d+1) square erosion, with zeros outside the array.

    Only the mask's own tight box is filtered (outside it nothing can be band), and a
    mask no taller or wider than 2d px erodes to nothing, so its band is the mask
    itself: both shortcuts are exact.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if min(r1 - r0, c1 - c0) <= 2 * d:
        return mask
    size = 2 * d + 1
    tight = mask[r0:r1, c0:c1]
    eroded = ndimage.minimum_filter1d(tight.view(np.uint8), size, axis=0, mode="constant", cval=0)
    eroded = ndimage.minimum_filter1d(eroded, size, axis=1, mode="constant", cval=0)
    band = mask.copy()
    band[r0:r1, c0:c1] = tight & (eroded == 0)
    return band


def _band_from_column_erosion(mask: BoolArray, vertical: BoolArray, d: int) -> BoolArray:
    """:func:`_inner_band` given the mask's vertical erosion by ``d`` (from its runs, see
    :func:`qc.masks.column_eroded_crop`): only the horizontal pass is left to filter.

    Exact when the array holds the mask's whole box (zeros outside it).
    """
    rows = np.flatnonzero(vertical.any(axis=1))
    if rows.size == 0:
        return mask
    cols = np.flatnonzero(vertical.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if c1 - c0 <= 2 * d:
        return mask
    eroded = ndimage.minimum_filter1d(vertical[r0:r1, c0:c1].view(np.uint8), 2 * d + 1, axis=1, mode="constant", cval=0)
    band = mask.copy()
    band[r0:r1, c0:c1] &= eroded == 0
    return band


def _iou(a: BoolArray, b: BoolArray) -> float:
    """|a∩b| / |a∪b| as pycocotools divides it; ``NaN`` for 0/0."""
    union = int(np.count_nonzero(a | b))
    if union == 0:
        return math.nan
    return int(np.count_nonzero(a & b)) / union


# --- DAVIS boundary F ------------------------------------------------------------------------------------


def _tolerance_px(height: int, width: int, bound_th: float) -> float:
    """DAVIS's ``bound_pix``: ``bound_th`` when >= 1, else ceil(bound_th * diagonal)."""
    if not math.isfinite(bound_th) or bound_th < 0:
        raise InvalidOptionError(
            "bound_th", "a finite number >= 0 (a fraction of the diagonal, or pixels when >= 1)", bound_th
        )
    if bound_th >= 1:
        return float(bound_th)
    return float(math.ceil(bound_th * math.sqrt(height * height + width * width)))


def _boundary_map_crops(pair: MaskPair) -> tuple[BoolArray, BoolArray]:
    """``_seg2bmap`` of both masks inside the union box grown by 1 px (empty maps when both are empty)."""
    region = pair.union_box(1)
    if region is None:
        nothing = np.zeros((0, 0), dtype=bool)
        return nothing, nothing
    at_bottom, at_right = region[3] == pair.height, region[2] == pair.width
    crop_a, crop_b = pair.crops(region)
    return _seg2bmap(crop_a, at_bottom, at_right), _seg2bmap(crop_b, at_bottom, at_right)


def _seg2bmap(seg: BoolArray, at_bottom: bool, at_right: bool) -> BoolArray:
    """DAVIS ``_seg2bmap`` of a crop: a pixel differing from its right, lower or lower-right neighbour.

    Beyond the crop's bottom/right the image is background, unless the crop ends at the
    image edge: there the last row/column is repeated, which is exactly ``_seg2bmap``'s
    rule that the border row/column only compares along the border (and the corner is 0).
    """
    rows, cols = seg.shape
    ext = np.zeros((rows + 1, cols + 1), dtype=bool)
    ext[:rows, :cols] = seg
    if at_bottom:
        ext[rows, :cols] = seg[rows - 1]
    if at_right:
        ext[:, cols] = ext[:, cols - 1]
    right, below, diagonal = ext[:rows, 1:], ext[1:, :cols], ext[1:, 1:]
    return (seg ^ right) | (seg ^ below) | (seg ^ diagonal)


def _matched(boundary: BoolArray, other: BoolArray, radius: float) -> int:
    """How many ``boundary`` pixels have an ``other`` boundary pixel inside DAVIS's tolerance disk.

    DAVIS dilates ``other`` with ``skimage.morphology.disk(radius)`` through ``cv2.dilate``
    (anchor at the kernel's centre index). For an integral radius that disk is exactly the
    Euclidean ball, so a nearest-neighbour query over the boundary pixels answers it (squared
    distances are small integers, so ``sqrt`` and the comparison are exact); any other radius
    uses the footprint itself.
    """
    if radius == int(radius):
        distance, _ = cKDTree(np.argwhere(other)).query(np.argwhere(boundary), k=1, distance_upper_bound=radius + 1)
        return int(np.count_nonzero(distance <= radius))
    from skimage.morphology import disk  # only for a fractional radius: reading a round needs no scikit-image

    footprint = disk(radius).astype(bool)
    dilated = ndimage.maximum_filter(other, footprint=footprint, mode="constant", cval=0)
    return int(np.count_nonzero(boundary & dilated))
