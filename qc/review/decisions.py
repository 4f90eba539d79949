"""Decisions on claimed review items: what each kind needs and stores, and the close of a fully reviewed round.

A decision names the item version its claim returned; it is stored only when the reviewer
still holds that claim (:func:`qc.store.review.close_claim`), so a stale decision is a
:class:`~qc.errors.ConflictError` saying why, and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from qc.errors import ConflictError, InvalidOptionError
from qc.review.queue import as_utc, check_not_annotator, check_reviewer, item_submissions, open_review_items, utc_now
from qc.store import db
from qc.store import models as m
from qc.store import review as store
from qc.store.api import get_row, record_event
from qc.store.segments import accept_submission_segments

__all__ = ["DecisionResult", "RoundReviewed", "decide", "on_round_reviewed", "stale_message"]

log = logging.getLogger("qc.review")  # the name it had before the package split: log filters keep working

RoundReviewed = Callable[[int], object]
"""Called with a round id when the round's last open review item was decided."""

ACCEPTING = (m.DecisionKind.ACCEPT_SUBMISSION, m.DecisionKind.ACCEPT_CONSENSUS)


@dataclass(frozen=True)
class DecisionResult:
    """A stored decision; ``rework_round_id`` is set when a rework decision opened a round."""

    decision_id: int
    item_id: int
    kind: str
    status: str
    version: int
    rework_round_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def decide(
    session: Session,
    item_id: int,
    *,
    reviewer_id: int,
    version: int,
    kind: str,
    submission_id: int | None = None,
    feedback: Mapping[int, str] | None = None,
    note: str = "",
    now: datetime | None = None,
) -> DecisionResult:
    """Resolve a claimed item (see :mod:`qc.review` for what each ``kind`` stores).

    ``version`` is the one :func:`~qc.review.claim` returned. Raises :class:`ConflictError` when
    the item changed since (re-claimed, lease expired, decided), :class:`PermissionDeniedError`
    when the reviewer annotated the image or lacks the role, :class:`InvalidOptionError` for
    a bad kind or a kind without what it needs (submission, feedback, note).
    """
    check_reviewer(session, reviewer_id)
    item = get_row(session, m.ReviewItem, item_id)
    check_not_annotator(session, item, reviewer_id)
    choice = _check_kind(session, item, kind=kind, submission_id=submission_id, feedback=feedback, note=note)
    at = utc_now(now)
    status = m.ReviewStatus.ESCALATED if choice == m.DecisionKind.ESCALATE else m.ReviewStatus.DECIDED
    if not store.close_claim(session, item=item, version=version, reviewer_id=reviewer_id, status=status, at=at):
        raise ConflictError(stale_message(session, item_id, reviewer_id=reviewer_id, version=version, at=at))
    decision_id = store.add_decision(
        session,
        item_id=item_id,
        reviewer_id=reviewer_id,
        kind=choice.value,
        submission_id=submission_id,
        note=note,
        feedback=feedback,
    )
    rework_round = _apply(session, item, choice, decision_id=decision_id, reviewer_id=reviewer_id, target=submission_id)
    _settle_disputes(session, item, choice, reviewer_id=reviewer_id, decision_id=decision_id, note=note, at=at)
    return DecisionResult(decision_id, item_id, choice.value, status.value, version + 1, rework_round)


def _apply(
    session: Session,
    item: m.ReviewItem,
    kind: m.DecisionKind,
    *,
    decision_id: int,
    reviewer_id: int,
    target: int | None,
) -> int | None:
    """Store what the decision means (label, result, rework round) and its event; the rework round's id."""
    if kind == m.DecisionKind.ACCEPT_SUBMISSION and target is not None:
        accept_submission_segments(
            session, round_id=item.round_id, image_id=item.image_id, submission_id=target, chosen_by=reviewer_id
        )
    review = {"decision_id": decision_id, "kind": kind.value, "reviewer_id": reviewer_id, "submission_id": target}
    store.mark_image_result(
        session, round_id=item.round_id, image_id=item.image_id, review=review, accepted=kind in ACCEPTING
    )
    rework_round = None
    if kind == m.DecisionKind.REWORK:
        from qc.rounds import open_rework_round  # imported here to keep qc.review light

        rework_round = open_rework_round(session, get_row(session, m.Round, item.round_id))
    payload = {
        "decision_id": decision_id,
        "kind": kind.value,
        "image_id": item.image_id,
        "round_id": item.round_id,
        "submission_id": target,
        "rework_round_id": rework_round,
    }
    record_event(
        session, verb="decide", object_type="review_item", object_id=item.id, actor_id=reviewer_id, payload=payload
    )
    return rework_round


def _settle_disputes(
    session: Session,
    item: m.ReviewItem,
    kind: m.DecisionKind,
    *,
    reviewer_id: int,
    decision_id: int,
    note: str,
    at: datetime,
) -> None:
    """Every open dispute records the image-level decision; accepting the consensus adds each fused object."""
    from qc.review.resolve import compose_label, settle_open_disputes

    rows = settle_open_disputes(
        session, item, kind=kind.value, reviewer_id=reviewer_id, decision_id=decision_id, note=note, at=at
    )
    if rows and kind == m.DecisionKind.ACCEPT_CONSENSUS:
        compose_label(session, item, rows)


def _check_kind(
    session: Session,
    item: m.ReviewItem,
    *,
    kind: str,
    submission_id: int | None,
    feedback: Mapping[int, str] | None,
    note: str,
) -> m.DecisionKind:
    valid = [k.value for k in m.DecisionKind]
    if kind not in valid:
        raise InvalidOptionError("kind", valid, kind)
    choice = m.DecisionKind(kind)
    if choice == m.DecisionKind.ACCEPT_SUBMISSION:
        known = sorted(item_submissions(session, item).values())
        if submission_id is None or submission_id not in known:
            hint = f"accept_submission needs a submission of image {item.image_id} in round {item.round_id}"
            raise InvalidOptionError("submission_id", known, submission_id, hint=hint)
    if choice == m.DecisionKind.REWORK:
        assigned = set(item_submissions(session, item)) | set(
            store.assigned_annotators(session, round_id=item.round_id, image_id=item.image_id)
        )
        unknown = sorted(set(feedback or {}) - assigned)
        if not feedback or unknown or not any(text.strip() for text in feedback.values()):
            expected = f"text for at least one annotator of the image (ids {sorted(assigned)})"
            hint = "rework needs feedback: it tells the annotators what to redo"
            raise InvalidOptionError("feedback", expected, dict(feedback or {}), hint=hint)
    if choice == m.DecisionKind.ESCALATE and not note.strip():
        hint = "escalate needs a note saying what is unclear in the guideline"
        raise InvalidOptionError("note", "a text that is not empty", note, hint=hint)
    return choice


def stale_message(session: Session, item_id: int, *, reviewer_id: int, version: int, at: datetime) -> str:
    """Why a decision on ``item_id`` prepared at ``version`` is stale (decided, claimed by another, ...)."""
    item = get_row(session, m.ReviewItem, item_id)
    if item.status in (m.ReviewStatus.DECIDED.value, m.ReviewStatus.ESCALATED.value):
        why = f"it was {item.status} already"
    elif item.claimed_by != reviewer_id:
        why = "another reviewer claimed it" if item.claimed_by is not None else "it is not claimed by you"
    elif item.version != version:
        why = f"it changed since your claim (version {version}, now {item.version})"
    elif item.lease_until is None or as_utc(item.lease_until) <= at:
        why = "your lease expired"
    else:
        why = f"its state is {item.status}"
    return f"stale decision on review item {item_id}: {why}; nothing was stored — claim the next item and review again"


def on_round_reviewed(engine: Engine, item_id: int, callback: RoundReviewed | None) -> int | None:
    """Call after a decision on ``item_id`` is COMMITTED: starts the close of a fully reviewed round.

    Returns the item's round id when that round has no open review item left (and then calls
    ``callback(round_id)`` if given), else ``None``. A failing callback is logged, not raised:
    the decision is stored either way and the round can be closed by hand (``qc round close``).
    Two decisions finishing at once may both call it; closing a round twice is harmless.
    """
    with db.session_scope(engine, write=False) as session:
        round_id = get_row(session, m.ReviewItem, item_id).round_id
        left = open_review_items(session, round_id=round_id)
    if left:
        return None
    if callback is not None:
        try:
            callback(round_id)
        except Exception:
            hint = "round %s is fully reviewed but starting its close failed; run: qc round close %s"
            log.exception(hint, round_id, round_id)
    return round_id
