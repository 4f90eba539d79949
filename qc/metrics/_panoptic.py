"""Panoptic quality (PQ = SQ x RQ) between two annotators, exactly as panopticapi computes it.

This reproduces ``panopticapi.evaluation.pq_compute_single_core`` followed by
``PQStat.pq_average`` for the groups all / things / stuff, with annotator ``a`` as the ground truth
and ``b`` as the prediction. Each annotator's segments are one image's non-overlapping regions;
pixels no segment covers are VOID.

**The metric is asymmetric.** VOID and crowd are read from ``a`` only:

- a match needs the same category and IoU strictly > 0.5, where the union leaves out the pixels of
  the ``b`` segment that lie on ``a``'s VOID;
- crowd segments of ``a`` are never matched and never a false negative;
- an unmatched ``b`` segment is not a false positive when more than half of it lies on ``a``'s VOID
  plus ``a``'s crowd region of its own class (only the last crowd segment per class counts, as in
  panopticapi).

So ``panoptic_quality(a, b)`` and ``panoptic_quality(b, a)`` differ as soon as there is VOID or crowd.

Intersections are computed on RLE, only for segment pairs whose boxes overlap; no label map of the
full image is ever painted, so the cost follows the segments, not the image size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qc import masks
from qc.core import Category, Segment
from qc.errors import QCError, ShapeMismatchError
from qc.metrics._overlap import intersection_area

__all__ = ["PQClassStats", "PQGroup", "PQMatch", "PanopticResult", "panoptic_quality"]

MATCH_IOU = 0.5
"""A pair is a true positive when its IoU is strictly greater than this (panopticapi)."""


@dataclass(frozen=True)
class PQGroup:
    """PQ, SQ, RQ averaged over the ``n`` categories of a group that have tp + fp + fn > 0."""

    pq: float
    sq: float
    rq: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"pq": self.pq, "sq": self.sq, "rq": self.rq, "n": self.n}


@dataclass(frozen=True)
class PQClassStats:
    """One category's counts and scores, as panopticapi reports them.

    A category with tp + fp + fn = 0 has pq = sq = rq = 0.0 (the reference's literal values; the counts
    show that it did not occur). A category with tp = 0 has sq = 0.0.
    """

    pq: float
    sq: float
    rq: float
    tp: int
    fp: int
    fn: int
    iou_sum: float

    @property
    def occurs(self) -> bool:
        """Whether the category counts in the group averages (tp + fp + fn > 0)."""
        return self.tp + self.fp + self.fn > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pq": self.pq,
            "sq": self.sq,
            "rq": self.rq,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "iou_sum": self.iou_sum,
        }


@dataclass(frozen=True)
class PQMatch:
    """A true positive: segment ``a_id`` of annotator a matched to ``b_id`` of annotator b with ``iou``."""

    a_id: Any
    b_id: Any
    iou: float

    def to_dict(self) -> dict[str, Any]:
        return {"a_id": self.a_id, "b_id": self.b_id, "iou": self.iou}


@dataclass(frozen=True)
class PanopticResult:
    """PQ of one image pair: the groups (``None`` when no category of the group occurs), per class, matches."""

    all: PQGroup | None
    things: PQGroup | None
    stuff: PQGroup | None
    per_class: Mapping[int, PQClassStats] = field(default_factory=dict)
    matches: tuple[PQMatch, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "all": None if self.all is None else self.all.to_dict(),
            "things": None if self.things is None else self.things.to_dict(),
            "stuff": None if self.stuff is None else self.stuff.to_dict(),
            "per_class": {cat: stats.to_dict() for cat, stats in self.per_class.items()},
            "matches": [[m.a_id, m.b_id, m.iou] for m in self.matches],
        }


def panoptic_quality(
    a: Sequence[Segment],
    b: Sequence[Segment],
    categories: Sequence[Category] | Sequence[Mapping[str, Any]],
) -> PanopticResult:
    """PQ / SQ / RQ of ``b`` against ``a`` (the reference annotator), as panopticapi.

    ``categories`` are :class:`~qc.formats._base.Category` or dicts ``{id, name, isthing}``; every
    segment's ``category_id`` must be one of them. Segments must not overlap within one annotator
    (as in a panoptic PNG); segments with no pixels are ignored, since a panoptic PNG cannot hold them.

    Empty cases: both lists empty -> every group ``None``, every category tp = fp = fn = 0. ``b`` empty
    (all VOID) -> every non-crowd ``a`` segment is a false negative, so PQ = 0. ``a`` empty (all VOID) ->
    every ``b`` segment lies on VOID and is ignored, so again every group is ``None``. A group with no
    category that has tp + fp + fn > 0 is ``None`` (panopticapi raises ZeroDivisionError there).
    Segments of different image sizes raise :class:`~qc.errors.ShapeMismatchError`.

    >>> import numpy as np
    >>> m = np.zeros((4, 4), bool); m[:2, :2] = True
    >>> r = panoptic_quality([Segment(1, 1, m)], [Segment(7, 1, m)], [Category(1, "cell", True)])
    >>> r.all
    PQGroup(pq=1.0, sq=1.0, rq=1.0, n=1)
    >>> r.matches
    (PQMatch(a_id=1, b_id=7, iou=1.0),)
    """
    things = _category_kinds(categories)
    seg_a = _usable(a, things, "a")
    seg_b = _usable(b, things, "b")
    _check_sizes([*seg_a, *seg_b])
    overlap = _intersections(seg_a, seg_b)
    counts, matches = _tally(seg_a, seg_b, overlap)
    per_class = {cat: _class_stats(*counts.get(cat, [0, 0, 0, 0.0])) for cat in things}
    return PanopticResult(
        all=_group(per_class, things, None),
        things=_group(per_class, things, True),
        stuff=_group(per_class, things, False),
        per_class=per_class,
        matches=tuple(matches),
    )


# --- internals -------------------------------------------------------------------------------------------


def _category_kinds(categories: Iterable[Category] | Iterable[Mapping[str, Any]]) -> dict[int, bool]:
    """``{category id: isthing}`` in the given order."""
    kinds: dict[int, bool] = {}
    for index, cat in enumerate(categories):
        if isinstance(cat, Category):
            kinds[int(cat.id)] = bool(cat.isthing)
            continue
        if not isinstance(cat, Mapping) or "id" not in cat or "isthing" not in cat:
            raise QCError(
                f"category {index} must be a Category or a dict with 'id', 'name' and 'isthing'; got {cat!r}",
                field="categories",
            )
        kinds[int(cat["id"])] = cat["isthing"] == 1
    return kinds


def _usable(segments: Sequence[Segment], kinds: Mapping[int, bool], side: str) -> list[Segment]:
    """The non-empty segments, after checking ids are unique and categories known."""
    seen: set[Any] = set()
    for seg in segments:
        if seg.id in seen:
            raise QCError(
                f"annotator {side} has two segments with id {seg.id!r}; segment ids must be unique per image",
                annotation_id=seg.id,
                field="id",
            )
        seen.add(seg.id)
        if seg.category_id not in kinds:
            raise QCError(
                f"segment of annotator {side} has category_id {seg.category_id}, which is not among the "
                f"categories {sorted(kinds)}; add the category or fix the segment",
                annotation_id=seg.id,
                field="category_id",
            )
    return [seg for seg in segments if seg.area > 0]


def _check_sizes(segments: Sequence[Segment]) -> None:
    sizes = {tuple(seg.rle["size"]) for seg in segments}
    if len(sizes) > 1:
        first, second = sorted(sizes)[:2]
        raise ShapeMismatchError(first, second)


def _intersections(seg_a: Sequence[Segment], seg_b: Sequence[Segment]) -> dict[tuple[int, int], int]:
    """``{(i, j): |a_i ∩ b_j|}`` for the non-empty intersections; only box-overlapping pairs are measured."""
    if not seg_a or not seg_b:
        return {}
    boxes_a = np.array([masks.box(s.rle) for s in seg_a], dtype=np.int64)
    boxes_b = np.array([masks.box(s.rle) for s in seg_b], dtype=np.int64)
    touching = (
        (boxes_a[:, None, 0] < boxes_b[None, :, 2])
        & (boxes_b[None, :, 0] < boxes_a[:, None, 2])
        & (boxes_a[:, None, 1] < boxes_b[None, :, 3])
        & (boxes_b[None, :, 1] < boxes_a[:, None, 3])
    )
    out: dict[tuple[int, int], int] = {}
    for i, j in zip(*np.nonzero(touching), strict=True):
        inter = intersection_area(seg_a[i].rle, seg_b[j].rle)
        if inter:
            out[(int(i), int(j))] = inter
    return out


def _tally(
    seg_a: Sequence[Segment], seg_b: Sequence[Segment], overlap: Mapping[tuple[int, int], int]
) -> tuple[dict[int, list[Any]], list[PQMatch]]:
    """Per category ``[tp, fp, fn, iou_sum]`` and the TP matches, following pq_compute_single_core."""
    on_void = [s.area for s in seg_b]  # pixels of each b segment on a's VOID: its area minus what a covers
    for (_, j), inter in overlap.items():
        on_void[j] -= inter
    counts: dict[int, list[Any]] = {}
    pairs = _true_positives(seg_a, seg_b, overlap, on_void)
    for i, _, iou in pairs:
        _bump(counts, seg_a[i].category_id, tp=1, iou=iou)
    matched_a = {i for i, _, _ in pairs}
    matched_b = {j for _, j, _ in pairs}
    crowd_of: dict[int, int] = {}
    for i, seg in enumerate(seg_a):
        if seg.iscrowd:
            crowd_of[seg.category_id] = i  # the last crowd segment per class wins, as in panopticapi
        elif i not in matched_a:
            _bump(counts, seg.category_id, fn=1)
    for j, seg in enumerate(seg_b):
        if j in matched_b:
            continue
        ignored = on_void[j]
        if seg.category_id in crowd_of:
            ignored += overlap.get((crowd_of[seg.category_id], j), 0)
        if not ignored / seg.area > 0.5:  # more than half on VOID + own-class crowd: not an FP
            _bump(counts, seg.category_id, fp=1)
    return counts, [PQMatch(seg_a[i].id, seg_b[j].id, iou) for i, j, iou in pairs]


def _true_positives(
    seg_a: Sequence[Segment],
    seg_b: Sequence[Segment],
    overlap: Mapping[tuple[int, int], int],
    on_void: Sequence[int],
) -> list[tuple[int, int, float]]:
    """Same-class, non-crowd pairs with IoU > 0.5; the union leaves out b's pixels on a's VOID."""
    pairs: list[tuple[int, int, float]] = []
    for (i, j), inter in sorted(overlap.items()):
        if seg_a[i].iscrowd or seg_a[i].category_id != seg_b[j].category_id:
            continue
        iou = inter / (seg_a[i].area + seg_b[j].area - inter - on_void[j])
        if iou > MATCH_IOU:
            pairs.append((i, j, iou))
    return pairs


def _bump(
    counts: dict[int, list[Any]], category: int, *, tp: int = 0, fp: int = 0, fn: int = 0, iou: float = 0.0
) -> None:
    entry = counts.setdefault(category, [0, 0, 0, 0.0])
    entry[0] += tp
    entry[1] += fp
    entry[2] += fn
    entry[3] += iou


def _class_stats(tp: int, fp: int, fn: int, iou_sum: float) -> PQClassStats:
    """PQ/SQ/RQ of one category with ``PQStat.pq_average``'s formulas."""
    if tp + fp + fn == 0:
        return PQClassStats(0.0, 0.0, 0.0, 0, 0, 0, iou_sum)
    denominator = tp + 0.5 * fp + 0.5 * fn
    sq = iou_sum / tp if tp else 0.0
    return PQClassStats(iou_sum / denominator, sq, tp / denominator, tp, fp, fn, iou_sum)


def _group(per_class: Mapping[int, PQClassStats], kinds: Mapping[int, bool], isthing: bool | None) -> PQGroup | None:
    """Mean over the group's categories that occur; ``None`` when none does."""
    members = [s for cat, s in per_class.items() if (isthing is None or kinds[cat] == isthing) and s.occurs]
    if not members:
        return None
    pq = sq = rq = 0.0
    for stats in members:  # summed in category order, as pq_average does
        pq += stats.pq
        sq += stats.sq
        rq += stats.rq
    n = len(members)
    return PQGroup(pq=pq / n, sq=sq / n, rq=rq / n, n=n)
