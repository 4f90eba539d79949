"""Close: queue review images, open a rework round for rework decisions, export accepted labels, close."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from qc.core import Verdict
from qc.rounds._disputes import build_disputes
from qc.rounds._export import export_consensus
from qc.rounds._reliability import round_paused, update_reliability
from qc.rounds._scoring import fuse_accepted_again
from qc.rounds._setup import row_id
from qc.store import models as m
from qc.store.api import add_assignments, create_round, get_row, list_events, record_event
from qc.store.disputes import resolution_counts, set_assignment_regions
from qc.store.results import add_review_items, image_inputs, list_image_results
from qc.store.rounds import assignment_pairs, rework_decisions, set_round_status

__all__ = ["CloseResult", "close_round", "open_region_rework", "open_rework_round"]


@dataclass(frozen=True)
class CloseResult:
    round_id: int
    status: str
    accepted: tuple[int, ...]
    review: tuple[int, ...]
    awaiting: tuple[int, ...]
    new_review_items: int
    rework_round_id: int | None
    exported: str | None
    exported_images: int
    disputes: int = 0
    """Disputes stored for the review items this close queued."""
    resolutions: Mapping[str, int] = field(default_factory=dict)
    """The round's disputes resolved so far, by resolution kind (take, fused, remove, ...)."""
    paused: Mapping[str, int] = field(default_factory=dict)
    """Annotators paused for failing gold (``gold.pause_after_failures``), with their gold failures."""
    fused_again: tuple[int, ...] = ()
    """Accepted images whose consensus was fused again with the round's final reliability (weighted / auto)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "status": self.status,
            "accepted": list(self.accepted),
            "review": list(self.review),
            "awaiting": list(self.awaiting),
            "new_review_items": self.new_review_items,
            "rework_round_id": self.rework_round_id,
            "exported": self.exported,
            "exported_images": self.exported_images,
            "disputes": self.disputes,
            "resolutions": dict(self.resolutions),
            "paused": dict(self.paused),
            "fused_again": list(self.fused_again),
        }


def close_round(session: Session, *, round_id: int, export_path: str | Path | None = None) -> CloseResult:
    """Queue review images, open a rework round for rework decisions, export accepted labels, close.

    The round is closed only when no image still awaits a submission (undelivered work or
    an escalated image's follow-up annotator); otherwise it stays open and ``awaiting``
    lists those images. Review items do not keep a round open: decisions act on them.
    The reliability of the round's annotators is estimated and stored
    (:func:`~qc.rounds._reliability.update_reliability`) before the export; under consensus
    ``weighted`` / ``auto`` the accepted images are fused again with it
    (:func:`~qc.rounds._scoring.fuse_accepted_again`, ``fused_again``); ``paused`` names who failed gold too often.
    """
    round_row = get_row(session, m.Round, round_id)
    results = list_image_results(session, round_id=round_id)
    by_verdict: dict[str, list[int]] = {}
    for result in results:
        by_verdict.setdefault(result.verdict, []).append(result.image_id)
    scored = {r.image_id for r in results if r.verdict != Verdict.ESCALATE.value}
    awaiting = tuple(sorted(set(image_inputs(session, round_id=round_id)) - scored))
    review = tuple(by_verdict.get(Verdict.REVIEW.value, []))
    new_items = add_review_items(session, round_id=round_id, image_ids=review)
    disputes = sum(build_disputes(session, round_id=round_id, image_ids=review).values()) if review else 0
    rework_round = open_rework_round(session, round_row)
    accepted = tuple(by_verdict.get(Verdict.ACCEPTED.value, []))
    update_reliability(session, round_id=round_id)
    fused_again = tuple(fuse_accepted_again(session, round_id=round_id))  # early images fused with the final weights
    exported, n_exported = None, 0
    if export_path is not None:
        n_exported = export_consensus(session, round_id=round_id, image_ids=accepted, path=export_path)
        exported = str(export_path)
    status = m.RoundStatus.OPEN.value if awaiting else m.RoundStatus.CLOSED.value
    set_round_status(session, round_id=round_id, status=status)
    paused = round_paused(session, round_id=round_id)
    payload = {"status": status, "accepted": len(accepted), "review": len(review), "awaiting": len(awaiting)}
    record_event(session, verb="close", object_type="round", object_id=round_id, payload=payload)
    resolutions = resolution_counts(session, round_id=round_id)
    return CloseResult(
        round_id,
        status,
        accepted,
        review,
        awaiting,
        new_items,
        rework_round,
        exported,
        n_exported,
        disputes,
        resolutions,
        paused,
        fused_again,
    )


def open_rework_round(session: Session, round_row: m.Round) -> int | None:
    """A rework round holding the images reviewers sent back (created once per closing that finds new ones)."""
    decisions = rework_decisions(session, round_id=row_id(round_row))
    handled = {
        d
        for event in list_events(session, verb="rework_round")
        if event.payload.get("source_round") == round_row.id
        for d in event.payload.get("decisions", [])
    }
    fresh = [(d.decision_id, d.image_id) for d in decisions if d.decision_id not in handled]
    if not fresh:
        return None
    rework = create_round(
        session,
        project_id=round_row.project_id,
        kind="rework",
        k=round_row.k,
        guideline_version_id=round_row.guideline_version_id,
        name=f"{round_row.name or round_row.id} rework {len(handled) + 1}",
    )
    images = sorted({image for _, image in fresh})
    pairs = assignment_pairs(session, round_id=row_id(round_row), image_ids=images)
    add_assignments(session, round_id=row_id(rework), pairs=pairs, kind="rework")
    payload = {"source_round": round_row.id, "decisions": [d for d, _ in fresh], "images": images}
    record_event(session, verb="rework_round", object_type="round", object_id=rework.id, payload=payload)
    return rework.id


def open_region_rework(
    session: Session,
    round_row: m.Round,
    *,
    decision_id: int,
    image_id: int,
    regions: Mapping[int, Sequence[Mapping[str, Any]]],
) -> int:
    """Send single objects back: a rework round (the round's open one when there is one) for the annotators
    who drew them; each one's assignment carries its ``regions`` (bbox, segment, class, note). The round id.
    """
    source = row_id(round_row)
    earlier = [
        e.object_id
        for e in list_events(session, verb="rework_round")
        if e.payload.get("source_round") == source and e.payload.get("regions") and e.object_id is not None
    ]
    rework = next((r for r in (get_row(session, m.Round, i) for i in reversed(earlier)) if r.status == "open"), None)
    if rework is None:
        rework = create_round(
            session,
            project_id=round_row.project_id,
            kind="rework",
            k=1,
            guideline_version_id=round_row.guideline_version_id,
            name=f"{round_row.name or round_row.id} objects rework {len(earlier) + 1}",
        )
    rework_id = row_id(rework)
    owed = set(assignment_pairs(session, round_id=rework_id, image_ids=[image_id]))
    fresh = [(image_id, person) for person in sorted(regions) if (image_id, person) not in owed]
    add_assignments(session, round_id=rework_id, pairs=fresh, kind="rework")
    for person, parts in sorted(regions.items()):
        set_assignment_regions(session, round_id=rework_id, image_id=image_id, annotator_id=person, regions=parts)
    payload = {"source_round": source, "decisions": [decision_id], "images": [image_id], "regions": True}
    record_event(session, verb="rework_round", object_type="round", object_id=rework_id, payload=payload)
    return rework_id
