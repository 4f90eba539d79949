"""Consensus of k annotators' masks: majority vote and STAPLE.

Both work on the crop of the union bbox of the raters only; outside it every rater
says background, so the answer there is known without decoding a pixel.

**Majority vote** puts a pixel in when at least ``ceil(k/2)`` raters have it, so an
even split counts as in; ``strict=True`` needs more than ``k/2`` (ties out), which is
the foreground of SimpleITK ``LabelVoting`` on binary masks. The rule is written once,
in :func:`majority_crop` (aligned crops); :func:`majority_vote` applies it to full-image masks.

**STAPLE** (Warfield, Zou & Wells 2004) reproduces ITK's ``STAPLEImageFilter``
(SimpleITK 2.5.7, ``ForegroundValue 1``) step by step:

- ``W`` starts as the fraction of raters marking each pixel; the prior ``g`` is the
  mean of that over the WHOLE image times ``confidence_weight`` and stays fixed;
- each iteration computes every rater's sensitivity ``p`` and specificity ``q`` from
  ``W`` (M step) and then ``W = g·α / (g·α + (1-g)·β)`` from them (E step);
- from the second iteration on it stops once every ``(Δp)²`` and ``(Δq)²`` is at most
  1e-14; ``iterations`` is ITK's ``GetElapsedIterations()``, the 0-based index of the
  iteration that converged (so one less than the number of (p, q) updates).

Pixels with the same rater vector (pattern) get the same ``W``, so the EM runs over
the counts of the distinct patterns (at most ``2**k``), not over pixels.

Empty conventions: all raters empty or all raters full gives NaN probability at every
pixel and NaN sensitivity / specificity, exactly as ITK (0/0 in the M step); the
consensus is then empty (NaN counts as < 0.5). Majority vote of all-empty raters is empty.

>>> import numpy as np
>>> a = np.zeros((6, 6), dtype=bool); a[1:4, 1:4] = True
>>> b = np.zeros((6, 6), dtype=bool); b[1:4, 2:5] = True
>>> c = np.zeros((6, 6), dtype=bool); c[2:5, 1:4] = True
>>> from qc import masks
>>> [masks.area(majority_vote(m)) for m in ([a, b, c], [a, b])], masks.area(majority_vote([a, b], strict=True))
([8, 12], 6)
>>> result = staple([a, b, c])
>>> result.iterations, masks.area(result.consensus), result.probability_map().shape
(1306, 9, (6, 6))
>>> [round(s, 3) for s in result.sensitivity], result.prior
([1.0, 0.667, 0.667], 0.25)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qc import masks
from qc.errors import InvalidMaskError, InvalidOptionError, ShapeMismatchError
from qc.masks import RLE, Box, MaskLike

__all__ = [
    "RELIABILITY_DECIDES",
    "StapleResult",
    "majority_crop",
    "majority_vote",
    "reliability_decides",
    "staple",
    "vote_counts",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ITK_MAX_ITERATIONS = 2**32 - 1
"""ITK's default ``MaximumIterations`` (``NumericTraits<unsigned int>::max()``)."""

_MIN_SQUARED_CHANGE = 1.0e-14  # ITK's ``min_rms_error``
_BINCOUNT_MAX_RATERS = 16  # up to here patterns are counted with one bincount over 2**k bins


@dataclass(frozen=True)
class _Raters:
    """k masks of one image as RLE, with the image size and the union box of their foregrounds."""

    rles: tuple[RLE, ...]
    height: int
    width: int
    region: Box | None

    def crops(self) -> list[BoolArray]:
        """Every rater decoded inside the union box only (an empty list when all are empty)."""
        if self.region is None:
            return []
        return [masks.crop(rle, self.region) for rle in self.rles]


RELIABILITY_DECIDES = 4.0
"""How many times heavier (:attr:`qc.reliability.Reliability.weight`, an inverse variance: 4 is half the
boundary error) the deciding annotator of a shape dispute must be than everyone who disagrees with them."""


def reliability_decides(
    members: Sequence[str],
    agree: Collection[tuple[str, str]],
    weights: Mapping[str, float],
    *,
    ratio: float = RELIABILITY_DECIDES,
) -> tuple[str, ...] | None:
    """Who holds a disputed object's shape when the annotators' measured reliability decides; ``None`` when it cannot.

    ``members`` drew the object (a majority of the image's annotators, so the object is there) but
    no majority of them agrees on its shape; ``agree`` holds the member pairs whose shapes agree
    (either order); ``weights`` the *measured* reliability weight of each annotator (one who is
    not in it is unmeasured). The heaviest member decides when every member is measured, their
    weight is at least 1 (the round's median annotator) and at least ``ratio`` x the weight of
    every member whose shape disagrees with theirs: their boundary error is then at most half the
    others' (:data:`RELIABILITY_DECIDES`), and a reviewer would side with them. Returns the decider
    and the members agreeing with them, in ``members`` order.

    >>> reliability_decides(["a", "c"], set(), {"a": 1.0, "b": 1.0, "c": 0.05})
    ('a',)
    >>> reliability_decides(["a", "c"], set(), {"a": 1.0, "c": 0.5}) is None  # 2 x is not enough
    True
    >>> reliability_decides(["a", "c"], set(), {"a": 1.0}) is None  # c is not measured
    True
    """
    if not ratio >= 1.0:
        raise InvalidOptionError("ratio", "a number >= 1", ratio)
    if len(members) < 2 or any(a not in weights for a in members):
        return None
    agreeing = {frozenset(pair) for pair in agree}
    decider = max(members, key=lambda a: (weights[a], -members.index(a)))
    if weights[decider] < 1.0:
        return None
    side = [a for a in members if a == decider or frozenset((a, decider)) in agreeing]
    if any(weights[decider] < ratio * weights[a] for a in members if a not in side):
        return None
    return tuple(side)


def _raters(masks_in: Sequence[MaskLike]) -> _Raters:
    """Normalise k masks to RLE; one image size (else ShapeMismatchError) and at least one mask."""
    if isinstance(masks_in, np.ndarray) and masks_in.ndim != 3:
        raise InvalidMaskError(f"expected a sequence of k 2-D masks; got one array of shape {masks_in.shape}")
    items = list(masks_in)
    if not items:
        raise InvalidMaskError("consensus needs at least one rater mask; got an empty list of masks")
    size = masks.image_size(items[0])
    for other in items[1:]:
        other_size = masks.image_size(other)
        if other_size != size:
            raise ShapeMismatchError(size, other_size)
    rles = tuple(masks.as_rle(m) for m in items)
    region = masks.union_box(*(masks.box(r) for r in rles))
    return _Raters(rles, size[0], size[1], region)


# --- majority vote ---------------------------------------------------------------------------------------


def vote_counts(masks_in: Sequence[MaskLike]) -> tuple[Box | None, npt.NDArray[np.int32]]:
    """How many raters mark each pixel of the union bbox: ``(region, counts)``.

    ``region`` is the half-open union box ``(x0, y0, x1, y1)`` of all foregrounds and
    ``counts`` its ``(y1-y0, x1-x0)`` int32 array; every pixel outside has 0 votes. When
    all raters are empty, ``region`` is ``None`` and ``counts`` has shape ``(0, 0)``.

    >>> import numpy as np
    >>> a = np.zeros((4, 4), dtype=bool); a[1, 1:3] = True
    >>> b = np.zeros((4, 4), dtype=bool); b[1:3, 1] = True
    >>> region, counts = vote_counts([a, b])
    >>> region, counts.tolist()
    ((1, 1, 3, 3), [[2, 1], [1, 0]])
    """
    raters = _raters(masks_in)
    return raters.region, _count_votes(raters.crops())


def _count_votes(crops: Sequence[BoolArray]) -> npt.NDArray[np.int32]:
    """How many of the aligned ``crops`` mark each pixel (shape ``(0, 0)`` for no crop)."""
    if not crops:
        return np.zeros((0, 0), dtype=np.int32)
    counts = np.zeros(crops[0].shape, dtype=np.int32)
    for crop in crops:
        counts += crop
    return counts


def majority_crop(crops: Sequence[BoolArray], *, strict: bool = False) -> BoolArray:
    """Majority vote of k aligned crops (one region of one image): the one place the rule is written.

    A pixel is in when at least ``ceil(k/2)`` crops have it (an even split counts as in);
    ``strict`` needs more than ``k/2`` (ties out). :func:`majority_vote` runs it on the
    union box of full-image masks; :mod:`qc.agreement` on the crop around a match group.
    An empty list raises :class:`InvalidMaskError`.

    >>> import numpy as np
    >>> a, b = np.array([[True, True]]), np.array([[True, False]])
    >>> majority_crop([a, b]).tolist(), majority_crop([a, b], strict=True).tolist()
    ([[True, True]], [[True, False]])
    """
    if not crops:
        raise InvalidMaskError("a majority vote needs at least one crop; got an empty list")
    counts = _count_votes(crops)
    k = len(crops)
    return np.asarray(2 * counts > k if strict else counts >= math.ceil(k / 2))


def majority_vote(masks_in: Sequence[MaskLike], *, strict: bool = False) -> RLE:
    """Pixels marked by at least ``ceil(k/2)`` of the k raters (``strict``: more than ``k/2``).

    ``masks_in`` are k RLEs or 2-D bool arrays of one image size (else
    :class:`ShapeMismatchError`); an empty list raises :class:`InvalidMaskError`.
    All raters empty gives the empty mask; one rater gives that rater's mask. Only
    the union bbox is decoded; the result is a full-image RLE.
    """
    raters = _raters(masks_in)
    if raters.region is None:
        return masks.empty(raters.height, raters.width)
    inside = majority_crop(raters.crops(), strict=strict)
    return masks.paste(inside, raters.region, raters.height, raters.width)


# --- STAPLE ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StapleResult:
    """STAPLE output, equal to ITK ``STAPLEImageFilter`` (``ForegroundValue 1``).

    ``probability_crop`` is the probability of the true label being foreground inside
    ``region`` (the union bbox, ``None`` when every rater is empty); every pixel outside
    has ``background_probability`` (the W of the all-background rater vector).
    ``consensus`` is the RLE of ``probability >= 0.5`` (NaN counts as < 0.5).
    """

    sensitivity: tuple[float, ...]
    specificity: tuple[float, ...]
    iterations: int
    prior: float
    region: Box | None
    probability_crop: FloatArray = field(repr=False, compare=False)
    background_probability: float
    consensus: RLE
    height: int
    width: int

    def probability_map(self) -> FloatArray:
        """The full ``height`` x ``width`` float64 probability map (builds the whole frame)."""
        full = np.full((self.height, self.width), self.background_probability, dtype=np.float64)
        if self.region is not None:
            x0, y0, x1, y1 = self.region
            full[y0:y1, x0:x1] = self.probability_crop
        return full

    def to_dict(self, *, include_probability: bool = False) -> dict[str, Any]:
        """Plain-data summary; ``include_probability`` adds the crop's probabilities as nested lists."""
        out: dict[str, Any] = {
            "sensitivity": list(self.sensitivity),
            "specificity": list(self.specificity),
            "iterations": self.iterations,
            "prior": self.prior,
            "region": list(self.region) if self.region is not None else None,
            "background_probability": self.background_probability,
            "consensus": dict(self.consensus),
            "height": self.height,
            "width": self.width,
        }
        if include_probability:
            out["probability_crop"] = self.probability_crop.tolist()
        return out


@dataclass(frozen=True)
class _Patterns:
    """Distinct rater vectors: ``bits`` (P, k) bool, pixel ``counts`` (P,), and how to map the crop to them."""

    bits: BoolArray
    counts: FloatArray
    index: npt.NDArray[np.intp]  # per crop pixel (flattened), its row in ``bits``


def staple(
    masks_in: Sequence[MaskLike], *, confidence_weight: float = 1.0, max_iterations: int | None = None
) -> StapleResult:
    """STAPLE EM over k binary raters, exactly as ITK/SimpleITK ``STAPLEImageFilter``.

    ``confidence_weight`` scales the prior (ITK ``ConfidenceWeight``); ``max_iterations``
    caps the EM (``None`` = ITK's default ``2**32 - 1``; at least 1). The prior is taken
    over the whole image, so padding or cropping the image changes the result, as in ITK.
    All raters empty or all full: NaN probability everywhere, NaN sensitivity and
    specificity, empty consensus. An empty list raises :class:`InvalidMaskError`.
    """
    limit = _check_max_iterations(max_iterations)
    raters = _raters(masks_in)
    k = len(raters.rles)
    patterns = _patterns(raters)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        total = np.float64(raters.height * raters.width)
        prior = float(np.sum(patterns.counts * (patterns.bits.sum(axis=1) / k)) / total * confidence_weight)
        p, q, weights, elapsed = _em(patterns, prior, limit)
        background = float(_e_step(np.zeros((1, k), dtype=bool), p, q, prior)[0])
        crop = weights[patterns.index].reshape(_crop_shape(raters.region))
    crop.setflags(write=False)
    return StapleResult(
        sensitivity=tuple(float(v) for v in p),
        specificity=tuple(float(v) for v in q),
        iterations=elapsed,
        prior=prior,
        region=raters.region,
        probability_crop=crop,
        background_probability=background,
        consensus=_threshold(crop, background, raters),
        height=raters.height,
        width=raters.width,
    )


def _check_max_iterations(max_iterations: int | None) -> int:
    if max_iterations is None:
        return ITK_MAX_ITERATIONS
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int | np.integer) or max_iterations < 1:
        raise InvalidOptionError(
            "max_iterations", "an integer >= 1 (or None for ITK's default 2**32-1)", max_iterations
        )
    return int(max_iterations)


def _crop_shape(region: Box | None) -> tuple[int, int]:
    if region is None:
        return 0, 0
    x0, y0, x1, y1 = region
    return y1 - y0, x1 - x0


def _patterns(raters: _Raters) -> _Patterns:
    """Count the distinct rater vectors; the all-background one also counts every pixel outside the crop."""
    k = len(raters.rles)
    crops = raters.crops()
    outside = raters.height * raters.width - (crops[0].size if crops else 0)
    if not crops:
        bits = np.zeros((1, k), dtype=bool)
        return _Patterns(bits, np.array([float(outside)]), np.zeros(0, dtype=np.intp))
    if k <= _BINCOUNT_MAX_RATERS:
        codes = _codes(crops)
        histogram = np.bincount(codes, minlength=1 << k)
        histogram[0] += outside
        present = np.flatnonzero(histogram)
        lookup = np.zeros(1 << k, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        bits = ((present[:, None] >> np.arange(k)) & 1).astype(bool)
        return _Patterns(bits, histogram[present].astype(np.float64), lookup[codes])
    stacked = np.stack([c.ravel() for c in crops], axis=1)
    bits, index, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    weights = counts.astype(np.float64)
    if outside:
        if not bits[0].any():  # unique sorts the all-False row first
            weights[0] += outside
        else:
            bits = np.concatenate([np.zeros((1, k), dtype=bool), bits])
            weights = np.concatenate([[float(outside)], weights])
            index = index + 1
    return _Patterns(bits.astype(bool), weights, index.reshape(-1).astype(np.intp))


def _codes(crops: list[BoolArray]) -> npt.NDArray[np.intp]:
    """Per crop pixel (flattened, row-major), the rater vector as an integer: bit i = rater i."""
    dtype = np.uint8 if len(crops) <= 8 else np.uint16
    codes: npt.NDArray[np.unsignedinteger[Any]] = np.zeros(crops[0].size, dtype=dtype)
    for i, crop in enumerate(crops):
        np.bitwise_or(codes, np.left_shift(crop.ravel().astype(dtype), i, dtype=dtype), out=codes)
    return codes.astype(np.intp)


def _em(patterns: _Patterns, prior: float, limit: int) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """ITK's loop over pattern counts: M step (p, q), E step (W), convergence from the 2nd iteration on."""
    bits, counts = patterns.bits, patterns.counts
    k = bits.shape[1]
    fg = bits.T.astype(np.float64)  # (k, P): 1 where rater i marks the pattern
    weights = bits.sum(axis=1) / k
    last_p = np.full(k, -10.0)
    last_q = np.full(k, -10.0)
    p = q = last_p
    iteration = 0
    while iteration < limit:
        mass = counts * weights
        rest = counts * (1.0 - weights)
        p = (fg @ mass) / np.sum(mass)
        q = ((1.0 - fg) @ rest) / np.sum(rest)
        weights = _e_step(bits, p, q, prior)
        # NaN changes compare False, so they count as converged, as in ITK
        if iteration != 0 and not ((p - last_p) ** 2 > _MIN_SQUARED_CHANGE).any():
            if not ((q - last_q) ** 2 > _MIN_SQUARED_CHANGE).any():
                break
        last_p, last_q = p, q
        iteration += 1
    return p, q, weights, iteration


def _e_step(bits: BoolArray, p: FloatArray, q: FloatArray, prior: float) -> FloatArray:
    """W per pattern: ``g·α / (g·α + (1-g)·β)``, the products taken rater by rater in ITK's order."""
    alpha = np.ones(bits.shape[0])
    beta = np.ones(bits.shape[0])
    for i in range(bits.shape[1]):
        marks = bits[:, i]
        alpha *= np.where(marks, p[i], 1.0 - p[i])
        beta *= np.where(marks, 1.0 - q[i], q[i])
    weighted: FloatArray = prior * alpha
    return weighted / (weighted + (1.0 - prior) * beta)


def _threshold(crop: FloatArray, background: float, raters: _Raters) -> RLE:
    """RLE of ``probability >= 0.5`` (NaN is < 0.5) without building the full frame."""
    height, width = raters.height, raters.width
    if not background >= 0.5:
        if raters.region is None:
            return masks.empty(height, width)
        return masks.paste(crop >= 0.5, raters.region, height, width)
    # the outside is in: paste the crop's OUT pixels and take the complement
    if raters.region is None:
        return _complement(masks.empty(height, width))
    return _complement(masks.paste(~(crop >= 0.5), raters.region, height, width))


def _complement(rle: RLE) -> RLE:
    """Every pixel flipped, by shifting the run lengths one place."""
    run_lengths = masks.runs(rle).tolist()
    if run_lengths and run_lengths[0] == 0:
        flipped = run_lengths[1:]
    else:
        flipped = [0, *run_lengths]
    return masks.from_uncompressed({"size": list(rle["size"]), "counts": flipped})
