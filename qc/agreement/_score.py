"""Score one image: :func:`score_image` and what is measured per image (pairs, annotators, semantic)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from qc import masks
from qc.agreement._groups import _GroupCrops, _leave_one_out, _score_group
from qc.agreement._results import AnnotatorAgreement, GroupAgreement, ImageAgreement, PairAgreement, SemanticAgreement
from qc.agreement._settings import AgreementSettings
from qc.core import Segment
from qc.errors import ShapeMismatchError
from qc.match import MatchGroup, MatchTally, group_instances
from qc.metrics import fleiss_kappa, krippendorff_alpha, panoptic_quality, per_class_iou
from qc.metrics._boundary import _band_width

__all__ = ["score_image"]


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
        left_out = _leave_one_out(raw, crops)
        group = _score_group(index, raw, crops, len(annotators), settings, height, width)
        groups.append(replace(group, leave_one_out=tuple(sorted(left_out.items()))))
        for annotator, value in left_out.items():
            loo[annotator].append(value)
    return ImageAgreement(
        image_id=image_id,
        height=height,
        width=width,
        annotators=annotators,
        groups=tuple(groups),
        pairs=_pair_scores(segments_by_annotator, groups, annotators, settings),
        annotator_scores=tuple(_annotator_score(a, loo[a], len(segments_by_annotator[a])) for a in annotators),
        consensus=tuple(c for c in (g.consensus_segment() for g in groups) if c is not None),
        semantic=_semantic(segments_by_annotator, annotators, height, width) if settings.task == "semantic" else None,
    )


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
        tally = MatchTally.of(tp_ious, a_total=len(segments_by_annotator[a]), b_total=len(segments_by_annotator[b]))
        out.append(PairAgreement(a, b, tally.pq, tally.sq, tally.rq, tally.matched, tally.only_b, tally.only_a))
    return tuple(out)


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
