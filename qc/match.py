"""Instance matching across annotators.

Two annotators (:func:`match_instances`): an IoU matrix over their segments, then a
Hungarian assignment (scipy ``linear_sum_assignment``) that maximises the total IoU;
a pair is a match when its IoU is at least ``iou_threshold``. The IoU matrix comes
from pycocotools' ``iou`` on RLE runs, which compares bounding boxes first and
touches the runs only of pairs whose boxes overlap: nothing is painted into a full
frame, so the cost follows the objects, not the image size.

k annotators (:func:`group_instances`): every pair of annotators is matched, and the
matches are merged into groups, strongest IoU first; a group holds at most one
segment per annotator, so when two matches would put two segments of one annotator
in a group, the one with the higher IoU wins and the other stays apart.

Results are independent of the order in which segments are given: segments are put
in a canonical order (by content) before the assignment, so ties resolve the same way.

>>> import numpy as np
>>> from qc import masks
>>> def square(x, y, s=4):
...     m = np.zeros((16, 16), bool); m[y:y + s, x:x + s] = True
...     return masks.encode(m)
>>> a = [Segment("a1", 1, square(0, 0)), Segment("a2", 1, square(8, 8))]
>>> b = [Segment("b1", 1, square(8, 9)), Segment("b2", 1, square(0, 0))]
>>> [(m.a_id, m.b_id, round(m.iou, 2)) for m in match_instances(a, b)]
[('a1', 'b2', 1.0), ('a2', 'b1', 0.6)]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pycocotools import mask as _cocomask
from scipy.optimize import linear_sum_assignment

from qc import masks
from qc.core import Segment
from qc.errors import InvalidOptionError, ShapeMismatchError

__all__ = ["Match", "MatchGroup", "MatchTally", "Segment", "group_instances", "iou_matrix", "match_instances"]


@dataclass(frozen=True)
class Match:
    """A matched pair of segments of annotators a and b."""

    a_id: Any
    b_id: Any
    iou: float
    a_category: int
    b_category: int

    @property
    def class_conflict(self) -> bool:
        """Same object, other class (only possible with class-agnostic matching)."""
        return self.a_category != self.b_category

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_id": self.a_id,
            "b_id": self.b_id,
            "iou": self.iou,
            "a_category": self.a_category,
            "b_category": self.b_category,
        }


@dataclass(frozen=True)
class MatchGroup:
    """Segments of different annotators that denote the same object (at most one per annotator).

    ``members`` is sorted by annotator; ``pair_ious`` holds the mask IoU of every pair
    of members, keyed ``(annotator_i, annotator_j)`` with ``annotator_i < annotator_j``.
    """

    members: tuple[tuple[str, Segment], ...]
    pair_ious: tuple[tuple[tuple[str, str], float], ...]

    @property
    def annotators(self) -> tuple[str, ...]:
        return tuple(annotator for annotator, _ in self.members)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return tuple(segment for _, segment in self.members)

    def segment(self, annotator: str) -> Segment | None:
        return next((s for a, s in self.members if a == annotator), None)

    @property
    def categories(self) -> tuple[int, ...]:
        """Distinct classes the members chose, sorted."""
        return tuple(sorted({s.category_id for _, s in self.members}))

    @property
    def class_conflict(self) -> bool:
        return len(self.categories) > 1

    @property
    def min_iou(self) -> float:
        """Lowest pairwise mask IoU; NaN for a single-member group."""
        return min((v for _, v in self.pair_ious), default=float("nan"))

    @property
    def mean_iou(self) -> float:
        """Mean pairwise mask IoU; NaN for a single-member group."""
        values = [v for _, v in self.pair_ious]
        return float(np.mean(values)) if values else float("nan")

    @property
    def box(self) -> masks.Box | None:
        """Half-open box around every member."""
        return masks.union_box(*(s.box for _, s in self.members))

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": {a: s.id for a, s in self.members},
            "categories": list(self.categories),
            "pair_ious": {f"{a}|{b}": v for (a, b), v in self.pair_ious},
            "box": list(self.box) if self.box else None,
        }


@dataclass(frozen=True)
class MatchTally:
    """Matches between annotators a and b: how many, their summed IoU, and what each side left unmatched.

    The one implementation of the matched-IoU measures; the callers decide what a match is
    (a group of :func:`group_instances`, a pair of :func:`match_instances`) and how a class
    conflict counts (an unmatched pair, or a match worth 0). Two summaries:

    - ``pq`` = ``iou_sum / (matched + ½·only_b + ½·only_a)`` with ``sq`` = ``iou_sum / matched``
      and ``rq`` = ``matched / (matched + ½·only_b + ½·only_a)``: panoptic quality, where a miss
      or an extra costs half (F1-style). ``sq`` is 0.0 with no match but something unmatched;
    - ``mean_iou`` = ``iou_sum / (matched + only_a + only_b)``: the mean matched IoU over every
      object either side drew, a miss or an extra counting 0 (Jaccard-style).

    Nothing on either side: every value is NaN.

    >>> tally = MatchTally.of([1.0, 0.5], a_total=3, b_total=2)
    >>> tally.only_a, tally.pq, tally.sq, tally.rq, tally.mean_iou
    (1, 0.6, 0.75, 0.8, 0.5)
    >>> MatchTally.of([], a_total=0, b_total=0).mean_iou
    nan
    """

    matched: int
    only_a: int
    only_b: int
    iou_sum: float

    @classmethod
    def of(cls, match_ious: Sequence[float], *, a_total: int, b_total: int) -> MatchTally:
        """The tally of ``match_ious`` (one IoU per match) out of ``a_total`` and ``b_total`` objects."""
        matched = len(match_ious)
        return cls(matched, a_total - matched, b_total - matched, float(sum(match_ious)))

    @property
    def pq(self) -> float:
        return _ratio(self.iou_sum, self._f1_denominator())

    @property
    def sq(self) -> float:
        if self.matched:
            return self.iou_sum / self.matched
        return 0.0 if self._f1_denominator() else math.nan

    @property
    def rq(self) -> float:
        return _ratio(self.matched, self._f1_denominator())

    @property
    def mean_iou(self) -> float:
        return _ratio(self.iou_sum, self.matched + self.only_a + self.only_b)

    def _f1_denominator(self) -> float:
        return self.matched + 0.5 * self.only_b + 0.5 * self.only_a


def iou_matrix(a: Sequence[Segment], b: Sequence[Segment]) -> npt.NDArray[np.float64]:
    """Mask IoU of every segment of ``a`` (rows) against every segment of ``b`` (columns).

    Pairs whose boxes do not overlap cost nothing (pycocotools skips them). An empty
    segment has IoU 0 with everything. Segments of different image sizes raise
    :class:`ShapeMismatchError`.
    """
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    _check_one_size([*a, *b])
    gts = [masks.to_pycocotools(s.rle) for s in a]
    dts = [masks.to_pycocotools(s.rle) for s in b]
    # pycocotools.iou(dt, gt) is (len(dt), len(gt)); IoU is symmetric for iscrowd = 0
    return np.asarray(_cocomask.iou(dts, gts, [0] * len(gts)), dtype=np.float64).reshape(len(b), len(a)).T


def match_instances(
    a: Sequence[Segment],
    b: Sequence[Segment],
    *,
    iou_threshold: float = 0.5,
    class_agnostic: bool = False,
) -> list[Match]:
    """One-to-one matches between two annotators' segments.

    Hungarian assignment maximising the total IoU over the pairs that can match
    (IoU >= ``iou_threshold`` and, unless ``class_agnostic``, the same class).
    Returns the matches sorted by (a's position, b's position) in the inputs.
    Empty input on either side gives no matches.
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise InvalidOptionError("iou_threshold", "a number in (0, 1]", iou_threshold)
    order_a, order_b = _canonical_order(a), _canonical_order(b)
    sorted_a, sorted_b = [a[i] for i in order_a], [b[j] for j in order_b]
    ious = iou_matrix(sorted_a, sorted_b)
    pairs = sorted(_assign(sorted_a, sorted_b, ious, iou_threshold, class_agnostic), key=lambda p: order_a[p[0]])
    return [
        Match(sorted_a[i].id, sorted_b[j].id, float(ious[i, j]), sorted_a[i].category_id, sorted_b[j].category_id)
        for i, j in pairs
    ]


def group_instances(
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    *,
    iou_threshold: float = 0.5,
    class_agnostic: bool = True,
) -> list[MatchGroup]:
    """Groups of segments that denote the same object, at most one per annotator.

    Every pair of annotators is matched (class-agnostic by default, so that a group
    can show a class conflict); matches are merged strongest first, and a merge that
    would give one annotator two segments in a group is skipped. Every segment ends
    in exactly one group (unmatched ones alone). Groups come sorted by position
    (top-left of their box), then by their members.
    """
    annotators = sorted(segments_by_annotator)
    ordered = {
        name: [segments_by_annotator[name][i] for i in _canonical_order(segments_by_annotator[name])]
        for name in annotators
    }
    nodes = [(name, index) for name in annotators for index in range(len(ordered[name]))]
    _check_one_size([s for name in annotators for s in ordered[name]])
    pair_iou: dict[tuple[tuple[str, int], tuple[str, int]], float] = {}
    edges: list[tuple[float, tuple[str, int], tuple[str, int]]] = []
    for first, second in itertools.combinations(annotators, 2):
        ious = iou_matrix(ordered[first], ordered[second])
        for i, j in zip(*np.nonzero(ious), strict=True):
            pair_iou[(first, int(i)), (second, int(j))] = float(ious[i, j])
        for i, j in _assign(ordered[first], ordered[second], ious, iou_threshold, class_agnostic):
            edges.append((float(ious[i, j]), (first, i), (second, j)))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    components = _merge_components(nodes, edges)
    groups = [_make_group(members, ordered, pair_iou) for members in components]
    return sorted(groups, key=_group_sort_key)


# --- internals -------------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0 (nothing to measure)."""
    return numerator / denominator if denominator else math.nan


def _check_one_size(segments: Sequence[Segment]) -> None:
    if not segments:
        return
    first = segments[0].size
    for other in segments[1:]:
        if other.size != first:
            raise ShapeMismatchError(first, other.size, annotation_id=other.id)


def _canonical_order(segments: Sequence[Segment]) -> list[int]:
    """Positions of ``segments`` sorted by content, so ties break the same way for any input order."""
    return sorted(
        range(len(segments)),
        key=lambda i: (segments[i].bbox, segments[i].category_id, segments[i].rle["counts"], str(segments[i].id)),
    )


def _assign(
    a: Sequence[Segment],
    b: Sequence[Segment],
    ious: npt.NDArray[np.float64],
    iou_threshold: float,
    class_agnostic: bool,
) -> list[tuple[int, int]]:
    """Hungarian assignment on ``ious``: the ``(row, column)`` pairs that are matches."""
    if ious.size == 0:
        return []
    gain = np.where(ious >= iou_threshold, ious, 0.0)
    if not class_agnostic:
        same = np.equal.outer([s.category_id for s in a], [s.category_id for s in b])
        gain = np.where(same, gain, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if gain[i, j] > 0.0]


def _merge_components(
    nodes: list[tuple[str, int]], edges: list[tuple[float, tuple[str, int], tuple[str, int]]]
) -> list[list[tuple[str, int]]]:
    """Union-find over ``edges`` (strongest first) refusing merges that repeat an annotator."""
    parent = {node: node for node in nodes}
    annotators_of = {node: {node[0]} for node in nodes}

    def root(node: tuple[str, int]) -> tuple[str, int]:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _, first, second in edges:
        ra, rb = root(first), root(second)
        if ra == rb or annotators_of[ra] & annotators_of[rb]:
            continue
        parent[rb] = ra
        annotators_of[ra] |= annotators_of.pop(rb)
    components: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for node in nodes:
        components.setdefault(root(node), []).append(node)
    return list(components.values())


def _make_group(
    members: list[tuple[str, int]],
    ordered: Mapping[str, Sequence[Segment]],
    pair_iou: Mapping[tuple[tuple[str, int], tuple[str, int]], float],
) -> MatchGroup:
    members = sorted(members)
    pairs = tuple(
        ((first[0], second[0]), pair_iou.get((first, second), 0.0))
        for first, second in itertools.combinations(members, 2)
    )
    return MatchGroup(tuple((name, ordered[name][index]) for name, index in members), pairs)


def _group_sort_key(group: MatchGroup) -> tuple[Any, ...]:
    region = group.box or (0, 0, 0, 0)
    return (region[1], region[0], region[3], region[2], [(a, str(s.id)) for a, s in group.members])
