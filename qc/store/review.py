"""The rows of the review queue and the reviewer page: claims, decisions, item and queue reads, re-opening.

Every statement :mod:`qc.review` and :mod:`qc.web` run is here (segment rows excepted: they
are read and written by :mod:`qc.store.segments`; people and login tokens by
:mod:`qc.store.logins`). Two statements make claims and decisions exactly-once:
:func:`take_item` and :func:`close_claim` are conditional ``UPDATE ... WHERE id = ? AND
version = ?`` statements whose row count says whether this transaction won; on PostgreSQL
:func:`next_claimable` picks its candidate with ``SELECT ... FOR UPDATE SKIP LOCKED``.
:func:`reopen_item` increments the version in SQL, so that new work on an image makes every
decision prepared on the old version stale. Functions take the session first and
keyword-only arguments, and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from qc.core import Verdict
from qc.errors import NotFoundError
from qc.store import models as m
from qc.store.api import get_row

__all__ = [
    "OPEN_STATUSES",
    "add_decision",
    "all_rounds",
    "annotated_by",
    "assigned_annotators",
    "assignments_of_images",
    "class_choices",
    "class_names",
    "close_claim",
    "find_review_item",
    "flag_kinds",
    "flags_of_images",
    "has_annotated",
    "held_item",
    "image_flags",
    "image_path",
    "item_decisions",
    "item_of_image",
    "latest_submission_ids",
    "mark_image_result",
    "next_claimable",
    "note_reopened",
    "open_item_count",
    "queue_items",
    "reopen_item",
    "reviewed_images",
    "rework_decisions",
    "submissions_since",
    "take_item",
]

OPEN_STATUSES = (m.ReviewStatus.PENDING.value, m.ReviewStatus.CLAIMED.value, m.ReviewStatus.ESCALATED.value)
"""The statuses of a review item that still needs a decision."""


# --- claims ------------------------------------------------------------------------------------------------


def annotated_by(person_id: int) -> SelectOfScalar[int]:
    """A subquery of the image ids ``person_id`` was assigned to annotate (in any round)."""
    return select(m.Assignment.image_id).where(m.Assignment.annotator_id == person_id)


def has_annotated(session: Session, *, person_id: int, image_id: int) -> bool:
    """Whether ``person_id`` was assigned to annotate ``image_id`` (in any round)."""
    query = select(m.Assignment.id).where(m.Assignment.image_id == image_id, m.Assignment.annotator_id == person_id)
    return session.scalars(query).first() is not None


def find_review_item(session: Session, *, item_id: int) -> m.ReviewItem | None:
    """The review item with this id, or ``None``."""
    return session.get(m.ReviewItem, item_id)


def held_item(session: Session, *, reviewer_id: int, at: datetime) -> m.ReviewItem | None:
    """The item ``reviewer_id`` holds a live claim on at ``at``, if any."""
    query = select(m.ReviewItem).where(
        col(m.ReviewItem.claimed_by) == reviewer_id,
        col(m.ReviewItem.status) == m.ReviewStatus.CLAIMED.value,
        col(m.ReviewItem.lease_until) > at,
    )
    return session.scalars(query).first()


def next_claimable(session: Session, *, reviewer_id: int, at: datetime, escalated: bool) -> m.ReviewItem | None:
    """The first item ``reviewer_id`` may claim at ``at`` (pending, lease run out, escalated when asked).

    Images the reviewer annotated are skipped; PostgreSQL skips rows other transactions lock.
    """
    query = (
        select(m.ReviewItem)
        .where(_claimable(at, escalated), ~col(m.ReviewItem.image_id).in_(annotated_by(reviewer_id)))
        .order_by(col(m.ReviewItem.id))
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def _claimable(at: datetime, escalated: bool) -> ColumnElement[bool]:
    status = col(m.ReviewItem.status)
    states = [status == m.ReviewStatus.PENDING.value]
    states.append((status == m.ReviewStatus.CLAIMED.value) & (col(m.ReviewItem.lease_until) <= at))
    if escalated:
        states.append(status == m.ReviewStatus.ESCALATED.value)
    return or_(*states)


def take_item(session: Session, *, item: m.ReviewItem, reviewer_id: int, lease: datetime, at: datetime) -> bool:
    """Claim ``item`` until ``lease`` if it still has the version read; ``False`` when another transaction won.

    ``item`` is expired either way, so that its next read sees the database.
    """
    item_id, version = _id(item), item.version
    statement = (
        update(m.ReviewItem)
        .where(col(m.ReviewItem.id) == item_id, col(m.ReviewItem.version) == version)
        .values(status=m.ReviewStatus.CLAIMED.value, claimed_by=reviewer_id, lease_until=lease, version=version + 1)
        .values(updated_at=at)
        .execution_options(synchronize_session=False)
    )
    won = _rowcount(session.execute(statement)) == 1
    session.expire(item)
    return won


def close_claim(
    session: Session, *, item: m.ReviewItem, version: int, reviewer_id: int, status: str, at: datetime
) -> bool:
    """Give ``item`` its ``status`` after a decision, if ``reviewer_id`` holds its live claim at ``version``.

    ``False`` (nothing changed) otherwise; ``item`` is expired either way.
    """
    statement = (
        update(m.ReviewItem)
        .where(col(m.ReviewItem.id) == _id(item), col(m.ReviewItem.version) == version)
        .where(col(m.ReviewItem.status) == m.ReviewStatus.CLAIMED.value)
        .where(col(m.ReviewItem.claimed_by) == reviewer_id, col(m.ReviewItem.lease_until) > at)
        .values(status=status, version=version + 1, updated_at=at, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    won = _rowcount(session.execute(statement)) == 1
    session.expire(item)
    return won


def open_item_count(session: Session, *, round_id: int) -> int:
    """How many review items of the round still need a decision (pending, claimed or escalated)."""
    query = (
        select(func.count())
        .select_from(m.ReviewItem)
        .where(m.ReviewItem.round_id == round_id, col(m.ReviewItem.status).in_(OPEN_STATUSES))
    )
    return int(session.execute(query).scalar_one())


def item_of_image(session: Session, *, round_id: int, image_id: int) -> m.ReviewItem | None:
    """The review item of ``image_id`` in ``round_id`` (one at most), or ``None``."""
    query = select(m.ReviewItem).where(m.ReviewItem.round_id == round_id, m.ReviewItem.image_id == image_id)
    return session.scalars(query).first()


def reviewed_images(session: Session, *, round_id: int, image_ids: Iterable[int]) -> set[int]:
    """Which of ``image_ids`` have a review item in ``round_id`` (in any status)."""
    query = select(m.ReviewItem.image_id).where(
        m.ReviewItem.round_id == round_id, col(m.ReviewItem.image_id).in_(list(image_ids))
    )
    return {int(image_id) for image_id in session.scalars(query)}


def reopen_item(session: Session, *, item_id: int, at: datetime) -> m.ReviewItem:
    """New work on the item's image: a decided item goes back to the queue, unclaimed; the version grows always.

    An open item (pending, claimed, escalated) keeps its status and holder. One atomic
    ``UPDATE`` (the version is incremented in SQL), so that a claim or decision racing with it
    either happened before (and is re-opened) or finds the new version (and is stale).
    """
    decided = col(m.ReviewItem.status) == m.ReviewStatus.DECIDED.value
    statement = (
        update(m.ReviewItem)
        .where(col(m.ReviewItem.id) == item_id)
        .values(
            status=case((decided, m.ReviewStatus.PENDING.value), else_=col(m.ReviewItem.status)),
            claimed_by=case((decided, None), else_=col(m.ReviewItem.claimed_by)),
            lease_until=case((decided, None), else_=col(m.ReviewItem.lease_until)),
            version=col(m.ReviewItem.version) + 1,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)
    item = get_row(session, m.ReviewItem, item_id)
    session.refresh(item)
    return item


def submissions_since(session: Session, *, round_id: int, image_id: int, since: datetime) -> dict[int, int]:
    """``annotator id -> latest submission id`` of the image's submissions in ``round_id`` stored after ``since``."""
    rows = session.execute(
        select(m.Assignment.annotator_id, m.Submission.id)
        .join(m.Submission, col(m.Submission.assignment_id) == m.Assignment.id)
        .where(m.Assignment.round_id == round_id, m.Assignment.image_id == image_id)
        .where(col(m.Submission.created_at) > since)
        .order_by(col(m.Assignment.annotator_id), col(m.Submission.version))
    )
    return {int(annotator): int(submission) for annotator, submission in rows}


def note_reopened(session: Session, *, round_id: int, image_id: int, reopened: Mapping[str, Any]) -> None:
    """Record in the image's result (``summary["reopened"]``) why its review item went back to the queue."""
    query = select(m.ImageResult).where(m.ImageResult.round_id == round_id, m.ImageResult.image_id == image_id)
    result = session.scalars(query).first()
    if result is None:
        return
    result.summary = {**(result.summary or {}), "reopened": dict(reopened)}
    session.add(result)
    session.flush()


# --- an item's image: annotators, submissions, flags, decisions ---------------------------------------------


def assigned_annotators(session: Session, *, round_id: int, image_id: int) -> list[int]:
    """The ids of the annotators assigned to ``image_id`` in ``round_id``."""
    query = select(m.Assignment.annotator_id).where(
        m.Assignment.round_id == round_id, m.Assignment.image_id == image_id
    )
    return list(session.scalars(query))


def latest_submission_ids(session: Session, *, round_id: int, image_id: int) -> dict[int, int]:
    """``annotator id -> latest submission id`` for ``image_id`` in ``round_id``."""
    rows = session.execute(
        select(m.Assignment.annotator_id, m.Submission.id, m.Submission.version)
        .join(m.Submission, col(m.Submission.assignment_id) == m.Assignment.id)
        .where(m.Assignment.round_id == round_id, m.Assignment.image_id == image_id)
        .order_by(col(m.Assignment.annotator_id), col(m.Submission.version))
    )
    return {int(annotator): int(submission) for annotator, submission, _ in rows}


def image_flags(session: Session, *, round_id: int, image_id: int) -> list[m.Flag]:
    """The flags of one image in one round, most severe first."""
    query = (
        select(m.Flag)
        .where(m.Flag.round_id == round_id, m.Flag.image_id == image_id)
        .order_by(col(m.Flag.severity).desc(), col(m.Flag.id))
    )
    return list(session.scalars(query))


def item_decisions(session: Session, *, item_id: int) -> list[m.Decision]:
    """The decisions made on a review item, oldest first."""
    query = select(m.Decision).where(m.Decision.review_item_id == item_id).order_by(col(m.Decision.id))
    return list(session.scalars(query))


def class_names(session: Session, *, project_id: int) -> dict[int, str]:
    """``class id -> name`` of a project's classes."""
    rows = session.execute(
        select(m.LabelClass.class_id, m.LabelClass.name).where(m.LabelClass.project_id == project_id)
    )
    return {int(class_id): str(name) for class_id, name in rows}


def image_path(session: Session, *, image_id: int) -> str | None:
    """Where the image's pixels are stored, or ``None`` (no such image, or no file)."""
    image = session.get(m.Image, image_id)
    return None if image is None else image.path


# --- decisions ---------------------------------------------------------------------------------------------


def add_decision(
    session: Session,
    *,
    item_id: int,
    reviewer_id: int,
    kind: str,
    submission_id: int | None,
    note: str,
    feedback: Mapping[int, str] | None,
) -> int:
    """Store a decision (``feedback`` keyed by annotator id); returns its id."""
    texts = {str(k): v for k, v in (feedback or {}).items()} or None
    row = m.Decision(
        review_item_id=item_id,
        reviewer_id=reviewer_id,
        kind=kind,
        target_submission_id=submission_id,
        note=note,
        feedback=texts,
    )
    session.add(row)
    session.flush()
    return _id(row)


def mark_image_result(
    session: Session, *, round_id: int, image_id: int, review: Mapping[str, Any], accepted: bool
) -> None:
    """Record the latest decision in the image's result (``summary["review"]``); ``accepted`` sets its verdict."""
    query = select(m.ImageResult).where(m.ImageResult.round_id == round_id, m.ImageResult.image_id == image_id)
    result = session.scalars(query).first()
    if result is None:
        return
    result.summary = {**(result.summary or {}), "review": dict(review)}
    if accepted:
        result.verdict = Verdict.ACCEPTED.value
    session.add(result)
    session.flush()


def rework_decisions(session: Session) -> list[tuple[m.Decision, int, str]]:
    """Every decision that sent work back (``rework``, or ``resolve`` with feedback: objects sent back) with its
    round id and image file name, newest first."""
    query = (
        select(m.Decision, m.ReviewItem.round_id, m.Image.file_name)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Decision.review_item_id)
        .join(m.Image, col(m.Image.id) == m.ReviewItem.image_id)
        .where(
            or_(
                col(m.Decision.kind) == m.DecisionKind.REWORK.value,
                (col(m.Decision.kind) == m.DecisionKind.RESOLVE.value) & col(m.Decision.feedback).is_not(None),
            )
        )
        .order_by(col(m.Decision.id).desc())
    )
    return [(decision, int(round_id), str(file_name)) for decision, round_id, file_name in session.execute(query)]


# --- the queue page ----------------------------------------------------------------------------------------


def queue_items(
    session: Session, *, status: str | None = None, claimed_by: int | None = None
) -> list[tuple[m.ReviewItem, str]]:
    """Review items (of one status, or claimed by one person, when given) with their image's file name, by id."""
    query = select(m.ReviewItem, m.Image.file_name).join(m.Image, col(m.Image.id) == m.ReviewItem.image_id)
    if status is not None:
        query = query.where(m.ReviewItem.status == status)
    if claimed_by is not None:
        query = query.where(m.ReviewItem.claimed_by == claimed_by)
    return [(item, str(file_name)) for item, file_name in session.execute(query.order_by(col(m.ReviewItem.id)))]


def flags_of_images(session: Session, *, image_ids: Iterable[int]) -> list[m.Flag]:
    """Every flag of these images, in any round."""
    return list(session.scalars(select(m.Flag).where(col(m.Flag.image_id).in_(list(image_ids)))))


def assignments_of_images(session: Session, *, image_ids: Iterable[int]) -> list[tuple[int, int, int]]:
    """``(round id, image id, annotator id)`` of every assignment of these images."""
    query = select(m.Assignment.round_id, m.Assignment.image_id, m.Assignment.annotator_id).where(
        col(m.Assignment.image_id).in_(list(image_ids))
    )
    return [(int(r), int(i), int(a)) for r, i, a in session.execute(query)]


def flag_kinds(session: Session) -> list[str]:
    """The kinds of flag stored so far, sorted."""
    return sorted(set(session.scalars(select(m.Flag.kind).distinct())))


def class_choices(session: Session) -> list[tuple[int, str]]:
    """The distinct ``(class id, name)`` pairs of every project."""
    rows = session.execute(select(m.LabelClass.class_id, m.LabelClass.name).distinct())
    return [(int(class_id), str(name)) for class_id, name in rows]


def all_rounds(session: Session) -> list[m.Round]:
    """Every round, by id."""
    return list(session.scalars(select(m.Round).order_by(col(m.Round.id))))


# --- internals ---------------------------------------------------------------------------------------------


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


def _id(row: Any) -> int:
    if row.id is None:  # pragma: no cover - rows are flushed first
        raise NotFoundError("row has no id yet: flush the session first")
    return int(row.id)
