"""The review queue: claim the next item with a lease, hand an item to another reviewer, count open items.

A claim is a conditional update on the item's ``(id, version)``
(:func:`qc.store.review.take_item`): of two reviewers racing for one item, one wins and the
other moves on to the next candidate. The helpers at the end (who may review, what time it
is) are shared with :mod:`qc.review.decisions` and :mod:`qc.review.views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from qc.errors import ConflictError, OwnWorkError, PermissionDeniedError
from qc.store import models as m
from qc.store import review as store
from qc.store.api import get_row, record_event

__all__ = ["REVIEW_ROLES", "Claim", "claim", "item_submissions", "open_review_items", "reassign"]

REVIEW_ROLES = frozenset({m.Role.REVIEWER.value, m.Role.LEAD.value})
"""A person needs one of these roles to claim or decide."""

CLAIM_ATTEMPTS = 100


@dataclass(frozen=True)
class Claim:
    """A review item held by ``reviewer_id`` until ``lease_until``; decide with this ``version``."""

    item_id: int
    round_id: int
    image_id: int
    reviewer_id: int
    version: int
    lease_until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "round_id": self.round_id,
            "image_id": self.image_id,
            "reviewer_id": self.reviewer_id,
            "version": self.version,
            "lease_until": self.lease_until.isoformat(),
        }


def claim(
    session: Session,
    *,
    reviewer_id: int,
    lease_minutes: float = 15,
    now: datetime | None = None,
    include_escalated: bool | None = None,
) -> Claim | None:
    """The next review item for ``reviewer_id`` with a lease, or ``None`` when the queue is empty.

    A live claim the reviewer holds already is handed back (with a renewed lease). Items of
    images the reviewer annotated are skipped. Escalated items are claimable by leads only
    (``include_escalated`` defaults to whether the person is a lead).
    """
    reviewer = check_reviewer(session, reviewer_id)
    at = utc_now(now)
    lease = at + timedelta(minutes=lease_minutes)
    escalated = m.Role.LEAD.value in reviewer.roles if include_escalated is None else include_escalated
    held = store.held_item(session, reviewer_id=reviewer_id, at=at)
    if held is not None:
        return _take(session, held, reviewer_id=reviewer_id, at=at, lease=lease)
    for _attempt in range(CLAIM_ATTEMPTS):
        item = store.next_claimable(session, reviewer_id=reviewer_id, at=at, escalated=escalated)
        if item is None:
            return None
        taken = _take(session, item, reviewer_id=reviewer_id, at=at, lease=lease)
        if taken is not None:
            return taken
    raise ConflictError("could not claim a review item after 100 attempts (heavy contention); try again")


def _take(session: Session, item: m.ReviewItem, *, reviewer_id: int, at: datetime, lease: datetime) -> Claim | None:
    """Claim ``item`` on its (id, version): ``None`` when another transaction changed it first."""
    item_id, version = int(item.id or 0), item.version
    if not store.take_item(session, item=item, reviewer_id=reviewer_id, lease=lease, at=at):
        return None
    record_event(
        session,
        verb="claim",
        object_type="review_item",
        object_id=item_id,
        actor_id=reviewer_id,
        payload={"version": version + 1, "lease_until": lease.isoformat()},
    )
    return Claim(item_id, item.round_id, item.image_id, reviewer_id, version + 1, lease)


def reassign(
    session: Session,
    item_id: int,
    *,
    lead_id: int,
    to_person_id: int,
    lease_minutes: float = 15,
    now: datetime | None = None,
) -> Claim:
    """A lead hands an undecided item to another reviewer (who must not have annotated the image)."""
    lead = get_row(session, m.Person, lead_id)
    if m.Role.LEAD.value not in lead.roles:
        raise PermissionDeniedError(f"{lead.name!r} is not a lead; only leads reassign review items", field="roles")
    check_reviewer(session, to_person_id)
    item = get_row(session, m.ReviewItem, item_id)
    if item.status == m.ReviewStatus.DECIDED.value:
        raise ConflictError(f"review item {item_id} is decided already; nothing to reassign")
    check_not_annotator(session, item, to_person_id)
    at = utc_now(now)
    taken = _take(session, item, reviewer_id=to_person_id, at=at, lease=at + timedelta(minutes=lease_minutes))
    if taken is None:
        raise ConflictError(f"review item {item_id} changed while it was being reassigned; reload and try again")
    payload = {"to": to_person_id}
    record_event(
        session, verb="reassign", object_type="review_item", object_id=item_id, actor_id=lead_id, payload=payload
    )
    return taken


def open_review_items(session: Session, *, round_id: int) -> int:
    """How many review items of the round still need a decision (pending, claimed or escalated)."""
    return store.open_item_count(session, round_id=round_id)


def item_submissions(session: Session, item: m.ReviewItem) -> dict[int, int]:
    """``annotator id -> latest submission id`` for the item's image in its round."""
    return store.latest_submission_ids(session, round_id=item.round_id, image_id=item.image_id)


# --- shared by the review modules ---------------------------------------------------------------------------


def check_reviewer(session: Session, person_id: int) -> m.Person:
    """The person, when they have the reviewer or lead role; :class:`PermissionDeniedError` otherwise."""
    person = get_row(session, m.Person, person_id)
    if not REVIEW_ROLES & set(person.roles):
        raise PermissionDeniedError(
            f"{person.name!r} has roles {person.roles}; reviewing needs the reviewer or lead role "
            "(qc person add NAME --role reviewer)",
            field="roles",
        )
    return person


def check_not_annotator(session: Session, item: m.ReviewItem, person_id: int) -> None:
    """:class:`PermissionDeniedError` when ``person_id`` annotated the item's image: nobody reviews their own work."""
    if store.has_annotated(session, person_id=person_id, image_id=item.image_id):
        who = get_row(session, m.Person, person_id).name
        image = get_row(session, m.Image, item.image_id)
        raise OwnWorkError(
            f"{who} annotated image {image.id} ({image.file_name}, review item {item.id}) and a reviewer never "
            "reviews their own work: another reviewer or lead must decide it (a lead can reassign it from the queue)",
            image_id=item.image_id,
        )


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (naive means UTC), else the current time."""
    return as_utc(now) if now is not None else datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
