"""Turn an image's agreement and guideline violations into findings and a verdict (DESIGN §5).

**The majority decides; an outlier is feedback, not a review.** Image-level findings
(``unsupported``, ``class_conflict``, ``guideline``) send the image on; annotator-level
findings (``missed``, ``extra``, ``outlier_shape``, ``class_outlier``, ``gold_mismatch``)
count in the annotator's scores and feedback only.

The verdict: no image-level finding → ``accepted`` (its consensus is stored); an
agreement finding while fewer than ``k_max`` annotators have labelled the image →
``escalate`` (adaptive overlap: one more annotator); otherwise → ``review``. A guideline
violation goes to review directly, since one more annotator cannot repair it.

A shape dispute that the annotators' measured reliability decides (consensus ``weighted`` /
``auto`` with ``k_max`` labels, :func:`qc.consensus.reliability_decides`) is no image-level
finding: :func:`qc.agreement.score_image` supports the object with the decider's boundary
(``GroupAgreement.decided_by``), and whoever drew it otherwise gets ``outlier_shape`` feedback.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from qc.agreement import AgreementSettings, GroupAgreement, GroupStatus, ImageAgreement, score_image
from qc.core import FindingLevel, Segment, Verdict
from qc.masks import Box
from qc.match import MatchTally
from qc.routing import escalation_verdict

__all__ = [
    "Assessment",
    "Finding",
    "FindingKind",
    "ViolationLike",
    "assess",
    "gold_findings",
    "gold_scores",
]


class FindingKind(StrEnum):
    UNSUPPORTED = "unsupported"
    CLASS_CONFLICT = "class_conflict"
    GUIDELINE = "guideline"
    MISSED = "missed"
    EXTRA = "extra"
    OUTLIER_SHAPE = "outlier_shape"
    CLASS_OUTLIER = "class_outlier"
    GOLD_MISMATCH = "gold_mismatch"


IMAGE_LEVEL = frozenset({FindingKind.UNSUPPORTED, FindingKind.CLASS_CONFLICT, FindingKind.GUIDELINE})


class ViolationLike(Protocol):
    """What :mod:`qc.checks` reports per failed rule (the seam between checks and flags)."""

    @property
    def rule(self) -> Any: ...

    @property
    def segment_id(self) -> Any: ...

    @property
    def bbox(self) -> Any: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class Finding:
    """A finding with its place: ``bbox`` is COCO ``(x, y, w, h)``; ``severity`` in [0, 1]."""

    kind: FindingKind
    level: FindingLevel
    bbox: tuple[int, int, int, int]
    annotators: tuple[str, ...]
    severity: float
    message: str
    group: int | None = None
    category_id: int | None = None
    segment_id: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "level": str(self.level),
            "bbox": list(self.bbox),
            "annotators": list(self.annotators),
            "severity": self.severity,
            "message": self.message,
            "group": self.group,
            "category_id": self.category_id,
            "segment_id": self.segment_id,
        }


@dataclass(frozen=True)
class Assessment:
    """Findings and verdict of one image."""

    image_id: Any
    findings: tuple[Finding, ...]
    verdict: Verdict
    labels_spent: int

    @property
    def image_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is FindingLevel.IMAGE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "verdict": str(self.verdict),
            "labels_spent": self.labels_spent,
            "findings": [f.to_dict() for f in self.findings],
        }


def assess(
    agreement: ImageAgreement,
    *,
    violations: Mapping[str, Sequence[ViolationLike]] | None = None,
    k_max: int | None = None,
    extra_findings: Iterable[Finding] = (),
    settled: bool = True,
) -> Assessment:
    """Findings of every group and violation, and the verdict (see the module docstring).

    ``violations`` maps annotator to their guideline violations on this image;
    ``k_max`` is the adaptive-overlap ceiling (``None``: never escalate);
    ``extra_findings`` adds e.g. :func:`gold_findings`; ``settled=False`` says that the
    annotators, should they agree, are not reliable enough to settle the image by themselves
    (:func:`qc.routing_policy.settles`): it escalates while fewer than ``k_max`` labelled it.
    """
    findings: list[Finding] = []
    for group in agreement.groups:
        findings.extend(_group_findings(group, agreement.annotators))
    for annotator, items in sorted((violations or {}).items()):
        findings.extend(_violation_finding(annotator, v) for v in items)
    findings.extend(extra_findings)
    return Assessment(
        image_id=agreement.image_id,
        findings=tuple(findings),
        verdict=_verdict(findings, labels=len(agreement.annotators), k_max=k_max, settled=settled),
        labels_spent=len(agreement.annotators),
    )


def gold_scores(
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    gold: Sequence[Segment],
    *,
    height: int,
    width: int,
    match_iou: float = 0.5,
) -> dict[str, float]:
    """Each annotator's agreement with the known answer (NaN when neither side has an object).

    The agreement is the mean, over the gold objects and the annotator's unmatched
    extras, of the matched IoU (0 for a miss, an extra or a class conflict), so both misses
    and extras count: :attr:`qc.match.MatchTally.mean_iou` of the groups :func:`score_image` finds.
    """
    settings = AgreementSettings(match_iou=match_iou, accept_iou=0.0, accept_boundary_iou=0.0)
    out = {}
    for annotator, segments in sorted(segments_by_annotator.items()):
        scored = score_image({"gold": gold, annotator: segments}, height=height, width=width, settings=settings)
        out[annotator] = _gold_tally(scored.groups, annotator).mean_iou
    return out


def gold_findings(
    segments_by_annotator: Mapping[str, Sequence[Segment]],
    gold: Sequence[Segment],
    *,
    height: int,
    width: int,
    gold_iou: float,
    match_iou: float = 0.5,
    scores: Mapping[str, float] | None = None,
) -> list[Finding]:
    """``gold_mismatch`` for every annotator whose :func:`gold_scores` value is below ``gold_iou``.

    ``scores`` passes the values when they are already computed.
    """
    if scores is None:
        scores = gold_scores(segments_by_annotator, gold, height=height, width=width, match_iou=match_iou)
    out = []
    for annotator, score in sorted(scores.items()):
        if not math.isnan(score) and score < gold_iou:
            out.append(
                Finding(
                    FindingKind.GOLD_MISMATCH,
                    FindingLevel.ANNOTATOR,
                    (0, 0, width, height),
                    (annotator,),
                    1.0 - score,
                    f"{annotator} scores {score:.3f} against the gold answer, below gold_iou {gold_iou}",
                )
            )
    return out


# --- internals -------------------------------------------------------------------------------------------


def _gold_tally(groups: Sequence[GroupAgreement], annotator: str) -> MatchTally:
    """Gold (side a) against ``annotator`` (side b): a group holding both is a match, worth its IoU
    when the classes agree and 0 when they do not; every other group is one side's alone."""
    both = [g for g in groups if len(g.members) == 2]
    ious = [g.pairs[0].iou if dict(g.categories)["gold"] == dict(g.categories)[annotator] else 0.0 for g in both]
    gold_only = sum(1 for g in groups if g.annotators == ("gold",))
    return MatchTally.of(ious, a_total=len(both) + gold_only, b_total=len(groups) - gold_only)


def _group_findings(group: GroupAgreement, annotators: tuple[str, ...]) -> list[Finding]:
    bbox = _coco_bbox(group.box)
    members = group.annotators
    category = group.category if group.category is not None else _first_class(group)
    make = _FindingMaker(group, bbox, category)
    if group.status is GroupStatus.UNSUPPORTED:
        best = max((p.iou for p in group.pairs), default=0.0)
        return [make(FindingKind.UNSUPPORTED, members, 1.0 - best, _unsupported_text(group, len(annotators)))]
    if group.status is GroupStatus.CLASS_CONFLICT:
        classes = ", ".join(f"{a}: {c}" for a, c in group.categories)
        return [
            make(
                FindingKind.CLASS_CONFLICT,
                group.supporters,
                1.0,
                f"annotators agree on the shape but not the class ({classes})",
            )
        ]
    if group.status is GroupStatus.ABSENT:
        return [
            make(
                FindingKind.EXTRA,
                (a,),
                1.0,
                f"{a} drew an object that {len(annotators) - len(members)} of {len(annotators)} annotators did not",
            )
            for a in members
        ]
    return _supported_findings(group, annotators, make)


def _supported_findings(group: GroupAgreement, annotators: tuple[str, ...], make: _FindingMaker) -> list[Finding]:
    drew = len(group.annotators if group.decided_by else group.supporters)
    out = [
        make(FindingKind.MISSED, (a,), 1.0, f"{a} missed an object that {drew} annotators drew")
        for a in annotators
        if a not in group.annotators
    ]
    categories = dict(group.categories)
    vs = {p.a: p for p in group.vs_consensus}
    for annotator in group.annotators:
        if categories[annotator] != group.category:
            out.append(
                make(
                    FindingKind.CLASS_OUTLIER,
                    (annotator,),
                    1.0,
                    f"{annotator} chose class {categories[annotator]}; the majority chose {group.category}",
                )
            )
        elif annotator not in group.supporters and annotator in vs:
            score = vs[annotator]
            out.append(
                make(
                    FindingKind.OUTLIER_SHAPE,
                    (annotator,),
                    1.0 - score.iou,
                    f"{annotator}'s mask has IoU {score.iou:.3f} and Boundary IoU {score.boundary_iou:.3f} "
                    "against the consensus"
                    + (
                        f" ({group.decided_by}'s boundary, measured much more reliable, decided the disputed shape)"
                        if group.decided_by
                        else ""
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class _FindingMaker:
    group: GroupAgreement
    bbox: tuple[int, int, int, int]
    category: int | None

    def __call__(self, kind: FindingKind, annotators: tuple[str, ...], severity: float, message: str) -> Finding:
        level = FindingLevel.IMAGE if kind in IMAGE_LEVEL else FindingLevel.ANNOTATOR
        members = dict(self.group.members)
        segment = members.get(annotators[0]) if len(annotators) == 1 else None
        return Finding(
            kind, level, self.bbox, annotators, _clamp(severity), message, self.group.index, self.category, segment
        )


def _violation_finding(annotator: str, violation: ViolationLike) -> Finding:
    bbox = tuple(int(v) for v in violation.bbox) if violation.bbox is not None else (0, 0, 0, 0)
    rule = getattr(violation.rule, "value", violation.rule)
    return Finding(
        FindingKind.GUIDELINE,
        FindingLevel.IMAGE,
        (bbox[0], bbox[1], bbox[2], bbox[3]),
        (annotator,),
        1.0,
        f"{annotator}: {rule}: {violation.message}",
        segment_id=violation.segment_id,
    )


def _verdict(findings: Sequence[Finding], *, labels: int, k_max: int | None, settled: bool = True) -> Verdict:
    """The escalation rule of :mod:`qc.routing`: image-level findings disagree; a guideline one cannot be repaired."""
    image_level = [f for f in findings if f.level is FindingLevel.IMAGE]
    return escalation_verdict(
        labels,
        agreed=not image_level,
        k_max=k_max,
        repairable=all(f.kind is not FindingKind.GUIDELINE for f in image_level),
        settled=settled,
    )


def _unsupported_text(group: GroupAgreement, k: int) -> str:
    if len(group.members) * 2 <= k and len(group.members) > 0 and k - len(group.members) < k // 2 + 1:
        return f"{len(group.members)} of {k} annotators drew this object: no majority for or against it"
    return f"no majority agrees on this object's shape (lowest pair IoU {group.min_iou:.3f})"


def _first_class(group: GroupAgreement) -> int | None:
    return group.categories[0][1] if group.categories else None


def _coco_bbox(region: Box) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    return x0, y0, x1 - x0, y1 - y0


def _clamp(value: float) -> float:
    return 1.0 if math.isnan(value) else min(1.0, max(0.0, value))
