"""Resolving an item dispute by dispute, and the accepted label with the provenance of each segment.

The rules are written in :mod:`qc.review` (the protocol); this module checks a set of
:class:`Resolution` s against the item's disputes, stores them in one transaction with a
``resolve`` decision, and composes the accepted label: the supported consensus plus each
resolution. Image-level decisions (:func:`qc.review.decide`) settle the open disputes through
:func:`settle_open_disputes` so that every dispute records how it ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from qc.errors import ConflictError, InvalidOptionError
from qc.review.decisions import DecisionResult, stale_message
from qc.review.queue import as_utc, check_not_annotator, check_reviewer, utc_now
from qc.store import disputes as store
from qc.store import models as m
from qc.store import review as review_store
from qc.store.api import get_row, record_event
from qc.store.logins import person_names
from qc.store.segments import ResolvedSegment, delete_consensus_rows, insert_resolved, segments_by_id

__all__ = ["RESOLUTION_KINDS", "Resolution", "resolve", "settle_open_disputes"]

RESOLUTION_KINDS = tuple(k.value for k in m.ResolutionKind)
"""take, fused, set_class, remove, rework, escalate."""

_HOLDING = (m.ResolutionKind.REWORK.value, m.ResolutionKind.ESCALATE.value)
"""Resolutions that keep the image from being accepted now."""


@dataclass(frozen=True)
class Resolution:
    """A reviewer's resolution of one dispute: ``kind`` and what it needs (``person_id``, ``category_id``, ``note``)."""

    kind: str
    person_id: int | None = None
    category_id: int | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def resolve(
    session: Session,
    item_id: int,
    reviewer_id: int,
    version: int,
    resolutions: Mapping[int, Resolution],
    *,
    now: datetime | None = None,
) -> DecisionResult:
    """Resolve a claimed item dispute by dispute (``resolutions`` keyed by dispute id), in one transaction.

    Every dispute must end resolved (those resolved before count, except escalated ones the
    lead now takes back). Raises :class:`InvalidOptionError` for a bad or missing resolution
    (naming the dispute), :class:`ConflictError` when a dispute was resolved by someone else
    (naming who, how and when) or the item changed since ``version``, and
    :class:`~qc.errors.PermissionDeniedError` as :func:`qc.review.decide`.
    """
    check_reviewer(session, reviewer_id)
    item = get_row(session, m.ReviewItem, item_id)
    check_not_annotator(session, item, reviewer_id)
    disputes = {int(d.id or 0): d for d in store.item_disputes(session, item_id=item_id)}
    takeback = item.status == m.ReviewStatus.ESCALATED.value or _escalated_claim(disputes.values())
    at = utc_now(now)
    _check_resolutions(session, item, disputes, resolutions, takeback=takeback)
    final = {d: r.kind for d, r in resolutions.items()} | {
        d: row.resolution for d, row in disputes.items() if d not in resolutions and row.resolution is not None
    }
    escalated = m.ResolutionKind.ESCALATE.value in final.values()
    status = m.ReviewStatus.ESCALATED if escalated else m.ReviewStatus.DECIDED
    if not review_store.close_claim(session, item=item, version=version, reviewer_id=reviewer_id, status=status, at=at):
        raise ConflictError(stale_message(session, item_id, reviewer_id=reviewer_id, version=version, at=at))
    notes = [f"dispute {disputes[d].number}: {r.note}" for d, r in sorted(resolutions.items()) if r.note.strip()]
    decision_id = review_store.add_decision(
        session,
        item_id=item_id,
        reviewer_id=reviewer_id,
        kind=m.DecisionKind.RESOLVE.value,
        submission_id=None,
        note="; ".join(notes),
        feedback=_rework_feedback(disputes, resolutions) or None,
    )
    for dispute_id, resolution in sorted(resolutions.items()):
        _settle(session, disputes[dispute_id], resolution, reviewer_id, decision_id, at, takeback=takeback)
    rework_round = _apply(session, item_id, reviewer_id=reviewer_id, decision_id=decision_id, resolutions=resolutions)
    return DecisionResult(decision_id, item_id, m.DecisionKind.RESOLVE.value, status.value, version + 1, rework_round)


def _apply(
    session: Session, item_id: int, *, reviewer_id: int, decision_id: int, resolutions: Mapping[int, Resolution]
) -> int | None:
    """What the stored resolutions mean: the accepted label (when nothing is held back), the objects sent back,
    the image's result and the audit event. The rework round's id, if one was opened."""
    session.expire_all()
    item = get_row(session, m.ReviewItem, item_id)
    rows = store.item_disputes(session, item_id=item_id)
    accepted = not any(r.resolution in _HOLDING for r in rows)
    if accepted:
        compose_label(session, item, rows)
    reworked = [d for d, r in resolutions.items() if r.kind == m.ResolutionKind.REWORK.value]
    rework_round = _send_back(session, item, rows, decision_id, reworked)
    summary = {
        "decision_id": decision_id,
        "kind": m.DecisionKind.RESOLVE.value,
        "reviewer_id": reviewer_id,
        "submission_id": None,
        "resolutions": {str(r.number): r.resolution for r in rows},
        "removed": [{"dispute": r.number, "by": r.resolved_by} for r in rows if r.resolution == "remove"],
    }
    review_store.mark_image_result(
        session, round_id=item.round_id, image_id=item.image_id, review=summary, accepted=accepted
    )
    payload = {
        "decision_id": decision_id,
        "kind": m.DecisionKind.RESOLVE.value,
        "image_id": item.image_id,
        "round_id": item.round_id,
        "resolutions": {str(d): r.to_dict() for d, r in sorted(resolutions.items())},
        "rework_round_id": rework_round,
    }
    record_event(
        session, verb="decide", object_type="review_item", object_id=item_id, actor_id=reviewer_id, payload=payload
    )
    return rework_round


def _escalated_claim(rows: Any) -> bool:
    return any(r.resolution == m.ResolutionKind.ESCALATE.value for r in rows)


def _check_resolutions(
    session: Session,
    item: m.ReviewItem,
    disputes: Mapping[int, m.Dispute],
    resolutions: Mapping[int, Resolution],
    *,
    takeback: bool,
) -> None:
    """Every resolution fits its dispute, and no dispute stays open."""
    if not disputes:
        hint = f"review item {item.id} has no disputes: decide it as a whole (qc review decide --accept-consensus ...)"
        raise InvalidOptionError("resolutions", "empty for an item without disputes", dict(resolutions), hint=hint)
    unknown = sorted(set(resolutions) - set(disputes))
    if unknown:
        raise InvalidOptionError(
            "resolutions", f"keyed by dispute ids of review item {item.id}: {sorted(disputes)}", unknown
        )
    image = get_row(session, m.Image, item.image_id)
    classes = review_store.class_names(session, project_id=image.project_id)
    for dispute_id, resolution in resolutions.items():
        check_resolution(disputes[dispute_id], resolution, classes)
    _check_not_taken(session, disputes, resolutions, takeback=takeback)
    left = [
        d.number
        for key, d in sorted(disputes.items(), key=lambda kv: kv[1].number)
        if key not in resolutions and (d.resolution is None or (takeback and d.resolution == "escalate"))
    ]
    if left:
        raise InvalidOptionError(
            "resolutions",
            "a resolution for every open dispute",
            f"disputes {left} of review item {item.id} left open",
            hint="resolve each dispute, or decide the image as a whole (accept consensus, rework, escalate)",
        )


def check_resolution(dispute: m.Dispute, resolution: Resolution, classes: Mapping[int, str]) -> None:
    """:class:`InvalidOptionError` naming the dispute when ``resolution`` does not fit it."""
    where = f"dispute {dispute.number} (id {dispute.id})"
    if resolution.kind not in RESOLUTION_KINDS:
        raise InvalidOptionError(f"resolution of {where}", RESOLUTION_KINDS, resolution.kind)
    drawn = {int(v["person_id"]) for v in dispute.versions if v.get("segment_id") is not None}
    if resolution.kind == "take" and resolution.person_id not in drawn:
        hint = "take needs an annotator who drew this object"
        raise InvalidOptionError(f"person of {where}", sorted(drawn), resolution.person_id, hint=hint)
    if resolution.kind == "set_class" and resolution.category_id not in classes:
        raise InvalidOptionError(f"class of {where}", sorted(classes), resolution.category_id)
    if resolution.kind == "set_class" and dispute.fused_counts is None:
        hint = "nobody drew an object here: there is no shape to give a class"
        raise InvalidOptionError(f"resolution of {where}", "fused, remove or escalate", resolution.kind, hint=hint)
    if resolution.kind == "fused" and dispute.fused_counts is not None and dispute.category_id is None:
        hint = "the versions name no class: use set_class"
        raise InvalidOptionError(f"resolution of {where}", "set_class", resolution.kind, hint=hint)
    if resolution.kind in _HOLDING and not resolution.note.strip():
        hint = f"{resolution.kind} needs a note saying what to redo or what is unclear"
        raise InvalidOptionError(f"note of {where}", "a text that is not empty", resolution.note, hint=hint)
    if resolution.kind == "rework" and not drawn:
        hint = "nobody drew this object: remove it, or send the image back as a whole"
        raise InvalidOptionError(f"resolution of {where}", "take, fused, remove or escalate", "rework", hint=hint)
    if resolution.kind == "rework" and resolution.person_id is not None:
        allowed = _rework_targets(dispute)
        if resolution.person_id not in allowed:
            hint = (
                "send the object back to an annotator who drew it, or (when someone did not draw it) to any "
                "annotator of the image; leave the person out to send it to everyone who drew it"
            )
            raise InvalidOptionError(f"person of {where}", sorted(allowed), resolution.person_id, hint=hint)


def _rework_targets(dispute: m.Dispute) -> set[int]:
    """Who may get ``dispute``'s object back alone: the annotators who drew it, and every annotator of the image
    when one of them did not draw it (a missed object)."""
    everyone = {int(v["person_id"]) for v in dispute.versions}
    drawn = set(_drawers(dispute))
    return everyone if drawn != everyone else drawn


def _rework_people(dispute: m.Dispute, person_id: int | None) -> list[int]:
    """Who gets ``dispute``'s object back: ``person_id`` alone, or (``None``) everyone who drew it."""
    return _drawers(dispute) if person_id is None else [person_id]


def _check_not_taken(
    session: Session, disputes: Mapping[int, m.Dispute], resolutions: Mapping[int, Resolution], *, takeback: bool
) -> None:
    """:class:`ConflictError` naming who resolved a dispute already, how and when."""
    names = person_names(session)
    for dispute_id in sorted(resolutions):
        row = disputes[dispute_id]
        if row.resolution is None or (takeback and row.resolution == "escalate"):
            continue
        raise ConflictError(taken_message(row, names))


def taken_message(row: m.Dispute, names: Mapping[int, str]) -> str:
    """Why a resolution of ``row`` is refused: it has one (who, how, when)."""
    who = names.get(row.resolved_by or 0, str(row.resolved_by))
    when = as_utc(row.resolved_at).isoformat() if row.resolved_at else "earlier"
    return (
        f"dispute {row.number} (id {row.id}) of review item {row.review_item_id} was resolved already by {who} "
        f"({row.resolution}) at {when}; nothing of yours was stored — reload the item and review what is left"
    )


def _settle(
    session: Session,
    row: m.Dispute,
    resolution: Resolution,
    reviewer_id: int,
    decision_id: int,
    at: datetime,
    *,
    takeback: bool,
) -> None:
    won = store.settle_dispute(
        session,
        dispute_id=int(row.id or 0),
        kind=resolution.kind,
        person_id=resolution.person_id if resolution.kind in ("take", "rework") else None,
        category_id=resolution.category_id if resolution.kind == "set_class" else None,
        note=resolution.note,
        reviewer_id=reviewer_id,
        decision_id=decision_id,
        at=at,
        reopen_escalated=takeback,
    )
    if not won:
        session.expire(row)
        raise ConflictError(taken_message(get_row(session, m.Dispute, int(row.id or 0)), person_names(session)))


def _rework_feedback(disputes: Mapping[int, m.Dispute], resolutions: Mapping[int, Resolution]) -> dict[int, str]:
    """``person id -> text`` for the annotators who get an object back (the notes of their objects)."""
    out: dict[int, list[str]] = {}
    for dispute_id, resolution in sorted(resolutions.items()):
        if resolution.kind != "rework":
            continue
        for person in _rework_people(disputes[dispute_id], resolution.person_id):
            out.setdefault(person, []).append(f"object {disputes[dispute_id].number}: {resolution.note}")
    return {p: "; ".join(texts) for p, texts in out.items()}


def _drawers(row: m.Dispute) -> list[int]:
    return [int(v["person_id"]) for v in row.versions if v.get("segment_id") is not None]


def compose_label(session: Session, item: m.ReviewItem, rows: Sequence[m.Dispute]) -> int:
    """Store the accepted label: the consensus stays, each resolution adds or replaces its object. Segments added."""
    taken = segments_by_id(
        session, ids=[_version(r, r.resolution_person_id)["segment_id"] for r in rows if r.resolution == "take"]
    )
    replaced = [r.replaces_segment_id for r in rows if r.replaces_segment_id is not None and r.resolution]
    delete_consensus_rows(session, ids=replaced)
    items = []
    for row in rows:
        fused = None if row.fused_counts is None else {"size": [row.height, row.width], "counts": row.fused_counts}
        chosen, who = int(row.resolved_by or 0), int(row.id or 0)
        if row.resolution == "take":
            segment = taken[int(_version(row, row.resolution_person_id)["segment_id"])]
            supporters = (int(row.resolution_person_id or 0),)
            items.append(ResolvedSegment(segment.category_id, segment.rle, "annotator", supporters, chosen, who))
        elif row.resolution == "fused" and fused is not None and row.category_id is not None:
            items.append(ResolvedSegment(row.category_id, fused, "fused", tuple(_drawers(row)), chosen, who))
        elif row.resolution == "set_class" and fused is not None:
            category = int(row.resolution_category_id or 0)
            items.append(ResolvedSegment(category, fused, "class_set", tuple(_drawers(row)), chosen, who))
    return insert_resolved(session, round_id=item.round_id, image_id=item.image_id, items=items)


def _version(row: m.Dispute, person_id: int | None) -> dict[str, Any]:
    return next(v for v in row.versions if v["person_id"] == person_id)


def _send_back(
    session: Session, item: m.ReviewItem, rows: Sequence[m.Dispute], decision_id: int, reworked: Sequence[int]
) -> int | None:
    """A rework round for the annotators the objects go back to (the one named, else all who drew it), each
    carrying their regions: their own version's RLE, or the fused candidate's for one who did not draw it."""
    if not reworked:
        return None
    regions: dict[int, list[dict[str, Any]]] = {}
    sent = [row for row in rows if int(row.id or 0) in reworked]
    drawn = segments_by_id(session, ids=[v["segment_id"] for r in sent for v in r.versions if v.get("segment_id")])
    for row in sent:
        for person in _rework_people(row, row.resolution_person_id):
            version = _version(row, person)
            if version.get("segment_id") is not None:
                rle = drawn[int(version["segment_id"])].rle
            else:  # they missed it: the region shows the fused candidate of those who drew it
                rle = {"size": [row.height, row.width], "counts": row.fused_counts}
            regions.setdefault(person, []).append({**region_of(row, version), "rle": rle})
    from qc.rounds import open_region_rework  # imported here to keep qc.review light

    return open_region_rework(
        session,
        get_row(session, m.Round, item.round_id),
        decision_id=decision_id,
        image_id=item.image_id,
        regions=regions,
    )


def region_of(row: m.Dispute, version: Mapping[str, Any]) -> dict[str, Any]:
    """What a rework assignment carries for one object: where, the annotator's segment and class, the note
    (:func:`_send_back` adds the segment's RLE as ``rle``)."""
    return {
        "dispute_id": row.id,
        "index": row.number,
        "bbox": [row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h],
        "segment_id": version.get("segment_id"),
        "category_id": version.get("category_id") if version.get("category_id") is not None else row.category_id,
        "note": row.resolution_note,
    }


def settle_open_disputes(
    session: Session, item: m.ReviewItem, *, kind: str, reviewer_id: int, decision_id: int, note: str, at: datetime
) -> list[m.Dispute]:
    """An image-level decision resolves each open dispute at once (``accept_consensus`` is ``fused`` for all).

    Returns the item's disputes after it. ``accept_submission`` records ``take`` of that annotator
    where they drew the object and ``remove`` elsewhere; ``rework`` and ``escalate`` record themselves.
    """
    rows = store.item_disputes(session, item_id=int(item.id or 0))
    decision = get_row(session, m.Decision, decision_id)
    taker = None
    if decision.target_submission_id is not None:
        subs = review_store.latest_submission_ids(session, round_id=item.round_id, image_id=item.image_id)
        taker = next((p for p, s in subs.items() if s == decision.target_submission_id), None)
    for row in rows:
        if row.resolution is not None and row.resolution != "escalate":
            continue
        resolution = _image_level(row, kind, taker, note)
        store.settle_dispute(
            session,
            dispute_id=int(row.id or 0),
            kind=resolution.kind,
            person_id=resolution.person_id,
            category_id=None,
            note=resolution.note,
            reviewer_id=reviewer_id,
            decision_id=decision_id,
            at=at,
            reopen_escalated=True,
        )
    session.expire_all()
    return store.item_disputes(session, item_id=int(item.id or 0))


def _image_level(row: m.Dispute, kind: str, taker: int | None, note: str) -> Resolution:
    if kind == m.DecisionKind.ACCEPT_CONSENSUS.value:
        return Resolution("fused" if row.fused_counts is not None and row.category_id is not None else "remove")
    if kind == m.DecisionKind.ACCEPT_SUBMISSION.value:
        return Resolution("take", taker) if taker in _drawers(row) else Resolution("remove")
    return Resolution(kind, note=note or kind)
