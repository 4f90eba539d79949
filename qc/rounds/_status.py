"""Status: where a round stands, each annotator's agreement so far, and which deliveries lost annotations."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from qc.core import Verdict
from qc.errors import place
from qc.rounds._reliability import round_paused
from qc.store import models as m
from qc.store.api import get_row
from qc.store.disputes import resolution_counts
from qc.store.results import FlagRef, annotator_scores, image_inputs, list_image_results, round_flags
from qc.store.rounds import list_people, open_review_count, round_images
from qc.store.submissions import RejectionRef, current_rejections

__all__ = ["ImageRejections", "RoundStatus", "image_rejections", "round_status"]

SHOWN_MESSAGES = 3
"""How many of a delivery's rejection messages the status quotes (the count says how many there are)."""


@dataclass(frozen=True)
class ImageRejections:
    """What one annotator's delivery of one image lost: the image waits until a complete delivery replaces it.

    ``submission_id`` is the incomplete submission, ``None`` when the image itself was refused
    (e.g. delivered at another size); ``messages`` quotes the first few rejections, each with its
    place (``annotation 7, field 'category_id': ...``).
    """

    image_id: int
    file_name: str
    annotator: str
    submission_id: int | None
    count: int
    fields: tuple[str, ...]
    messages: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "fields": list(self.fields), "messages": list(self.messages)}


@dataclass(frozen=True)
class RoundStatus:
    """Where a round stands, and each annotator's agreement so far."""

    round_id: int
    name: str | None
    status: str
    images: int
    assignments: int
    delivered: int
    incomplete: int
    verdicts: Mapping[str, int]
    findings: Mapping[str, int]
    review_pending: int
    labels_per_accepted: float
    annotators: Mapping[str, Mapping[str, float | int | None]]
    rejections: tuple[ImageRejections, ...] = ()
    resolutions: Mapping[str, int] = field(default_factory=dict)
    """The round's disputes resolved so far, by resolution kind."""
    paused: Mapping[str, int] = field(default_factory=dict)
    """Annotators paused for failing gold (``gold.pause_after_failures``), with their gold failures."""

    def to_dict(self) -> dict[str, Any]:
        plain = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in vars(self).items()}
        return {**plain, "rejections": [r.to_dict() for r in self.rejections]}


def round_status(session: Session, *, round_id: int) -> RoundStatus:
    """Counts of a round's work and verdicts, per annotator mean leave-one-out agreement, and what waits why.

    ``delivered`` counts complete submissions; ``incomplete`` the latest submissions whose image
    lost annotations to rejections (not scored: they wait like undelivered ones); ``rejections``
    says per image and annotator what was lost.
    """
    round_row = get_row(session, m.Round, round_id)
    inputs = image_inputs(session, round_id=round_id)
    results = list_image_results(session, round_id=round_id)
    verdicts = Counter(r.verdict for r in results)
    flags = round_flags(session, round_id=round_id)
    accepted = [r.labels_spent for r in results if r.verdict == Verdict.ACCEPTED.value]
    return RoundStatus(
        round_id=round_id,
        name=round_row.name,
        status=round_row.status,
        images=len(inputs),
        assignments=sum(len(i.assigned) for i in inputs.values()),
        delivered=sum(1 for i in inputs.values() for s in i.submissions if s.complete),
        incomplete=sum(1 for i in inputs.values() for s in i.submissions if not s.complete),
        verdicts=dict(verdicts),
        findings=dict(Counter(f.kind for f in flags)),
        review_pending=open_review_count(session, round_id=round_id),
        labels_per_accepted=sum(accepted) / len(accepted) if accepted else math.nan,
        annotators=_annotator_table(session, round_id, flags),
        resolutions=resolution_counts(session, round_id=round_id),
        rejections=image_rejections(session, round_id=round_id),
        paused=round_paused(session, round_id=round_id),
    )


def image_rejections(
    session: Session, *, round_id: int, image_ids: Sequence[int] | None = None
) -> tuple[ImageRejections, ...]:
    """Per image and annotator of a round (or of ``image_ids``), the rejections that keep the image waiting."""
    names = {p.id: p.name for p in list_people(session)}
    files = {i.id: i.file_name for i in round_images(session, round_id=round_id)}
    grouped: dict[tuple[int, int], list[RejectionRef]] = {}
    for ref in current_rejections(session, round_id=round_id, image_ids=image_ids):
        grouped.setdefault((ref.image_id, ref.annotator_id), []).append(ref)
    return tuple(
        ImageRejections(
            image_id,
            files.get(image_id, str(image_id)),
            names.get(annotator_id, str(annotator_id)),
            refs[0].submission_id,
            len(refs),
            tuple(sorted({r.field for r in refs if r.field})),
            tuple(_quoted(r) for r in refs[:SHOWN_MESSAGES]),
        )
        for (image_id, annotator_id), refs in sorted(grouped.items())
    )


def _quoted(ref: RejectionRef) -> str:
    where = place(None, None, ref.annotation_ref, ref.field)
    return f"{where}: {ref.message}" if where else ref.message


def _annotator_table(
    session: Session, round_id: int, flags: Sequence[FlagRef]
) -> dict[str, dict[str, float | int | None]]:
    names = {p.id: p.name for p in list_people(session)}
    values: dict[str, dict[str, list[float]]] = {}
    for score in annotator_scores(session, round_id=round_id):
        if score.value is not None:
            values.setdefault(names[score.annotators[0]], {}).setdefault(score.metric, []).append(score.value)
    found = Counter(names[person] for flag in flags for person in flag.annotators)
    out: dict[str, dict[str, float | int | None]] = {}
    for name in sorted(set(values) | set(found)):
        metrics = values.get(name, {})
        out[name] = {
            "images": len(metrics.get("loo_iou", [])),
            "loo_iou": _mean(metrics.get("loo_iou")),
            "findings": found[name],
        }
    return out


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None
