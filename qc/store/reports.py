"""The reads of the manager's report (:mod:`reports`): the rows of some rounds, one query per table.

Every function takes the session first and keyword-only arguments and only reads. Bulk rows
come back as typed named tuples (immutable, and a list of them is what a pandas frame is built
from at no extra cost); the column names of each tuple are the report's frame columns. Segment
rows are read through :mod:`qc.store.segments` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, Select, Table, select
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import Session, SQLModel

from qc.errors import NotFoundError
from qc.store import models as m
from qc.store.db import largest_id

__all__ = [
    "AssignmentRow",
    "DecisionRow",
    "FlagRow",
    "GuidelineHash",
    "ImageRow",
    "ImageSize",
    "ResultRow",
    "ReviewRow",
    "RoundRow",
    "ScoreRow",
    "class_names",
    "decision_rows",
    "file_names",
    "flag_boxes",
    "guideline_hashes",
    "image_flags",
    "image_results",
    "image_sizes",
    "people_names",
    "project_assignments",
    "project_images",
    "project_rounds",
    "project_task",
    "review_rows",
    "round_flags",
    "round_name",
    "round_rows",
    "round_scores",
    "rounds_for",
    "submission_hashes",
]


class RoundRow(NamedTuple):
    round_id: int
    project_id: int
    name: str | None
    kind: str
    status: str
    guideline_version_id: int | None


class ImageRow(NamedTuple):
    image_id: int
    file_name: str
    width: int
    height: int
    path: str | None


class ResultRow(NamedTuple):
    round_id: int
    image_id: int
    verdict: str
    labels_spent: int


class ScoreRow(NamedTuple):
    round_id: int
    image_id: int
    kind: str
    annotators: list[int]
    category_id: int | None
    metric: str
    value: float | None
    detail: dict[str, Any] | None


class FlagRow(NamedTuple):
    round_id: int
    image_id: int
    kind: str
    level: str
    category_id: int | None
    x: int | None
    y: int | None
    w: int | None
    h: int | None
    annotators: list[int]
    severity: float
    message: str


class AssignmentRow(NamedTuple):
    round_id: int
    image_id: int
    annotator_id: int
    kind: str


class ReviewRow(NamedTuple):
    review_item_id: int
    round_id: int
    image_id: int
    status: str
    queued_at: datetime


class DecisionRow(NamedTuple):
    decision_id: int
    review_item_id: int
    round_id: int
    image_id: int
    reviewer_id: int
    kind: str
    note: str
    feedback: dict[str, Any] | None
    decided_at: datetime


class GuidelineHash(NamedTuple):
    version: str
    sha256: str


class ImageSize(NamedTuple):
    image_id: int
    height: int
    width: int
    path: str | None


Box = tuple[int, int, int, int]
"""A COCO box: ``x, y, w, h``."""


def _table(model: type[SQLModel]) -> Table:
    return m.metadata.tables[str(model.__tablename__)]


def _c(model: type[SQLModel]) -> ReadOnlyColumnCollection[str, Column[Any]]:
    """The Core columns of a model's table: selects of many columns stay typed."""
    return _table(model).c


# --- which rounds ----------------------------------------------------------------------------------------


def rounds_for(session: Session, *, round_id: int | None = None, project: str | None = None) -> list[int]:
    """The rounds a report covers: one round, or every round of a project (oldest first)."""
    if round_id is not None:
        if not 0 < round_id <= largest_id(session.get_bind()) or session.get(m.Round, round_id) is None:
            raise NotFoundError(f"no round {round_id}; list rounds with qc round status", field="round")
        return [round_id]
    if project is None:
        raise NotFoundError("a report needs a round (--round N) or a project (--project NAME)", field="round")
    project_id = session.scalars(select(_c(m.Project).id).where(_c(m.Project).name == project)).first()
    if project_id is None:
        raise NotFoundError(f"no project named {project!r}; create it with qc project init", field="project")
    r = _c(m.Round)
    return [int(i) for i in session.scalars(select(r.id).where(r.project_id == project_id).order_by(r.id))]


def round_name(session: Session, *, round_id: int) -> str | None:
    """The round's name (``None`` when it has none or there is no such round)."""
    row = session.get(m.Round, round_id)
    return row.name if row is not None else None


def round_rows(session: Session, *, round_ids: Sequence[int]) -> list[RoundRow]:
    """The rows of ``round_ids`` (in no particular order)."""
    r = _c(m.Round)
    query = select(r.id, r.project_id, r.name, r.kind, r.status, r.guideline_version_id)
    return [RoundRow(*row) for row in session.execute(query.where(r.id.in_(list(round_ids))))]


def project_task(session: Session, *, project_id: int) -> str | None:
    """The project's task type (semantic, instance or panoptic); ``None`` when there is no such project."""
    project = session.get(m.Project, project_id)
    return project.task_type if project is not None else None


def project_rounds(session: Session, *, project_ids: Sequence[int]) -> list[int]:
    """The ids of every round of the projects."""
    r = _c(m.Round)
    query = select(r.id).where(r.project_id.in_(list(project_ids)))
    return [int(i) for i in session.scalars(query)]


# --- the report's tables ---------------------------------------------------------------------------------


def project_images(session: Session, *, project_ids: Sequence[int]) -> list[ImageRow]:
    """Every image of the projects."""
    i = _c(m.Image)
    query = select(i.id, i.file_name, i.width, i.height, i.path).where(i.project_id.in_(list(project_ids)))
    return [ImageRow(*row) for row in session.execute(query)]


def image_results(session: Session, *, round_ids: Sequence[int]) -> list[ResultRow]:
    """The stored verdict and labels spent of every scored image of the rounds."""
    r = _c(m.ImageResult)
    query = select(r.round_id, r.image_id, r.verdict, r.labels_spent).where(r.round_id.in_(list(round_ids)))
    return [ResultRow(*row) for row in session.execute(query)]


def round_scores(session: Session, *, round_ids: Sequence[int]) -> list[ScoreRow]:
    """Every score row of the rounds (``value`` ``None`` is NaN)."""
    s = _c(m.Score)
    query = select(s.round_id, s.image_id, s.kind, s.annotators, s.category_id, s.metric, s.value, s.detail)
    return [ScoreRow(*row) for row in session.execute(query.where(s.round_id.in_(list(round_ids))))]


def round_flags(session: Session, *, round_ids: Sequence[int]) -> list[FlagRow]:
    """Every flag of the rounds, its bbox as ``x, y, w, h``."""
    query = _flag_query().where(_c(m.Flag).round_id.in_(list(round_ids)))
    return [FlagRow(*row) for row in session.execute(query)]


def _flag_query() -> Select[Any]:
    """The columns of :class:`FlagRow`."""
    f = _c(m.Flag)
    columns = (f.round_id, f.image_id, f.kind, f.level, f.category_id, f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h)
    return select(*columns, f.annotators, f.severity, f.message)


def project_assignments(session: Session, *, project_ids: Sequence[int]) -> list[AssignmentRow]:
    """Every assignment of every round of the projects (rework rates look beyond the report's rounds)."""
    a = _c(m.Assignment)
    rounds = project_rounds(session, project_ids=project_ids)
    query = select(a.round_id, a.image_id, a.annotator_id, a.kind).where(a.round_id.in_(rounds))
    return [AssignmentRow(*row) for row in session.execute(query)]


def review_rows(session: Session, *, round_ids: Sequence[int]) -> list[ReviewRow]:
    """The review items of the rounds; ``queued_at`` is when the item was created."""
    r = _c(m.ReviewItem)
    query = select(r.id, r.round_id, r.image_id, r.status, r.created_at).where(r.round_id.in_(list(round_ids)))
    return [ReviewRow(*row) for row in session.execute(query)]


def decision_rows(session: Session, *, round_ids: Sequence[int]) -> list[DecisionRow]:
    """The decisions on the rounds' review items, oldest first."""
    d, r = _c(m.Decision), _c(m.ReviewItem)
    query = (
        select(d.id, d.review_item_id, r.round_id, r.image_id, d.reviewer_id, d.kind, d.note, d.feedback, d.created_at)
        .join(_table(m.ReviewItem), r.id == d.review_item_id)
        .where(r.round_id.in_(list(round_ids)))
        .order_by(d.id)
    )
    return [DecisionRow(*row) for row in session.execute(query)]


def people_names(session: Session) -> dict[int, str]:
    """``person id -> name`` of everyone."""
    p = _c(m.Person)
    return {int(k): str(v) for k, v in session.execute(select(p.id, p.name)).all()}


def class_names(session: Session, *, project_ids: Sequence[int]) -> dict[int, str]:
    """``class id -> name`` of the projects' label classes."""
    c = _c(m.LabelClass)
    rows = session.execute(select(c.class_id, c.name).where(c.project_id.in_(list(project_ids))))
    return {int(k): str(v) for k, v in rows.all()}


# --- reproducibility -------------------------------------------------------------------------------------


def guideline_hashes(session: Session, *, version_ids: Iterable[int]) -> list[GuidelineHash]:
    """Version and text hash of each stored guideline version asked for (in id order; unknown ids skipped)."""
    out = []
    for version_id in sorted(set(version_ids)):
        row = session.get(m.GuidelineVersion, version_id)
        if row is not None:
            out.append(GuidelineHash(row.version, row.text_hash))
    return out


def submission_hashes(session: Session, *, round_ids: Sequence[int]) -> list[str]:
    """The content hash of every submission (every version) to the rounds, sorted."""
    s, a = _c(m.Submission), _c(m.Assignment)
    query = select(s.content_hash).join(_table(m.Assignment), a.id == s.assignment_id)
    query = query.where(a.round_id.in_(list(round_ids)))
    return sorted(session.scalars(query))


# --- thumbnails and the summary page ---------------------------------------------------------------------


def image_sizes(session: Session, *, image_ids: Sequence[int]) -> list[ImageSize]:
    """Height, width and pixel path of the images asked for."""
    i = _c(m.Image)
    query = select(i.id, i.height, i.width, i.path).where(i.id.in_(list(image_ids)))
    return [ImageSize(*row) for row in session.execute(query)]


def flag_boxes(session: Session, *, round_id: int, image_ids: Sequence[int]) -> dict[int, list[Box]]:
    """``image id -> [(x, y, w, h), ...]``: the boxes of the images' image-level findings (boxless ones left out)."""
    f = _c(m.Flag)
    query = select(f.image_id, f.bbox_x, f.bbox_y, f.bbox_w, f.bbox_h)
    query = query.where(f.round_id == round_id, f.level == "image", f.image_id.in_(list(image_ids)))
    out: dict[int, list[Box]] = {}
    for image_id, x, y, w, h in session.execute(query):
        if None not in (x, y, w, h):
            out.setdefault(int(image_id), []).append((int(x), int(y), int(w), int(h)))
    return out


def file_names(session: Session, *, image_ids: Iterable[int]) -> dict[int, str]:
    """``image id -> file name`` of the images asked for."""
    i = _c(m.Image)
    query = select(i.id, i.file_name).where(i.id.in_(list(image_ids)))
    return {int(k): str(v) for k, v in session.execute(query).all()}


def image_flags(session: Session, *, round_id: int) -> dict[int, list[FlagRow]]:
    """``image id -> flags`` of one round, each image's flags worst (highest severity) first."""
    f = _c(m.Flag)
    query = _flag_query().where(f.round_id == round_id).order_by(f.image_id, f.severity.desc(), f.id)
    out: dict[int, list[FlagRow]] = {}
    for row in session.execute(query):
        out.setdefault(int(row.image_id), []).append(FlagRow(*row))
    return out
