"""Shape fusion of a few aligned crops without outward bias, optionally weighted by reliability.

The non-strict majority of two masks is their union: every disagreement counts as in, so
the consensus of two annotators grows outwards. The fusions here put the boundary between
the raters' boundaries instead. All work on aligned crops of one region (one match group);
nothing decodes a full frame.

- :func:`shape_average` — shape-based averaging (Rohlfing & Maurer 2007): each crop's signed
  distance map (negative inside, positive outside, the boundary at 0 half a pixel from the
  edge pixels) is averaged, with weights when given; a pixel is in when the (weighted) mean
  is ``<= 0``. Two equal masks give the same mask; two squares offset by an even number of
  pixels give the square in the middle; at an exact tie (an odd offset) the pixel is in.
- :func:`midpoint` — the intersection plus the pixels of the disagreement that are at least as
  close to the intersection as to the outside of the union (two masks only).
- :func:`weighted_vote` — a pixel is in when the weights of the crops that have it make at
  least half of the total (equal weights: the non-strict majority).
- :func:`staple_fixed` — STAPLE's E step with rater parameters held fixed (sensitivity and
  specificity measured over the round, e.g. by :mod:`qc.reliability`) and a prior: the
  probability of each rater vector, thresholded at 0.5. With two raters every disagreement
  pixel of one kind gets the same answer, so it returns the intersection, the union or one
  rater's mask.

The crop is padded with one background pixel before the distance transforms, so a mask that
reaches the crop's edge ends there (the region of a match group is the group's box grown by
one pixel and clipped to the image: the padding stands for the image border).

Empty cases: every crop empty gives an empty crop; one crop gives itself (no averaging).

>>> import numpy as np
>>> a = np.zeros((9, 16), dtype=bool); a[2:7, 2:10] = True
>>> b = np.zeros((9, 16), dtype=bool); b[2:7, 4:12] = True
>>> [np.flatnonzero(f[4]).tolist() for f in (shape_average([a, b]), midpoint(a, b))]
[[3, 4, 5, 6, 7, 8, 9, 10], [3, 4, 5, 6, 7, 8, 9, 10]]
>>> np.flatnonzero(shape_average([a, b], weights=[3.0, 1.0])[4]).tolist()
[2, 3, 4, 5, 6, 7, 8, 9, 10]
>>> empty = np.zeros((3, 3), dtype=bool)
>>> [bool(f.any()) for f in (shape_average([empty, empty]), midpoint(empty, empty), weighted_vote([empty], [1.0]))]
[False, False, False]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from qc.consensus import majority_crop
from qc.errors import InvalidMaskError, InvalidOptionError, ShapeMismatchError

__all__ = [
    "CLEARLY_BETTER",
    "average_distances",
    "majority_fusion",
    "midpoint",
    "reliability_fusion",
    "shape_average",
    "signed_distance",
    "staple_fixed",
    "weighted_vote",
]

CLEARLY_BETTER = 1.5
"""``auto``: the heaviest rater's own shape when they weigh this many times the next heaviest."""

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def signed_distance(mask: BoolArray) -> FloatArray:
    """Signed distance to the boundary: ``-(d - 0.5)`` inside, ``+(d - 0.5)`` outside, ``d`` the Euclidean
    distance from a pixel to the nearest pixel of the other side (the crop's edge counts as outside).

    An empty mask is ``+inf`` everywhere (no boundary to be near).

    >>> import numpy as np
    >>> row = np.array([False, True, True, True, True, True, False])
    >>> signed_distance(np.stack([row] * 5))[2].tolist()
    [0.5, -0.5, -1.5, -2.5, -1.5, -0.5, 0.5]
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.full(mask.shape, math.inf)
    padded = np.pad(mask, 1, constant_values=False)
    inside = ndimage.distance_transform_edt(padded)[1:-1, 1:-1]
    outside = ndimage.distance_transform_edt(~padded)[1:-1, 1:-1]
    return np.asarray(np.where(mask, 0.5 - inside, outside - 0.5), dtype=np.float64)


def shape_average(crops: Sequence[BoolArray], *, weights: Sequence[float] | None = None) -> BoolArray:
    """Shape-based averaging: a pixel is in when the (weighted) mean signed distance is ``<= 0``.

    ``weights`` (one per crop, finite, >= 0, not all 0; default equal) make a reliable rater's
    boundary count more. An empty crop among others counts as far outside everywhere, so it
    votes against every pixel by the largest distance in the crop (treated as the crop's
    diagonal). Every crop empty gives an empty crop.
    """
    stack = _stack(crops)
    _weights(weights, len(stack))
    if len(stack) == 1:
        return stack[0].copy()
    return average_distances([signed_distance(crop) for crop in stack], weights=weights)


def average_distances(distances: Sequence[FloatArray], *, weights: Sequence[float] | None = None) -> BoolArray:
    """:func:`shape_average` from the crops' :func:`signed_distance` maps (computed once, reused by the caller).

    An empty crop's map (``+inf``) counts as the crop's diagonal plus one, everywhere.
    """
    if not distances:
        raise InvalidMaskError("a fusion needs at least one crop; got an empty list")
    w = _weights(weights, len(distances))
    shape = distances[0].shape
    if all(np.isinf(d).all() for d in distances):
        return np.zeros(shape, dtype=bool)
    far = float(math.hypot(*shape)) + 1.0
    total = np.zeros(shape, dtype=np.float64)
    for distance, weight in zip(distances, w, strict=True):
        if distance.shape != shape:
            raise ShapeMismatchError(shape, distance.shape)
        total += weight * np.minimum(distance, far)
    return np.asarray(total <= 0.0)


def majority_fusion(
    crops: Sequence[BoolArray],
    *,
    strict: bool = False,
    distances: Callable[[int], FloatArray] | None = None,
) -> BoolArray:
    """The majority vote of aligned crops, except that the non-strict majority of two (their union, biased
    outwards) is their :func:`shape_average`. ``distances(i)`` gives crop ``i``'s :func:`signed_distance`
    map when the caller holds it already (computed once per crop).

    >>> a = np.zeros((1, 6), bool); a[0, 0:3] = True
    >>> b = np.zeros((1, 6), bool); b[0, 2:5] = True
    >>> majority_fusion([a, b]).astype(int).tolist(), majority_fusion([a, b], strict=True).astype(int).tolist()
    ([[0, 1, 1, 1, 0, 0]], [[0, 0, 1, 0, 0, 0]])
    """
    if len(crops) == 2 and not strict:
        maps = [distances(i) if distances else signed_distance(c) for i, c in enumerate(crops)]
        return average_distances(maps)
    return majority_crop(crops, strict=strict)


def midpoint(first: BoolArray, second: BoolArray) -> BoolArray:
    """Intersection plus the disagreement pixels at least as close to the intersection as to the outside of the union.

    When the masks do not overlap at all the union's pixels nearer to neither cannot be placed:
    the result is then the intersection (empty). Equal masks give the same mask.
    """
    a, b = _stack([first, second])
    both, either = a & b, a | b
    if not both.any():
        return both
    to_both = ndimage.distance_transform_edt(~np.pad(both, 1, constant_values=False))[1:-1, 1:-1]
    to_out = ndimage.distance_transform_edt(np.pad(either, 1, constant_values=False))[1:-1, 1:-1]
    return np.asarray(both | (either & (to_both <= to_out)))


def weighted_vote(crops: Sequence[BoolArray], weights: Sequence[float] | None = None) -> BoolArray:
    """A pixel is in when the crops that have it carry at least half of the total weight (ties in).

    >>> import numpy as np
    >>> a, b, c = np.array([[1, 1, 0]], bool), np.array([[1, 0, 0]], bool), np.array([[0, 1, 1]], bool)
    >>> weighted_vote([a, b, c]).tolist(), weighted_vote([a, b, c], [1.0, 1.0, 3.0]).tolist()
    ([[True, True, False]], [[False, True, True]])
    """
    stack = _stack(crops)
    w = _weights(weights, len(stack))
    total = np.zeros(stack[0].shape, dtype=np.float64)
    for crop, weight in zip(stack, w, strict=True):
        total += weight * crop
    return np.asarray(2.0 * total >= w.sum())


def staple_fixed(
    crops: Sequence[BoolArray], sensitivity: Sequence[float], specificity: Sequence[float], *, prior: float
) -> BoolArray:
    """STAPLE's E step with fixed rater parameters: ``W = g·α / (g·α + (1-g)·β) >= 0.5`` per pixel.

    ``sensitivity`` / ``specificity`` are per crop, in [0, 1]; ``prior`` (g) is the share of
    foreground expected in the crop, in (0, 1). Probabilities of exactly 0 or 1 are clipped to
    1e-6 from the ends so one rater cannot veto every other.

    >>> import numpy as np
    >>> a, b = np.array([[1, 1, 0]], bool), np.array([[1, 0, 0]], bool)
    >>> staple_fixed([a, b], [0.95, 0.6], [0.95, 0.95], prior=0.5).tolist()
    [[True, True, False]]
    """
    stack = _stack(crops)
    p = np.clip(np.asarray(sensitivity, dtype=np.float64), 1e-6, 1 - 1e-6)
    q = np.clip(np.asarray(specificity, dtype=np.float64), 1e-6, 1 - 1e-6)
    if p.shape != (len(stack),) or q.shape != (len(stack),):
        raise InvalidOptionError("sensitivity/specificity", f"one value per crop ({len(stack)})", (p.size, q.size))
    if not 0.0 < prior < 1.0:
        raise InvalidOptionError("prior", "a number in (0, 1)", prior)
    log_in = np.full(stack[0].shape, math.log(prior))
    log_out = np.full(stack[0].shape, math.log(1.0 - prior))
    for crop, sens, spec in zip(stack, p, q, strict=True):
        log_in += np.where(crop, math.log(sens), math.log(1.0 - sens))
        log_out += np.where(crop, math.log(1.0 - spec), math.log(spec))
    return np.asarray(log_in >= log_out)


def reliability_fusion(
    crops: Sequence[BoolArray],
    weights: Sequence[float],
    *,
    method: str = "weighted",
    distances: Sequence[FloatArray] | None = None,
) -> BoolArray:
    """The consensus methods ``weighted`` and ``auto`` of the guideline, on the supporters' aligned crops.

    ``weighted``: one crop is itself; two or more are fused by :func:`shape_average` with
    ``weights`` (reliability weights, :attr:`qc.reliability.Reliability.weight`).
    ``auto``: when one rater is clearly better (weight at least :data:`CLEARLY_BETTER` x the next
    heaviest) their own shape, since averaging a near-exact boundary with a noisier one only adds
    pixel errors (measured by ``bench/economy.py``); else two crops are their weighted shape
    average and three or more the plain majority vote.
    ``distances``: the crops' :func:`signed_distance` maps when the caller has them already.

    >>> import numpy as np
    >>> a = np.zeros((7, 12), bool); a[1:6, 1:4] = True
    >>> b = np.zeros((7, 12), bool); b[1:6, 1:6] = True
    >>> c = np.zeros((7, 12), bool); c[1:6, 1:8] = True
    >>> def middle_row(*crops, w, method):
    ...     return np.flatnonzero(reliability_fusion(crops, w, method=method)[3]).tolist()
    >>> middle_row(a, b, c, w=[1, 1, 1], method="auto"), middle_row(a, b, c, w=[1, 1, 9], method="auto")
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7])
    >>> middle_row(a, c, w=[1, 1], method="auto"), middle_row(a, c, w=[1, 3], method="weighted")
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6])
    """
    if method not in ("weighted", "auto"):
        raise InvalidOptionError("method", ["weighted", "auto"], method, field="consensus.method")
    stack = _stack(crops)
    w = _weights(weights, len(stack))
    if len(stack) == 1:
        return stack[0].copy()
    if method == "auto":
        order = np.argsort(-w, kind="stable")
        if w[order[0]] >= CLEARLY_BETTER * w[order[1]]:
            return stack[int(order[0])].copy()
        if len(stack) >= 3:
            return majority_crop(stack)
    maps = list(distances) if distances is not None else [signed_distance(crop) for crop in stack]
    return average_distances(maps, weights=w.tolist())


def _stack(crops: Sequence[BoolArray]) -> list[BoolArray]:
    items = [np.asarray(c, dtype=bool) for c in crops]
    if not items:
        raise InvalidMaskError("a fusion needs at least one crop; got an empty list")
    for item in items[1:]:
        if item.shape != items[0].shape:
            raise ShapeMismatchError(items[0].shape, item.shape)
    if items[0].ndim != 2:
        raise InvalidMaskError(f"expected 2-D crops; got shape {items[0].shape}")
    return items


def _weights(weights: Sequence[float] | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise InvalidOptionError(
            "weights", f"{n} finite numbers >= 0, not all 0 (one per crop)", list(np.ravel(weights))
        )
    return w
