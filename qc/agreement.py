"""Score one image: match groups, pairwise agreement, support, consensus, leave-one-out.

:func:`score_image` takes every annotator's segments of one image and returns an
:class:`ImageAgreement` (a frozen dataclass, no database, no Prefect). What is
measured, per DESIGN §4–§5:

- **groups** (:func:`qc.match.group_instances`, class-agnostic so that class conflicts
  show): every pair of members' mask IoU and Boundary IoU, their lowest and mean;
- **support**: with k annotators, a majority m = ⌊k/2⌋ + 1 must hold the object and
  agree pairwise (IoU ≥ ``accept_iou`` and Boundary IoU ≥ ``accept_boundary_iou``);
  the largest such set of members are the *supporters*, and a majority of them must
  share a class. A group is ``supported``, ``class_conflict`` (shape agreed, class
  not), ``absent`` (a majority of annotators did not draw it: an extra object) or
  ``unsupported`` (neither presence nor absence has a majority, or the shapes
  disagree);
- **consensus** of a supported group from its supporters only (majority vote, or STAPLE);
- each member's IoU / Boundary IoU against that consensus;
- each annotator's **leave-one-out** agreement: per object they and others drew, the IoU of
  their mask with the majority vote of the *other* annotators' masks, averaged (shape
  agreement; misses and extras are the ``missed`` / ``extra`` findings);
- per annotator pair: PQ / SQ / RQ (panopticapi rules for panoptic projects; for instance
  projects TP = a pair in one group with the same class and IoU ≥ ``match_iou``);
- semantic projects: per-class IoU per pair, Fleiss' kappa and Krippendorff's alpha over pixels.

Everything per group runs on one crop around the group (its box grown by the boundary
band + 2), decoded once; nothing is painted into a full frame except the label maps of
semantic projects, whose pixel-level kappa needs them.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from qc import consensus as _consensus
from qc import masks
from qc.core import Segment
from qc.errors import QCError, ShapeMismatchError
from qc.masks import RLE, Box
from qc.match import MatchGroup, group_instances
from qc.metrics import fleiss_kappa, krippendorff_alpha, panoptic_quality, per_class_iou
from qc.metrics._boundary import _band_from_column_erosion, _band_width, _inner_band

__all__ = [
    "AgreementSettings",
    "AnnotatorAgreement",
    "ConsensusSegment",
    "GroupAgreement",
    "GroupStatus",
    "ImageAgreement",
    "PairAgreement",
    "SemanticAgreement",
    "score_image",
]

BoolArray = npt.NDArray[np.bool_]


class GroupStatus(StrEnum):
    SUPPORTED = "supported"
    CLASS_CONFLICT = "class_conflict"
    ABSENT = "absent"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class AgreementSettings:
    """Thresholds of one scoring run; every value is a guideline setting (DESIGN §4–§5)."""

    task: str = "instance"
    match_iou: float = 0.5
    accept_iou: float = 0.75
    accept_boundary_iou: float = 0.5
    dilation_ratio: float = 0.02
    consensus_method: str = "majority"
    strict_majority: bool = False
    stuff_classes: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.task not in ("semantic", "instance", "panoptic"):
            raise QCError(f"task must be one of semantic, instance, panoptic; got {self.task!r}", field="task")
        if self.consensus_method not in ("majority", "staple"):
            raise QCError(
                f"consensus method must be one of majority, staple; got {self.consensus_method!r}",
                field="consensus.method",
            )
        for name in ("match_iou", "accept_iou", "accept_boundary_iou"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise QCError(f"{name} must be within [0, 1]; got {value}", field=name)


@dataclass(frozen=True)
class PairScore:
    """Mask IoU and Boundary IoU of two members of a group."""

    a: str
    b: str
    iou: float
    boundary_iou: float


@dataclass(frozen=True)
class GroupAgreement:
    """One object as the annotators drew it, and whether a majority supports it."""

    index: int
    members: tuple[tuple[str, Any], ...]
    categories: tuple[tuple[str, int], ...]
    box: Box
    pairs: tuple[PairScore, ...]
    status: GroupStatus
    supporters: tuple[str, ...]
    category: int | None
    consensus: RLE | None = field(repr=False)
    vs_consensus: tuple[PairScore, ...]
    consensus_area: int = 0
    consensus_bbox: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def annotators(self) -> tuple[str, ...]:
        return tuple(a for a, _ in self.members)

    @property
    def min_iou(self) -> float:
        return min((p.iou for p in self.pairs), default=math.nan)

    @property
    def mean_iou(self) -> float:
        return float(np.mean([p.iou for p in self.pairs])) if self.pairs else math.nan

    @property
    def min_boundary_iou(self) -> float:
        return min((p.boundary_iou for p in self.pairs), default=math.nan)

    @property
    def mean_boundary_iou(self) -> float:
        return float(np.mean([p.boundary_iou for p in self.pairs])) if self.pairs else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "members": dict(self.members),
            "categories": dict(self.categories),
            "box": list(self.box),
            "status": str(self.status),
            "supporters": list(self.supporters),
            "category": self.category,
            "min_iou": self.min_iou,
            "mean_iou": self.mean_iou,
            "min_boundary_iou": self.min_boundary_iou,
            "mean_boundary_iou": self.mean_boundary_iou,
            "pairs": [vars(p) for p in self.pairs],
            "vs_consensus": [vars(p) for p in self.vs_consensus],
        }


@dataclass(frozen=True)
class PairAgreement:
    """PQ / SQ / RQ between two annotators (``a`` the reference for panoptic VOID rules)."""

    a: str
    b: str
    pq: float
    sq: float
    rq: float
    tp: int
    fp: int
    fn: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class AnnotatorAgreement:
    """One annotator's agreement with the others on this image (NaN when no object to compare)."""

    annotator: str
    loo_iou: float
    objects: int
    segments: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class SemanticAgreement:
    """Pixel-level agreement of semantic projects; ``classes`` orders the per-class values."""

    classes: tuple[int, ...]
    per_class_iou: tuple[tuple[tuple[str, str], tuple[float, ...]], ...]
    fleiss_kappa: float
    krippendorff_alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "per_class_iou": {f"{a}|{b}": list(v) for (a, b), v in self.per_class_iou},
            "fleiss_kappa": self.fleiss_kappa,
            "krippendorff_alpha": self.krippendorff_alpha,
        }


@dataclass(frozen=True)
class ConsensusSegment:
    """The accepted label of one supported object."""

    group: int
    category_id: int
    rle: RLE = field(repr=False)
    supporters: tuple[str, ...]
    area: int = 0
    bbox: tuple[int, int, int, int] = (0, 0, 0, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "category_id": self.category_id,
            "rle": dict(self.rle),
            "supporters": list(self.supporters),
            "area": self.area,
            "bbox": list(self.bbox),
        }


@dataclass(frozen=True)
class ImageAgreement:
    """Everything measured on one image."""

    image_id: Any
    height: int
    width: int
    annotators: tuple[str, ...]
    groups: tuple[GroupAgreement, ...]
    pairs: tuple[PairAgreement, ...]
    annotator_scores: tuple[AnnotatorAgreement, ...]
    consensus: tuple[ConsensusSegment, ...]
    semantic: SemanticAgreement | None = None

    @property
    def majority(self) -> int:
        return len(self.annotators) // 2 + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "height": self.height,
            "width": self.width,
            "annotators": list(self.annotators),
            "groups": [g.to_dict() for g in self.groups],
            "pairs": [p.to_dict() for p in self.pairs],
            "annotator_scores": [s.to_dict() for s in self.annotator_scores],
            "consensus": [c.to_dict() for c in self.consensus],
            "semantic": self.semantic.to_dict() if self.semantic else None,
        }


def score_image(
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    *,
    height: int,
    width: int,
    image_id: Any = None,
    settings: AgreementSettings | None = None,
) -> ImageAgreement:
    """Score one image annotated by k ≥ 1 annotators (an annotator with no segments still counts).

    >>> import numpy as np
    >>> from qc import masks
    >>> def square(x, s=6):
    ...     m = np.zeros((40, 40), bool); m[10:10 + s, x:x + s] = True
    ...     return masks.encode(m)
    >>> result = score_image(
    ...     {"ann": [Segment(1, 1, square(5))], "bob": [Segment(2, 1, square(5))], "cy": []}, height=40, width=40
    ... )
    >>> [(g.status.value, g.supporters) for g in result.groups]
    [('supported', ('ann', 'bob'))]
    >>> [(s.annotator, s.loo_iou, s.objects) for s in result.annotator_scores]
    [('ann', 1.0, 1), ('bob', 1.0, 1), ('cy', nan, 0)]
    """
    settings = settings or AgreementSettings()
    annotators = tuple(sorted(segments_by_annotator))
    _check_sizes(segments_by_annotator, height, width)
    d = _band_width(height, width, settings.dilation_ratio)
    if settings.task == "semantic":
        raw_groups = _class_groups(segments_by_annotator, height, width)
    else:
        raw_groups = group_instances(segments_by_annotator, iou_threshold=settings.match_iou)
    groups: list[GroupAgreement] = []
    loo: dict[str, list[float]] = {a: [] for a in annotators}
    for index, raw in enumerate(raw_groups):
        crops = _GroupCrops.build(raw, d, height, width)
        groups.append(_score_group(index, raw, crops, len(annotators), settings, height, width))
        for annotator, value in _leave_one_out(raw, crops).items():
            loo[annotator].append(value)
    return ImageAgreement(
        image_id=image_id,
        height=height,
        width=width,
        annotators=annotators,
        groups=tuple(groups),
        pairs=_pair_scores(segments_by_annotator, groups, annotators, settings),
        annotator_scores=tuple(_annotator_score(a, loo[a], len(segments_by_annotator[a])) for a in annotators),
        consensus=tuple(
            ConsensusSegment(g.index, g.category, g.consensus, g.supporters, g.consensus_area, g.consensus_bbox)
            for g in groups
            if g.status is GroupStatus.SUPPORTED and g.consensus is not None and g.category is not None
        ),
        semantic=_semantic(segments_by_annotator, annotators, height, width) if settings.task == "semantic" else None,
    )


# --- per group -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _GroupCrops:
    """Every member of a group decoded once in one region, with its boundary band."""

    region: Box
    rles: dict[str, RLE]
    masks: dict[str, BoolArray]
    bands: dict[str, BoolArray]
    d: int

    @classmethod
    def build(cls, group: MatchGroup, d: int, height: int, width: int) -> _GroupCrops:
        # bands are computed on each mask's tight box (exact), so the region needs no band margin
        region = masks.grow_box(group.box or (0, 0, 0, 0), 1, height, width)
        crops, bands = {}, {}
        for annotator, segment in group.members:
            crops[annotator] = mask = segment.mask_in(region)
            if min(segment.bbox[2], segment.bbox[3]) <= 2 * d:  # erodes to nothing: all of it is band
                bands[annotator] = mask
                continue
            vertical = masks.column_eroded_crop(segment.rle, region, d)
            bands[annotator] = _band_from_column_erosion(mask, vertical, d)
        rles = {a: s.rle for a, s in group.members}
        return cls(region, rles, crops, bands, d)

    def empty(self) -> BoolArray:
        x0, y0, x1, y1 = self.region
        return np.zeros((y1 - y0, x1 - x0), dtype=bool)

    def score(
        self, first: BoolArray, second: BoolArray, first_band: BoolArray, second_band: BoolArray
    ) -> tuple[float, float]:
        return _ratio(first, second), _ratio(first_band, second_band)


def _score_group(
    index: int, group: MatchGroup, crops: _GroupCrops, k: int, settings: AgreementSettings, height: int, width: int
) -> GroupAgreement:
    members = group.annotators
    pairs = tuple(
        PairScore(a, b, *crops.score(crops.masks[a], crops.masks[b], crops.bands[a], crops.bands[b]))
        for a, b in itertools.combinations(members, 2)
    )
    categories = {a: s.category_id for a, s in group.members}
    status, supporters, category = _support(members, pairs, categories, k, settings)
    consensus_crop = _consensus_crop(crops, supporters, settings) if supporters else None
    vs_consensus: tuple[PairScore, ...] = ()
    consensus_rle = None
    consensus_area, consensus_bbox = 0, (0, 0, 0, 0)
    if consensus_crop is not None:
        band = _inner_band(consensus_crop, crops.d)
        vs_consensus = tuple(
            PairScore(a, "consensus", *crops.score(crops.masks[a], consensus_crop, crops.bands[a], band))
            for a in members
        )
        consensus_rle = masks.paste(consensus_crop, crops.region, height, width)
        consensus_area, consensus_bbox = _area_and_bbox(consensus_crop, crops.region)
    x0, y0, x1, y1 = group.box or (0, 0, 0, 0)
    return GroupAgreement(
        index=index,
        members=tuple((a, s.id) for a, s in group.members),
        categories=tuple(sorted(categories.items())),
        box=(x0, y0, x1, y1),
        pairs=pairs,
        status=status,
        supporters=supporters,
        category=category,
        consensus=consensus_rle if status is GroupStatus.SUPPORTED else None,
        vs_consensus=vs_consensus,
        consensus_area=consensus_area,
        consensus_bbox=consensus_bbox,
    )


def _support(
    members: tuple[str, ...],
    pairs: tuple[PairScore, ...],
    categories: Mapping[str, int],
    k: int,
    settings: AgreementSettings,
) -> tuple[GroupStatus, tuple[str, ...], int | None]:
    """The majority rule of DESIGN §5: who supports the object, and with which class."""
    majority = k // 2 + 1
    agree = {
        (p.a, p.b)
        for p in pairs
        if p.iou >= settings.accept_iou and _at_least(p.boundary_iou, settings.accept_boundary_iou)
    }
    shape_set = _largest_agreeing_set(members, agree)
    if len(shape_set) < majority:
        if k - len(members) >= majority:
            return GroupStatus.ABSENT, (), None
        return GroupStatus.UNSUPPORTED, shape_set, None
    votes = Counter(categories[a] for a in shape_set)
    category, count = min(votes.items(), key=lambda item: (-item[1], item[0]))
    if count < majority:
        return GroupStatus.CLASS_CONFLICT, shape_set, None
    return GroupStatus.SUPPORTED, tuple(a for a in shape_set if categories[a] == category), category


def _largest_agreeing_set(members: tuple[str, ...], agree: set[tuple[str, str]]) -> tuple[str, ...]:
    """The largest set of members agreeing pairwise (k is small: subsets, largest first, then by name)."""
    for size in range(len(members), 1, -1):
        for subset in itertools.combinations(members, size):
            if all(pair in agree for pair in itertools.combinations(subset, 2)):
                return subset
    return members[:1]


def _consensus_crop(crops: _GroupCrops, supporters: tuple[str, ...], settings: AgreementSettings) -> BoolArray:
    stack = [crops.masks[a] for a in supporters]
    if settings.consensus_method == "staple" and len(stack) > 1:
        # on the full-image masks, so the prior is SimpleITK's (mean foreground over the whole image)
        result = _consensus.staple([crops.rles[a] for a in supporters])
        return masks.crop(result.consensus, crops.region)
    votes = np.sum(stack, axis=0)
    if settings.strict_majority:
        return np.asarray(2 * votes > len(stack))
    return np.asarray(votes >= math.ceil(len(stack) / 2))


def _leave_one_out(group: MatchGroup, crops: _GroupCrops) -> dict[str, float]:
    """Per annotator who drew this object: IoU of their mask with the majority vote of the others' masks.

    Only objects that both the annotator and the others drew count: this is shape
    agreement; misses and extras are counted apart (``missed`` / ``extra`` findings).
    """
    out: dict[str, float] = {}
    for annotator in group.annotators:
        others = [crops.masks[a] for a in group.annotators if a != annotator]
        if others:
            reference = np.sum(others, axis=0) >= math.ceil(len(others) / 2)
            out[annotator] = _ratio(crops.masks[annotator], reference)
    return out


# --- per image -------------------------------------------------------------------------------------------


def _pair_scores(
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    groups: Sequence[GroupAgreement],
    annotators: tuple[str, ...],
    settings: AgreementSettings,
) -> tuple[PairAgreement, ...]:
    out = []
    for a, b in itertools.combinations(annotators, 2):
        if settings.task == "panoptic":
            out.append(_panoptic_pair(a, b, segments_by_annotator, settings))
            continue
        tp_ious = [
            p.iou
            for g in groups
            for p in g.pairs
            if (p.a, p.b) == (a, b) and p.iou >= settings.match_iou and dict(g.categories)[a] == dict(g.categories)[b]
        ]
        tp = len(tp_ious)
        fp = len(segments_by_annotator[b]) - tp
        fn = len(segments_by_annotator[a]) - tp
        out.append(_pq(a, b, sum(tp_ious), tp, fp, fn))
    return tuple(out)


def _pq(a: str, b: str, iou_sum: float, tp: int, fp: int, fn: int) -> PairAgreement:
    denominator = tp + 0.5 * fp + 0.5 * fn
    pq = iou_sum / denominator if denominator else math.nan
    sq = iou_sum / tp if tp else (0.0 if denominator else math.nan)
    rq = tp / denominator if denominator else math.nan
    return PairAgreement(a, b, pq, sq, rq, tp, fp, fn)


def _panoptic_pair(
    a: str, b: str, segments_by_annotator: Mapping[str, Sequence[Segment]], settings: AgreementSettings
) -> PairAgreement:
    classes = {s.category_id for name in (a, b) for s in segments_by_annotator[name]}
    categories = [{"id": c, "name": str(c), "isthing": c not in settings.stuff_classes} for c in sorted(classes)]
    result = panoptic_quality(segments_by_annotator[a], segments_by_annotator[b], categories)
    stats = result.per_class.values()
    tp, fp, fn = (sum(getattr(s, name) for s in stats) for name in ("tp", "fp", "fn"))
    if result.all is None:
        return PairAgreement(a, b, math.nan, math.nan, math.nan, tp, fp, fn)
    return PairAgreement(a, b, result.all.pq, result.all.sq, result.all.rq, tp, fp, fn)


def _annotator_score(annotator: str, values: list[float], segments: int) -> AnnotatorAgreement:
    ious = [v for v in values if not math.isnan(v)]
    return AnnotatorAgreement(
        annotator=annotator,
        loo_iou=float(np.mean(ious)) if ious else math.nan,
        objects=len(values),
        segments=segments,
    )


def _class_groups(segments_by_annotator: Mapping[str, Sequence[Segment]], height: int, width: int) -> list[MatchGroup]:
    """Semantic projects: one group per class, each annotator's segments of that class merged."""
    by_class: dict[int, list[tuple[str, Segment]]] = {}
    for annotator in sorted(segments_by_annotator):
        per_class: dict[int, list[Segment]] = {}
        for segment in segments_by_annotator[annotator]:
            per_class.setdefault(segment.category_id, []).append(segment)
        for category, parts in sorted(per_class.items()):
            rle = parts[0].rle if len(parts) == 1 else masks.merge([p.rle for p in parts])
            by_class.setdefault(category, []).append((annotator, Segment(parts[0].id, category, rle)))
    return [MatchGroup(tuple(members), ()) for _, members in sorted(by_class.items())]


def _semantic(
    segments_by_annotator: Mapping[str, Sequence[Segment]], annotators: tuple[str, ...], height: int, width: int
) -> SemanticAgreement:
    classes = tuple(sorted({s.category_id for segs in segments_by_annotator.values() for s in segs}))
    index = {c: i + 1 for i, c in enumerate(classes)}  # 0 = unlabeled
    maps = {}
    for annotator in annotators:
        label = np.zeros((height, width), dtype=np.int64)
        for segment in segments_by_annotator[annotator]:
            label[masks.decode(segment.rle)] = index[segment.category_id]
        maps[annotator] = label
    pairs = tuple(
        ((a, b), tuple(float(v) for v in per_class_iou(maps[a], maps[b], len(classes) + 1)[1:]))
        for a, b in itertools.combinations(annotators, 2)
    )
    stack = [maps[a] for a in annotators]
    many = len(stack) > 1
    return SemanticAgreement(
        classes=classes,
        per_class_iou=pairs,
        fleiss_kappa=fleiss_kappa(stack) if many else math.nan,
        krippendorff_alpha=krippendorff_alpha(stack) if many else math.nan,
    )


def _check_sizes(segments_by_annotator: Mapping[str, Sequence[Segment]], height: int, width: int) -> None:
    for annotator, segments in segments_by_annotator.items():
        for segment in segments:
            if segment.size != (height, width):
                raise ShapeMismatchError((height, width), segment.size, annotation_id=segment.id, field=annotator)


def _area_and_bbox(crop: BoolArray, region: Box) -> tuple[int, tuple[int, int, int, int]]:
    """Area and COCO bbox of a crop placed at ``region`` (no RLE parsing)."""
    rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if rows.size == 0:
        return 0, (0, 0, 0, 0)
    x, y = region[0] + int(cols[0]), region[1] + int(rows[0])
    return int(np.count_nonzero(crop)), (x, y, int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1)


def _ratio(first: BoolArray, second: BoolArray) -> float:
    union = int(np.count_nonzero(first | second))
    return int(np.count_nonzero(first & second)) / union if union else math.nan


def _at_least(value: float, limit: float) -> bool:
    return math.isnan(value) or value >= limit
