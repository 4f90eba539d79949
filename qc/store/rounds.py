"""Store functions the application layer (:mod:`qc.rounds`) needs: projects, guideline versions, people,
images, label classes, rounds and their assignments, rework decisions.

Like the rest of the store, every function takes the session first and keyword-only arguments,
returns rows or frozen dataclasses, and leaves the commit to the caller. Segment rows are read
and written only in :mod:`qc.store.segments`, scores and flags in :mod:`qc.store.results`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from qc.core import Category, ImageInfo
from qc.store import models as m
from qc.store.api import _choice, get_row

__all__ = [
    "OwedImage",
    "PersonRow",
    "ReworkDecision",
    "annotator_ids",
    "assignment_load",
    "assignment_pairs",
    "guideline_version",
    "images_by_id",
    "list_people",
    "newest_guideline_version",
    "open_review_count",
    "person_named",
    "project_image_ids",
    "project_named",
    "rework_decisions",
    "round_categories",
    "round_images",
    "round_named",
    "set_round_status",
    "undelivered_images",
]


@dataclass(frozen=True)
class PersonRow:
    """A person's id, name and roles."""

    id: int
    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class ReworkDecision:
    """A reviewer's ``rework`` decision on an image of a round: the note and the feedback entries."""

    decision_id: int
    image_id: int
    note: str
    feedback: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OwedImage:
    """An assignment of a round with no submission yet: who owes which image (by file name)."""

    annotator: str
    file_name: str


# --- projects and guidelines -----------------------------------------------------------------------------


def project_named(session: Session, *, name: str) -> m.Project | None:
    """The project called ``name``, or ``None`` when there is none."""
    return session.scalars(select(m.Project).where(m.Project.name == name)).first()


def guideline_version(session: Session, *, project_id: int, version: str) -> m.GuidelineVersion | None:
    """The stored guideline ``version`` of a project, or ``None``."""
    query = select(m.GuidelineVersion).where(
        m.GuidelineVersion.project_id == project_id, m.GuidelineVersion.version == version
    )
    return session.scalars(query).first()


def newest_guideline_version(session: Session, *, project_id: int) -> m.GuidelineVersion | None:
    """The guideline version a project stored last, or ``None`` when it has none."""
    query = (
        select(m.GuidelineVersion)
        .where(m.GuidelineVersion.project_id == project_id)
        .order_by(col(m.GuidelineVersion.id).desc())
    )
    return session.scalars(query).first()


def project_image_ids(session: Session, *, project_id: int) -> list[int]:
    """Every image id of a project, in id order."""
    query = select(m.Image.id).where(m.Image.project_id == project_id).order_by(col(m.Image.id))
    return [int(i) for i in session.scalars(query) if i is not None]


def images_by_id(session: Session, *, image_ids: Iterable[int]) -> list[ImageInfo]:
    """The images of ``image_ids`` (file name and size), in id order; unknown ids are left out."""
    query = select(m.Image).where(col(m.Image.id).in_(list(image_ids))).order_by(col(m.Image.id))
    return [ImageInfo(i.id, i.file_name, i.height, i.width) for i in session.scalars(query)]


def round_categories(session: Session, *, round_id: int) -> list[Category]:
    """The label classes of a round's project, by class id (``thing`` classes have ``isthing``)."""
    round_row = get_row(session, m.Round, round_id)
    query = (
        select(m.LabelClass).where(m.LabelClass.project_id == round_row.project_id).order_by(col(m.LabelClass.class_id))
    )
    return [Category(r.class_id, r.name, r.kind == "thing") for r in session.scalars(query)]


# --- people ----------------------------------------------------------------------------------------------


def person_named(session: Session, *, name: str) -> m.Person | None:
    """The person called ``name``, or ``None`` when there is none."""
    return session.scalars(select(m.Person).where(m.Person.name == name)).first()


def list_people(session: Session) -> list[PersonRow]:
    """Everyone, by id: id, name and roles."""
    rows = session.execute(select(m.Person.id, m.Person.name, m.Person.roles).order_by(col(m.Person.id)))
    return [PersonRow(int(i), name, tuple(roles or ())) for i, name, roles in rows]


# --- rounds and assignments ------------------------------------------------------------------------------


def round_named(session: Session, *, project_id: int, name: str) -> int | None:
    """The id of the project's round called ``name``, or ``None``."""
    query = select(m.Round.id).where(m.Round.project_id == project_id, m.Round.name == name)
    return session.scalars(query).first()


def set_round_status(session: Session, *, round_id: int, status: str) -> m.Round:
    """Set a round's status (open, scoring, review, closed); ``closed_at`` is now when closed, else empty.

    Setting the status the round has already changes nothing; another status is :class:`InvalidOptionError`.
    """
    _choice(status, m.RoundStatus, "status")
    round_row = get_row(session, m.Round, round_id)
    if status != round_row.status:
        round_row.status = status
        round_row.closed_at = m.utcnow() if status == m.RoundStatus.CLOSED.value else None
        session.add(round_row)
    return round_row


def round_images(session: Session, *, round_id: int) -> list[ImageInfo]:
    """The images that have an assignment in a round, in id order."""
    assigned = select(m.Assignment.image_id).where(m.Assignment.round_id == round_id)
    query = select(m.Image).where(col(m.Image.id).in_(assigned)).order_by(col(m.Image.id))
    return [ImageInfo(i.id, i.file_name, i.height, i.width) for i in session.scalars(query)]


def annotator_ids(session: Session, *, round_id: int) -> list[int]:
    """The people assigned anything in a round, each once, by id."""
    query = select(m.Assignment.annotator_id).where(m.Assignment.round_id == round_id).distinct()
    return sorted(int(i) for i in session.scalars(query))


def assignment_load(session: Session, *, round_id: int) -> Counter[int]:
    """How many assignments each person has in a round (``annotator_id -> count``)."""
    query = select(m.Assignment.annotator_id).where(m.Assignment.round_id == round_id)
    return Counter(int(i) for i in session.scalars(query))


def assignment_pairs(session: Session, *, round_id: int, image_ids: Sequence[int]) -> list[tuple[int, int]]:
    """``(image_id, annotator_id)`` of a round's assignments of ``image_ids``."""
    query = select(m.Assignment.image_id, m.Assignment.annotator_id).where(
        m.Assignment.round_id == round_id, col(m.Assignment.image_id).in_(list(image_ids))
    )
    return [(int(i), int(a)) for i, a in session.execute(query)]


def undelivered_images(session: Session, *, round_id: int) -> list[OwedImage]:
    """A round's assignments that have no submission yet, as (annotator name, image file name)."""
    delivered = select(m.Submission.assignment_id)
    query = (
        select(m.Person.name, m.Image.file_name)
        .join(m.Assignment, col(m.Person.id) == m.Assignment.annotator_id)
        .join(m.Image, col(m.Image.id) == m.Assignment.image_id)
        .where(m.Assignment.round_id == round_id, col(m.Assignment.id).not_in(delivered))
    )
    return [OwedImage(name, file_name) for name, file_name in session.execute(query)]


# --- review outcomes the rounds act on -------------------------------------------------------------------


def rework_decisions(session: Session, *, round_id: int) -> list[ReworkDecision]:
    """The ``rework`` decisions on a round's review items, in the order they were made."""
    query = (
        select(m.Decision.id, m.ReviewItem.image_id, m.Decision.note, m.Decision.feedback)
        .join(m.ReviewItem, col(m.ReviewItem.id) == m.Decision.review_item_id)
        .where(m.ReviewItem.round_id == round_id, m.Decision.kind == m.DecisionKind.REWORK.value)
        .order_by(col(m.Decision.id))
    )
    rows = session.execute(query)
    return [ReworkDecision(int(d), int(image), note or "", dict(feedback or {})) for d, image, note, feedback in rows]


def open_review_count(session: Session, *, round_id: int) -> int:
    """How many of a round's review items wait for a reviewer (pending or claimed)."""
    query = (
        select(func.count())
        .select_from(m.ReviewItem)
        .where(m.ReviewItem.round_id == round_id, col(m.ReviewItem.status).in_(["pending", "claimed"]))
    )
    return int(session.scalar(query) or 0)
