"""How reliable each annotator of a round is, from what the round already measured (pure; no store).

One :class:`ObjectObservation` per (object, annotator asked to label its image): whether the
annotator drew the object, their mask's IoU to the leave-one-out consensus (the others'
fusion), whether the object is an *extra* (not in the consensus: a majority left it out),
whether their class matched the consensus class, and, on gold images, their IoU to the known
answer (0 for a gold object they missed). ``group`` is the object's match-group index within
its image (optional; ``(image_id, group)`` names the object for callers that keep it).

:func:`estimate` returns one :class:`Reliability` per annotator:

- ``boundary_iou``: mean leave-one-out IoU over the consensus objects they drew (NaN if none);
- ``miss_rate``: consensus objects they did not draw / consensus objects on their images;
- ``extra_rate``: extras they drew / objects they drew;
- ``class_error_rate``: objects whose class differs from the consensus class / objects with a class verdict;
- ``sensitivity`` / ``specificity``: pooled STAPLE rater parameters of object presence over the
  round: STAPLE's M step with the round's consensus as the truth (sensitivity: consensus objects
  drawn / consensus objects; specificity: extras left out / extras on their images), add-one
  smoothed so that a handful of objects cannot give 0 or 1. (A full EM over the objects is not
  used: extras are one annotator's objects, not independent draws, and the EM drifts to labelling
  real objects fake on simulated rounds);
- ``gold_iou``: mean IoU to gold (``None`` without gold); ``gold_failures``: gold images on which
  their mean gold IoU is below ``gold_pass_iou``;
- ``intervals``: percentile bootstrap intervals (95 %, resampling images, seeded) of
  ``boundary_iou``, ``miss_rate``, ``extra_rate``, ``class_error_rate`` and ``gold_iou`` (NaN ends
  when the value is undefined);
- ``weight``: the consensus weight of their boundary, ``(e_median / e)²`` (inverse-variance
  weighting; the round's median annotator weighs 1; clipped to [0.05, 20]; 1 when their boundary
  is not measured). ``e`` is their *own* boundary error: a leave-one-out error ``1 - boundary_iou``
  holds the others' error too (``e_loo,i ≈ e_i + mean of the others' e``), which squeezes the
  differences; with n >= 3 measured annotators, each compared with the others alike, the sum of
  the LOO errors is twice the sum S of the own errors, so ``e_i = ((n-1)·e_loo,i - S) / (n-2)``,
  floored at 0.005. With fewer than three the LOO error is used as it is.

>>> obs = [ObjectObservation(1, 7, True, 0.9, False, True), ObjectObservation(1, 8, False, None, False, None)]
>>> r = estimate(obs, n_boot=20)
>>> r[7].boundary_iou, r[7].miss_rate, r[8].miss_rate, r[8].weight
(0.9, 0.0, 1.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qc.errors import InvalidOptionError

if TYPE_CHECKING:  # qc.agreement (matching, SciPy) only where observations are built from an agreement
    from qc.agreement import ImageAgreement

__all__ = ["INTERVAL_KEYS", "ObjectObservation", "Reliability", "estimate", "observations"]

FloatArray = npt.NDArray[np.float64]

INTERVAL_KEYS = ("boundary_iou", "miss_rate", "extra_rate", "class_error_rate", "gold_iou")
"""The figures :func:`estimate` gives bootstrap intervals for."""

_MIN_ERROR = 0.005
_WEIGHT_RANGE = (0.05, 20.0)
# per (image, annotator) sufficient statistics, in this column order
_STATS = (
    "consensus",
    "missed",
    "drawn",
    "extra_drawn",
    "n_iou",
    "sum_iou",
    "n_class",
    "class_wrong",
    "n_gold",
    "sum_gold",
)


@dataclass(frozen=True)
class ObjectObservation:
    """One annotator and one object of a scored image (see the module docstring for each field)."""

    image_id: int
    person_id: int
    drew: bool
    iou_loo: float | None
    extra: bool
    class_ok: bool | None
    gold_iou: float | None = None
    group: int | None = None


@dataclass(frozen=True)
class Reliability:
    """One annotator's measured reliability over a set of observations (a round or a project)."""

    person_id: int
    n_objects: int
    boundary_iou: float
    miss_rate: float
    extra_rate: float
    class_error_rate: float
    sensitivity: float
    specificity: float
    gold_iou: float | None
    gold_failures: int
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    weight: float = 1.0

    @property
    def boundary_error(self) -> float:
        """``1 - boundary_iou`` floored at 0.005 (NaN when the boundary is not measured)."""
        return max(1.0 - self.boundary_iou, _MIN_ERROR) if not math.isnan(self.boundary_iou) else math.nan

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "intervals"}
        out["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        return out


def estimate(
    observations: Sequence[ObjectObservation],
    *,
    seed: int = 0,
    n_boot: int = 200,
    gold_pass_iou: float = 0.75,
) -> dict[int, Reliability]:
    """Every annotator's :class:`Reliability` from ``observations`` (empty in, empty out).

    ``n_boot`` bootstrap replicates (0: intervals are NaN) resample the images with a
    ``numpy`` generator seeded by ``seed``, so the same observations and seed give the same
    intervals. ``gold_pass_iou`` (the guideline's ``gold_iou``) decides a failed gold image.
    """
    InvalidOptionError.check_count("n_boot", n_boot, 0, "an integer >= 0")
    if not observations:
        return {}
    people = sorted({o.person_id for o in observations})
    images = sorted({o.image_id for o in observations})
    stats = _image_stats(observations, images, people)  # (images, people, stats)
    totals = stats.sum(axis=0)
    point = _figures(totals)
    intervals = _bootstrap(stats, n_boot, seed)
    sensitivity, specificity = _rater_parameters(observations, people)
    failures = _gold_failures(observations, gold_pass_iou)
    weights = _weights(point["boundary_iou"])
    out = {}
    for j, person in enumerate(people):
        gold = point["gold_iou"][j]
        out[person] = Reliability(
            person_id=person,
            n_objects=int(sum(1 for o in observations if o.person_id == person)),
            boundary_iou=float(point["boundary_iou"][j]),
            miss_rate=float(point["miss_rate"][j]),
            extra_rate=float(point["extra_rate"][j]),
            class_error_rate=float(point["class_error_rate"][j]),
            sensitivity=sensitivity[j],
            specificity=specificity[j],
            gold_iou=None if math.isnan(gold) else float(gold),
            gold_failures=failures.get(person, 0),
            intervals={key: intervals[key][j] for key in INTERVAL_KEYS},
            weight=weights[j],
        )
    return out


def observations(
    agreement: ImageAgreement, people: Mapping[str, int], *, image_id: int | None = None
) -> list[ObjectObservation]:
    """The observations of one scored image: one per (object, annotator of the image).

    ``people`` maps the annotator names of ``agreement`` to person ids (an annotator not in
    it is left out, e.g. a model). Supported and class-conflict objects are real (``extra``
    false); absent ones are extras; unsupported objects are left out (no majority for or
    against them). ``image_id`` defaults to ``agreement.image_id``.
    """
    from qc.agreement import GroupStatus

    image = agreement.image_id if image_id is None else image_id
    out = []
    for group in agreement.groups:
        if group.status is GroupStatus.UNSUPPORTED:
            continue
        extra = group.status is GroupStatus.ABSENT
        loo = dict(group.leave_one_out)
        categories = dict(group.categories)
        for annotator in agreement.annotators:
            if annotator not in people:
                continue
            drew = annotator in categories
            class_ok = categories[annotator] == group.category if drew and group.category is not None else None
            iou = loo.get(annotator) if drew and not extra else None
            out.append(ObjectObservation(image, people[annotator], drew, iou, extra, class_ok, group=group.index))
    return out


def _image_stats(observations: Sequence[ObjectObservation], images: list[int], people: list[int]) -> FloatArray:
    row = {image: i for i, image in enumerate(images)}
    col = {person: j for j, person in enumerate(people)}
    stats = np.zeros((len(images), len(people), len(_STATS)))
    for o in observations:
        s = stats[row[o.image_id], col[o.person_id]]
        if not o.extra:
            s[0] += 1
            s[1] += not o.drew
            if o.drew and o.iou_loo is not None and not math.isnan(o.iou_loo):
                s[4] += 1
                s[5] += o.iou_loo
        if o.drew:
            s[2] += 1
            s[3] += o.extra
        if o.class_ok is not None:
            s[6] += 1
            s[7] += not o.class_ok
        if o.gold_iou is not None and not math.isnan(o.gold_iou):
            s[8] += 1
            s[9] += o.gold_iou
    return stats


def _figures(totals: FloatArray) -> dict[str, FloatArray]:
    """The figures from summed statistics (``(..., stats)``; NaN where the denominator is 0)."""

    def ratio(num: int, den: int) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(totals[..., den] > 0, totals[..., num] / totals[..., den], np.nan)

    return {
        "boundary_iou": ratio(5, 4),
        "miss_rate": ratio(1, 0),
        "extra_rate": ratio(3, 2),
        "class_error_rate": ratio(7, 6),
        "gold_iou": ratio(9, 8),
    }


def _bootstrap(stats: FloatArray, n_boot: int, seed: int) -> dict[str, list[tuple[float, float]]]:
    people = stats.shape[1]
    if n_boot == 0:
        return {key: [(math.nan, math.nan)] * people for key in INTERVAL_KEYS}
    rng = np.random.default_rng(seed)
    n_images = stats.shape[0]
    counts = rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_boot).astype(np.float64)
    replicates = _figures(np.einsum("bi,ijs->bjs", counts, stats))  # (boot, people) per key
    out: dict[str, list[tuple[float, float]]] = {}
    for key in INTERVAL_KEYS:
        values = replicates[key]
        out[key] = [_percentiles(values[:, j]) for j in range(people)]
    return out


def _percentiles(values: FloatArray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def _rater_parameters(observations: Sequence[ObjectObservation], people: list[int]) -> tuple[list[float], list[float]]:
    """STAPLE's M step pooled over the round's objects, the consensus as the truth (add-one smoothed)."""
    col = {person: j for j, person in enumerate(people)}
    n = len(people)
    who = np.array([col[o.person_id] for o in observations])
    drew = np.array([o.drew for o in observations], dtype=np.float64)
    real = np.array([not o.extra for o in observations], dtype=np.float64)
    hits = np.bincount(who, weights=real * drew, minlength=n)
    rejections = np.bincount(who, weights=(1.0 - real) * (1.0 - drew), minlength=n)
    p = (hits + 1.0) / (np.bincount(who, weights=real, minlength=n) + 2.0)
    q = (rejections + 1.0) / (np.bincount(who, weights=1.0 - real, minlength=n) + 2.0)
    return [float(v) for v in p], [float(v) for v in q]


def _gold_failures(observations: Sequence[ObjectObservation], gold_pass_iou: float) -> dict[int, int]:
    per_image: dict[tuple[int, int], list[float]] = {}
    for o in observations:
        if o.gold_iou is not None and not math.isnan(o.gold_iou):
            per_image.setdefault((o.person_id, o.image_id), []).append(o.gold_iou)
    out: dict[int, int] = {}
    for (person, _), values in per_image.items():
        if float(np.mean(values)) < gold_pass_iou:
            out[person] = out.get(person, 0) + 1
    return out


def _weights(boundary_iou: FloatArray) -> list[float]:
    loo = np.maximum(1.0 - boundary_iou, _MIN_ERROR)
    known = np.isfinite(loo)
    n = int(known.sum())
    if n == 0:
        return [1.0] * len(loo)
    own = loo.copy()
    if n >= 3:
        total = float(loo[known].sum()) / 2.0
        own[known] = np.maximum(((n - 1) * loo[known] - total) / (n - 2), _MIN_ERROR)
    median = float(np.median(own[known]))
    low, high = _WEIGHT_RANGE
    return [float(np.clip((median / e) ** 2, low, high)) if math.isfinite(e) else 1.0 for e in own]
