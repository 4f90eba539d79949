"""New work on an image under review re-opens its review item: a decision is never undone in silence.

When scoring stores a new result for an image that has a review item (an annotator
re-delivered while the round was open), :func:`reopen_after_redelivery` puts the item back
in front of a reviewer: a decided item returns to the queue (pending, unclaimed), an open
one keeps its status and holder; the item's version grows either way, so a decision
prepared on the old submissions is stale (:class:`~qc.errors.ConflictError`). A ``reopen``
event names the new submissions and the decision they supersede; that decision stays in
``decision`` and in the audit trail, and the item page lists it under "earlier decisions".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from qc.review.queue import as_utc, utc_now
from qc.store import logins
from qc.store import models as m
from qc.store import review as store
from qc.store.api import record_event

__all__ = ["Reopened", "reopen_after_redelivery"]

log = logging.getLogger("qc.review")


@dataclass(frozen=True)
class Reopened:
    """A review item put back in front of a reviewer after new submissions of its image.

    ``new_submissions`` maps annotator names to the submissions stored since the item's last
    decision (or since it was queued); ``superseded_decisions`` lists the decision that no
    longer holds (empty when the item was still open).
    """

    item_id: int
    round_id: int
    image_id: int
    status: str
    version: int
    new_submissions: dict[str, int] = field(default_factory=dict)
    superseded_decisions: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "round_id": self.round_id,
            "image_id": self.image_id,
            "status": self.status,
            "version": self.version,
            "new_submissions": dict(self.new_submissions),
            "superseded_decisions": list(self.superseded_decisions),
        }


def reopen_after_redelivery(
    session: Session, *, round_id: int, image_id: int, now: datetime | None = None
) -> Reopened | None:
    """Re-open the image's review item after its result was re-scored from new submissions.

    Call it in the transaction that stored the new result. Returns ``None`` when the image has
    no review item. Records a ``reopen`` event and ``image_result.summary["reopened"]``.
    """
    item = store.item_of_image(session, round_id=round_id, image_id=image_id)
    if item is None or item.id is None:
        return None
    decisions = store.item_decisions(session, item_id=item.id)
    superseded = (decisions[-1].id,) if decisions and item.status == m.ReviewStatus.DECIDED.value else ()
    since = as_utc(decisions[-1].created_at if decisions else item.created_at)
    fresh = store.submissions_since(session, round_id=round_id, image_id=image_id, since=since)
    names = logins.person_names(session)
    updated = store.reopen_item(session, item_id=item.id, at=utc_now(now))
    reopened = Reopened(
        item_id=item.id,
        round_id=round_id,
        image_id=image_id,
        status=updated.status,
        version=updated.version,
        new_submissions={names.get(a, str(a)): sub for a, sub in sorted(fresh.items())},
        superseded_decisions=tuple(int(d) for d in superseded if d is not None),
    )
    payload = reopened.to_dict()
    record_event(session, verb="reopen", object_type="review_item", object_id=item.id, payload=payload)
    store.note_reopened(session, round_id=round_id, image_id=image_id, reopened=payload)
    log.warning(
        "review item %s of image %s (round %s) re-opened: new submissions %s supersede decision(s) %s",
        item.id,
        image_id,
        round_id,
        reopened.new_submissions,
        list(reopened.superseded_decisions) or "none",
    )
    return reopened
