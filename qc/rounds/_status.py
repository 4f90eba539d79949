"""Status: where a round stands, and each annotator's agreement so far."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from qc.core import Verdict
from qc.store import models as m
from qc.store.api import get_row
from qc.store.results import FlagRef, annotator_scores, image_inputs, list_image_results, round_flags
from qc.store.rounds import list_people, open_review_count

__all__ = ["RoundStatus", "round_status"]


@dataclass(frozen=True)
class RoundStatus:
    """Where a round stands, and each annotator's agreement so far."""

    round_id: int
    name: str | None
    status: str
    images: int
    assignments: int
    delivered: int
    verdicts: Mapping[str, int]
    findings: Mapping[str, int]
    review_pending: int
    labels_per_accepted: float
    annotators: Mapping[str, Mapping[str, float | int | None]]

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in vars(self).items()}


def round_status(session: Session, *, round_id: int) -> RoundStatus:
    """Counts of a round's work and verdicts, and per annotator mean leave-one-out agreement."""
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
        delivered=sum(len(i.submissions) for i in inputs.values()),
        verdicts=dict(verdicts),
        findings=dict(Counter(f.kind for f in flags)),
        review_pending=open_review_count(session, round_id=round_id),
        labels_per_accepted=sum(accepted) / len(accepted) if accepted else math.nan,
        annotators=_annotator_table(session, round_id, flags),
    )


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
