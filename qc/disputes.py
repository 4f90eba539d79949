"""Disputes of one image: each reason it is in review, tied to one object or place (DESIGN §1, :mod:`qc.review`).

Pure: an image's agreement and assessment (and the segments they were computed from) in,
frozen :class:`DisputeSpec` s out. Findings that land on one object (an unsupported or
class-conflict group, and guideline findings on a segment of that group) make ONE dispute,
their reasons joined, so that one resolution decides one object. A guideline finding on a
segment no group holds, or on no segment at all, is a dispute about a place.

Each dispute carries every annotator's version of the object (``None``: did not draw it), the
fused candidate — fused as the consensus fuses (:func:`qc.fusion.majority_fusion`: of two versions
their shape average, else their majority), on the crop around
the object, so there is no second vote rule — and the IoU of each pair of versions and of each
version to the fused one. Order: kind (``unsupported``, ``class_conflict``, ``guideline``),
then bbox; ``index`` counts from 1 in that order.

>>> import numpy as np
>>> from qc.agreement import score_image
>>> from qc.core import Segment
>>> from qc.flags import assess
>>> def square(x, s=6):
...     m = np.zeros((20, 20), bool); m[2:2 + s, x:x + s] = True; return m
>>> drawn = {"ana": [Segment(1, 1, square(2))], "bo": [Segment(2, 1, square(3))], "cy": [Segment(3, 1, square(12))]}
>>> agreement = score_image(drawn, height=20, width=20)
>>> (dispute,) = find_disputes(agreement, assess(agreement), drawn)
>>> dispute.kind, dispute.bbox, [v.segment_id for v in dispute.versions], masks.area(dispute.fused)
('unsupported', (2, 2, 7, 6), [1, 2, None], 42)
>>> [(a, b, round(iou, 3)) for a, b, iou in dispute.pairwise]
[('ana', 'bo', 0.714)]
>>> [v.iou_to_fused and round(v.iou_to_fused, 3) for v in dispute.versions]
[0.857, 0.857, None]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from qc import masks
from qc.agreement import GroupAgreement, GroupStatus, ImageAgreement
from qc.core import FindingLevel, Segment
from qc.flags import Assessment, Finding, FindingKind
from qc.fusion import majority_fusion
from qc.masks import RLE, Box

__all__ = ["DISPUTE_KINDS", "DisputeSpec", "VersionSpec", "find_disputes"]

DISPUTE_KINDS = ("unsupported", "class_conflict", "guideline")
"""The kinds of dispute, in the order an item numbers them."""


@dataclass(frozen=True)
class VersionSpec:
    """One annotator's version of a disputed object: ``segment_id`` ``None`` when they did not draw it."""

    annotator: str
    segment_id: Any
    category_id: int | None
    rle: RLE | None
    iou_to_fused: float | None


@dataclass(frozen=True)
class DisputeSpec:
    """One dispute before it is stored: ``bbox`` COCO ``(x, y, w, h)``; ``replaces`` the consensus it stands on."""

    index: int
    kind: str
    reason: str
    category_id: int | None
    bbox: tuple[int, int, int, int]
    versions: tuple[VersionSpec, ...]
    fused: RLE | None
    pairwise: tuple[tuple[str, str, float], ...]
    replaces: RLE | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "reason": self.reason,
            "category_id": self.category_id,
            "bbox": list(self.bbox),
            "versions": [
                {"annotator": v.annotator, "segment_id": v.segment_id, "iou_to_fused": v.iou_to_fused}
                for v in self.versions
            ],
            "pairwise": [list(p) for p in self.pairwise],
        }


def find_disputes(
    agreement: ImageAgreement,
    assessment: Assessment,
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    *,
    annotators: Sequence[str] | None = None,
) -> list[DisputeSpec]:
    """The disputes of one image, numbered (see the module docstring).

    ``annotators`` lists everyone whose version is shown (default: the agreement's); an
    annotator without a segment on the object is listed with ``segment_id`` ``None``.
    """
    people = tuple(annotators if annotators is not None else agreement.annotators)
    groups = {g.index: g for g in agreement.groups}
    owner = {(a, sid): g.index for g in agreement.groups for a, sid in g.members}
    merged: dict[Any, list[Finding]] = {}
    for position, finding in enumerate(f for f in assessment.findings if f.level is FindingLevel.IMAGE):
        key: Any = ("place", position)
        if finding.group is not None and finding.kind is not FindingKind.GUIDELINE:
            key = finding.group
        elif finding.segment_id is not None and len(finding.annotators) == 1:
            key = owner.get((finding.annotators[0], finding.segment_id), key)
        merged.setdefault(key, []).append(finding)
    lookup = {(a, s.id): s for a, segments in segments_by_annotator.items() for s in segments}
    built = []
    for key, findings in merged.items():
        if isinstance(key, int):
            built.append(_object_dispute(groups[key], findings, people, lookup, (agreement.height, agreement.width)))
        else:
            built.append(_place_dispute(findings[0], people, lookup))
    built.sort(key=lambda d: (DISPUTE_KINDS.index(d.kind), d.bbox))
    return [replace(d, index=i) for i, d in enumerate(built, start=1)]


def _kind(findings: Sequence[Finding]) -> str:
    return min((str(f.kind) for f in findings), key=DISPUTE_KINDS.index)


def _reason(findings: Sequence[Finding]) -> str:
    return "; ".join(dict.fromkeys(f.message for f in findings))


def _object_dispute(
    group: GroupAgreement,
    findings: Sequence[Finding],
    people: Sequence[str],
    lookup: Mapping[tuple[str, Any], Segment],
    size: tuple[int, int],
) -> DisputeSpec:
    """A dispute about one match group: its versions, their majority (the fused candidate), their IoUs."""
    height, width = size
    region: Box = masks.grow_box(group.box, 1, height, width)
    drawn = dict(group.members)
    rles = {a: lookup[(a, sid)].rle for a, sid in group.members if (a, sid) in lookup}
    crops = {a: masks.crop(rles[a], region) for a in group.annotators if a in rles}
    fused_crop = majority_fusion(list(crops.values())) if crops else None
    categories = dict(group.categories)
    versions = tuple(
        VersionSpec(
            a,
            drawn.get(a),
            categories.get(a),
            rles.get(a),
            _iou(crops[a], fused_crop) if a in crops and fused_crop is not None else None,
        )
        for a in people
    )
    fused = None if fused_crop is None else masks.paste(fused_crop, region, height, width)
    x0, y0, x1, y1 = group.box
    replaces = group.consensus if group.status is GroupStatus.SUPPORTED else None
    pairwise = tuple((p.a, p.b, p.iou) for p in group.pairs)
    category = _common_class(categories.values())
    return DisputeSpec(
        0, _kind(findings), _reason(findings), category, (x0, y0, x1 - x0, y1 - y0), versions, fused, pairwise, replaces
    )


def _place_dispute(finding: Finding, people: Sequence[str], lookup: Mapping[tuple[str, Any], Segment]) -> DisputeSpec:
    """A guideline finding on no object a group holds: the one annotator's segment, if the rule names one."""
    who = finding.annotators[0] if finding.annotators else None
    segment = lookup.get((who, finding.segment_id)) if who is not None and finding.segment_id is not None else None
    versions = tuple(
        VersionSpec(a, segment.id, segment.category_id, segment.rle, None)
        if segment is not None and a == who
        else VersionSpec(a, None, None, None, None)
        for a in people
    )
    category = finding.category_id if finding.category_id is not None else (segment.category_id if segment else None)
    fused = segment.rle if segment is not None else None
    return DisputeSpec(0, str(finding.kind), finding.message, category, finding.bbox, versions, fused, ())


def _common_class(categories: Any) -> int | None:
    votes = Counter(categories)
    if not votes:
        return None
    return min(votes.items(), key=lambda item: (-item[1], item[0]))[0]


def _iou(first: Any, second: Any) -> float | None:
    union = int((first | second).sum())
    value = int((first & second).sum()) / union if union else math.nan
    return None if math.isnan(value) else value
