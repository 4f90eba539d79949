"""Semantic agreement over integer label maps: per-class IoU, Cohen's κ, Fleiss' κ, Krippendorff's α.

A label map is a 2-D integer array of class ids (``0 .. C-1``), one per pixel. Every metric here
is computed from one primitive, :func:`contingency_table` (``np.bincount`` of ``a * C + b``):

- per-class IoU and Cohen's κ read the C x C table of one pair of maps;
- Fleiss' κ and Krippendorff's α (nominal) over *k* maps need only the class totals and, summed
  over pixels, ``Σ_c n_uc²`` (how many rater pairs agree on a pixel). The latter is
  ``k·N + 2 Σ_{i<j} trace(T_ij)``, read off the pairwise tables, so no pixels x classes table is built.

Undefined values (0/0) are ``NaN``, never an exception and never a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qc.errors import InvalidMaskError, InvalidOptionError, ShapeMismatchError

__all__ = ["cohen_kappa", "contingency_table", "fleiss_kappa", "krippendorff_alpha", "per_class_iou"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_MAX_DENSE_LABELS = 256
"""Above this many label values the labels are first renumbered to the ones present (keeps C² small)."""


def contingency_table(labels_a: npt.ArrayLike, labels_b: npt.ArrayLike, num_classes: int) -> IntArray:
    """The C x C table ``T[i, j]`` = number of pixels labelled ``i`` in ``labels_a`` and ``j`` in ``labels_b``.

    Both inputs are integer arrays of one shape with values in ``0 .. num_classes-1`` (checked by the
    public functions). One ``np.bincount`` pass over ``a * C + b``.

    >>> contingency_table(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2).tolist()
    [[1, 1], [0, 2]]
    """
    flat_a = np.asarray(labels_a, dtype=np.int64).ravel()
    flat_b = np.asarray(labels_b, dtype=np.int64).ravel()
    counts = np.bincount(flat_a * num_classes + flat_b, minlength=num_classes * num_classes)
    return counts.astype(np.int64, copy=False).reshape(num_classes, num_classes)


def per_class_iou(map_a: npt.ArrayLike, map_b: npt.ArrayLike, num_classes: int) -> FloatArray:
    """IoU of every class between two label maps: ``T[c,c] / (rows[c] + cols[c] - T[c,c])``.

    Returns a float array of length ``num_classes``. A class absent from both maps is 0/0, so ``NaN``
    (sklearn's ``jaccard_score(zero_division=0)`` reports 0.0 there); a class in only one map gives 0.0.
    Empty maps (no pixels) give all ``NaN``. Symmetric in its two maps.

    >>> a = np.array([[0, 0], [1, 1]]); b = np.array([[0, 1], [1, 1]])
    >>> per_class_iou(a, b, 3).tolist()
    [0.5, 0.6666666666666666, nan]
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise InvalidOptionError("num_classes", "a positive int", num_classes)
    first, second = _checked_maps([map_a, map_b])
    _check_range(first, second, num_classes=int(num_classes))
    table = contingency_table(first, second, int(num_classes))
    hits = np.diag(table).astype(np.float64)
    union = table.sum(axis=0) + table.sum(axis=1) - np.diag(table)
    out = np.full(int(num_classes), np.nan)
    present = union > 0
    out[present] = hits[present] / union[present]
    return out


def cohen_kappa(map_a: npt.ArrayLike, map_b: npt.ArrayLike) -> float:
    """Cohen's κ between two label maps, as sklearn ``cohen_kappa_score(a, b)`` (unweighted).

    ``κ = 1 - Σ_{i≠j} T_ij / Σ_{i≠j} E_ij`` with ``E = outer(col sums, row sums) / N``. Symmetric.
    Empty maps, and two maps that hold one and the same single label, are 0/0: ``NaN`` (sklearn gives
    NaN with a warning there; no warning here). Two constant maps of different labels give 0.0.

    >>> cohen_kappa(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [1, 1]]))
    1.0
    >>> cohen_kappa(np.zeros((2, 2), int), np.zeros((2, 2), int))
    nan
    """
    first, second = _checked_maps([map_a, map_b])
    (first, second), num_classes = _dense_labels([first, second])
    table = contingency_table(first, second, num_classes)
    total = int(table.sum())
    chance = int(np.dot(table.sum(axis=0), table.sum(axis=1)))  # Σ_c cols[c] · rows[c]
    denominator = total * total - chance
    if denominator == 0:
        return math.nan
    return 1.0 - total * (total - int(np.trace(table))) / denominator


def fleiss_kappa(maps: Sequence[npt.ArrayLike] | npt.NDArray[np.integer]) -> float:
    """Fleiss' κ over pixels for *k* label maps, as statsmodels ``fleiss_kappa(aggregate_raters(X)[0])``.

    ``maps`` is a sequence of k label maps of one shape, or a ``(k, h, w)`` array; pixels are the
    subjects, maps the raters. ``κ = (P̄ - P̄e) / (1 - P̄e)`` with ``P̄`` the mean per-pixel pairwise
    agreement and ``P̄e = Σ_c p_c²``. Undefined (``NaN``): fewer than two maps, empty maps, or a single
    label used by every map (P̄e = 1, where statsmodels also gives NaN).

    >>> fleiss_kappa([np.array([[0, 1]]), np.array([[1, 0]])])
    -1.0
    """
    pooled = _pooled_agreement(maps)
    if pooled is None or np.count_nonzero(pooled.class_totals) < 2:
        return math.nan
    raters, units = pooled.raters, pooled.units
    class_share = pooled.class_totals / float(raters * units)
    expected = float((class_share * class_share).sum())
    observed = (pooled.agreeing_pairs - units * raters) / (units * raters * (raters - 1.0))
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(maps: Sequence[npt.ArrayLike] | npt.NDArray[np.integer]) -> float:
    """Krippendorff's α (nominal) over pixels, as ``krippendorff.alpha(X, level_of_measurement="nominal")``.

    ``maps`` as for :func:`fleiss_kappa`; the value domain is the labels that occur (the package's
    default). ``α = 1 - D_o / D_e`` with the coincidence-matrix small-sample correction (n - 1), so it
    differs slightly from Fleiss' κ: total disagreement of two 8x8 binary maps gives -0.984375.
    Undefined (``NaN``): fewer than two maps, empty maps, or one label only (the package raises
    "There has to be more than one value in the domain").

    >>> krippendorff_alpha([np.array([[0, 1]]), np.array([[1, 0]])])
    -0.5
    """
    pooled = _pooled_agreement(maps)
    if pooled is None or np.count_nonzero(pooled.class_totals) < 2:
        return math.nan
    raters, units = pooled.raters, pooled.units
    values = raters * units
    observed = (units * raters * raters - pooled.agreeing_pairs) / (raters - 1.0)  # Σ o_cd, c ≠ d
    expected = (values * values - int((pooled.class_totals * pooled.class_totals).sum())) / (values - 1.0)
    return 1.0 - observed / expected


# --- internals -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pooled:
    """What Fleiss' κ and Krippendorff's α need from k maps of N pixels."""

    raters: int
    units: int
    class_totals: IntArray  # how often each label was given, over all maps
    agreeing_pairs: int  # Σ_u Σ_c n_uc², i.e. k·N + 2 · (pixel-level agreements of every map pair)


def _pooled_agreement(maps: Sequence[npt.ArrayLike] | npt.NDArray[np.integer]) -> _Pooled | None:
    """Class totals and Σ n_uc² from the pairwise contingency tables; ``None`` when k < 2 or N = 0."""
    checked = _checked_maps(_split_maps(maps))
    if len(checked) < 2 or checked[0].size == 0:
        return None
    dense, num_classes = _dense_labels(checked)
    raters, units = len(dense), int(dense[0].size)
    class_totals = np.zeros(num_classes, dtype=np.int64)
    agreeing = raters * units
    for i in range(raters):
        for j in range(i + 1, raters):
            table = contingency_table(dense[i], dense[j], num_classes)
            agreeing += 2 * int(np.trace(table))
            if i == 0:
                class_totals += table.sum(axis=0)  # map j's labels
                if j == 1:
                    class_totals += table.sum(axis=1)  # map 0's labels
    return _Pooled(raters, units, class_totals, agreeing)


def _split_maps(maps: Sequence[npt.ArrayLike] | npt.NDArray[np.integer]) -> list[npt.ArrayLike]:
    if isinstance(maps, np.ndarray):
        if maps.ndim != 3:
            raise InvalidMaskError(
                f"expected k label maps as a (k, height, width) array or a sequence of 2-D maps; "
                f"got an array of shape {maps.shape}"
            )
        return list(maps)
    return list(maps)


def _checked_maps(maps: Sequence[npt.ArrayLike]) -> list[npt.NDArray[np.int64]]:
    """Each map as a 2-D int64 array of non-negative labels, all of one shape."""
    out: list[npt.NDArray[np.int64]] = []
    for index, raw in enumerate(maps):
        array = np.asarray(raw)
        if array.ndim != 2:
            raise InvalidMaskError(f"label map {index} must be 2-D (height, width); got shape {array.shape}")
        if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.integer):
            raise InvalidMaskError(
                f"label map {index} must hold integer class ids; got dtype {array.dtype}. Round or cast it first."
            )
        if array.size and int(array.min()) < 0:
            raise InvalidMaskError(f"label map {index} has negative class id {int(array.min())}; ids start at 0")
        if out and array.shape != out[0].shape:
            raise ShapeMismatchError(out[0].shape, array.shape)
        out.append(array.astype(np.int64, copy=False))
    return out


def _check_range(*maps: npt.NDArray[np.int64], num_classes: int) -> None:
    for index, array in enumerate(maps):
        if array.size and int(array.max()) >= num_classes:
            raise InvalidMaskError(
                f"label map {index} has class id {int(array.max())} but num_classes is {num_classes}; "
                f"ids must be in 0..{num_classes - 1}. Pass the full number of classes."
            )


def _dense_labels(maps: list[npt.NDArray[np.int64]]) -> tuple[list[npt.NDArray[np.int64]], int]:
    """The maps with a label range small enough for a C x C table (renumbered when ids are sparse and large)."""
    top = max((int(m.max()) for m in maps if m.size), default=0)
    if top < _MAX_DENSE_LABELS:
        return maps, top + 1
    present, codes = np.unique(np.stack([m.ravel() for m in maps]), return_inverse=True)
    codes = codes.reshape(len(maps), -1).astype(np.int64)
    return [codes[i].reshape(m.shape) for i, m in enumerate(maps)], int(present.size)
