"""The rows of disputes and their resolutions (see :mod:`qc.review` for what they mean).

:func:`settle_dispute` is a conditional ``UPDATE ... WHERE id = ? AND resolution IS NULL``
(or still ``escalate``, for the lead who takes an escalated item back): its row count says
whether this transaction resolved the dispute, so two reviewers never both do. Functions take
the session first and keyword-only arguments, and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from qc.store import models as m

__all__ = [
    "assignment_regions",
    "disputes_of_items",
    "item_disputes",
    "items_needing_disputes",
    "replace_disputes",
    "resolution_counts",
    "set_assignment_regions",
    "settle_dispute",
]


def items_needing_disputes(
    session: Session, *, round_id: int, image_ids: Iterable[int] | None = None, rebuild: bool = False
) -> list[tuple[int, int]]:
    """``(item id, image id)`` of the round's open review items without disputes (all open ones with ``rebuild``).

    ``image_ids`` limits them to those images.
    """
    from qc.store.review import OPEN_STATUSES  # one list of open statuses

    query = select(m.ReviewItem.id, m.ReviewItem.image_id).where(
        m.ReviewItem.round_id == round_id, col(m.ReviewItem.status).in_(OPEN_STATUSES)
    )
    if image_ids is not None:
        query = query.where(col(m.ReviewItem.image_id).in_(list(image_ids)))
    if not rebuild:
        has = select(m.Dispute.review_item_id).where(m.Dispute.review_item_id == m.ReviewItem.id)
        query = query.where(~has.exists())
    return [(int(i), int(image)) for i, image in session.execute(query.order_by(col(m.ReviewItem.id)))]


def rounds_needing_disputes(session: Session) -> list[int]:
    """The rounds holding an open review item without disputes (queued before disputes were stored)."""
    from qc.store.review import OPEN_STATUSES

    has = select(m.Dispute.review_item_id).where(m.Dispute.review_item_id == m.ReviewItem.id)
    query = select(m.ReviewItem.round_id).where(col(m.ReviewItem.status).in_(OPEN_STATUSES), ~has.exists())
    return sorted({int(r) for r in session.scalars(query.distinct())})


def replace_disputes(session: Session, *, item_id: int, rows: Sequence[Mapping[str, Any]]) -> int:
    """Replace the disputes of a review item by ``rows`` (column values of :class:`~qc.store.models.Dispute`)."""
    session.execute(delete(m.Dispute).where(col(m.Dispute.review_item_id) == item_id))
    if rows:
        now = m.utcnow()
        session.execute(insert(m.Dispute), [{**row, "review_item_id": item_id, "created_at": now} for row in rows])
    return len(rows)


def item_disputes(session: Session, *, item_id: int) -> list[m.Dispute]:
    """The disputes of a review item, by number."""
    query = select(m.Dispute).where(m.Dispute.review_item_id == item_id).order_by(col(m.Dispute.number))
    return list(session.scalars(query))


def disputes_of_items(session: Session, *, item_ids: Iterable[int]) -> list[m.Dispute]:
    """The disputes of several review items, by item and number."""
    query = (
        select(m.Dispute)
        .where(col(m.Dispute.review_item_id).in_(list(item_ids)))
        .order_by(col(m.Dispute.review_item_id), col(m.Dispute.number))
    )
    return list(session.scalars(query))


def settle_dispute(
    session: Session,
    *,
    dispute_id: int,
    kind: str,
    person_id: int | None,
    category_id: int | None,
    note: str,
    reviewer_id: int,
    decision_id: int | None,
    at: datetime,
    reopen_escalated: bool = False,
) -> bool:
    """Store a dispute's resolution if it has none (or, with ``reopen_escalated``, only ``escalate``).

    ``False`` (nothing changed) when another transaction resolved it first.
    """
    open_now: ColumnElement[bool] = col(m.Dispute.resolution).is_(None)
    if reopen_escalated:
        open_now = or_(open_now, col(m.Dispute.resolution) == m.ResolutionKind.ESCALATE.value)
    statement = (
        update(m.Dispute)
        .where(col(m.Dispute.id) == dispute_id, open_now)
        .values(
            resolution=kind,
            resolution_person_id=person_id,
            resolution_category_id=category_id,
            resolution_note=note,
            resolved_by=reviewer_id,
            resolved_at=at,
            decision_id=decision_id,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(session.execute(statement), "rowcount", 0)) == 1


def resolution_counts(session: Session, *, round_id: int) -> dict[str, int]:
    """How many disputes of the round's review items were resolved each way (``kind -> count``)."""
    query = (
        select(m.Dispute.resolution)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Dispute.review_item_id)
        .where(m.ReviewItem.round_id == round_id, col(m.Dispute.resolution).is_not(None))
    )
    counts: dict[str, int] = {}
    for kind in session.scalars(query):
        counts[str(kind)] = counts.get(str(kind), 0) + 1
    return dict(sorted(counts.items()))


def set_assignment_regions(
    session: Session, *, round_id: int, image_id: int, annotator_id: int, regions: Sequence[Mapping[str, Any]]
) -> None:
    """Add ``regions`` (objects sent back) to the annotator's assignment of the image in ``round_id``."""
    query = select(m.Assignment).where(
        m.Assignment.round_id == round_id, m.Assignment.image_id == image_id, m.Assignment.annotator_id == annotator_id
    )
    assignment = session.scalars(query).one()
    assignment.regions = [*(assignment.regions or []), *(dict(r) for r in regions)]
    session.add(assignment)
    session.flush()


def assignment_regions(session: Session, *, round_id: int) -> list[tuple[int, int, list[dict[str, Any]]]]:
    """``(image id, annotator id, regions)`` of the round's assignments that carry regions."""
    query = select(m.Assignment).where(m.Assignment.round_id == round_id, col(m.Assignment.regions).is_not(None))
    return [(a.image_id, a.annotator_id, list(a.regions or [])) for a in session.scalars(query)]
