"""Store functions of the Label Studio connector (the tables of :mod:`qc.store._models_connect`).

A project's connection (URL and token fingerprint), the Label Studio project of each
annotator and round, the task of each assignment, and the annotations a sync read with their
``lead_time``. No token is ever stored here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from qc.store import _models_connect as c
from qc.store import models as m

__all__ = [
    "LeadTimeRow",
    "TaskLink",
    "add_remote_project",
    "add_remote_tasks",
    "connection_for",
    "image_paths",
    "lead_time_rows",
    "record_annotation",
    "remote_project",
    "round_task_links",
    "set_connection",
]


@dataclass(frozen=True)
class TaskLink:
    """One assignment of a round and its Label Studio task."""

    assignment_id: int
    image_id: int
    annotator_id: int
    file_name: str
    remote_project_id: int
    remote_id: int


class LeadTimeRow(NamedTuple):
    """The time Label Studio measured for one assignment's latest read annotation (seconds)."""

    round_id: int
    image_id: int
    annotator_id: int
    lead_time: float


def set_connection(
    session: Session, *, project_id: int, url: str, fingerprint: str, document_root: str | None
) -> c.LabelStudioConnection:
    """Record (or replace) the project's Label Studio server, the fingerprint of its token, its files' folder."""
    row = connection_for(session, project_id=project_id) or c.LabelStudioConnection(
        project_id=project_id, url=url, token_fingerprint=fingerprint
    )
    row.url, row.token_fingerprint, row.document_root = url, fingerprint, document_root
    session.add(row)
    session.flush()
    return row


def connection_for(session: Session, *, project_id: int) -> c.LabelStudioConnection | None:
    """The project's connection, or ``None`` when it is not connected."""
    query = select(c.LabelStudioConnection).where(c.LabelStudioConnection.project_id == project_id)
    return session.exec(query).first()


def image_paths(session: Session, *, image_ids: Iterable[int]) -> dict[int, str | None]:
    """The stored path of each image (``None``: the project has only its file name)."""
    query = select(col(m.Image.id), col(m.Image.path)).where(col(m.Image.id).in_(list(image_ids)))
    return {int(i or 0): p for i, p in session.exec(query)}


def add_remote_project(session: Session, *, round_id: int, annotator_id: int, remote_id: int) -> None:
    """Record the Label Studio project of one annotator in one round."""
    session.add(c.LabelStudioProject(round_id=round_id, annotator_id=annotator_id, remote_id=remote_id))
    session.flush()


def remote_project(session: Session, *, round_id: int, annotator_id: int) -> int | None:
    """The Label Studio project id of the annotator in the round, or ``None``."""
    query = select(c.LabelStudioProject.remote_id).where(
        c.LabelStudioProject.round_id == round_id, c.LabelStudioProject.annotator_id == annotator_id
    )
    return session.exec(query).first()


def add_remote_tasks(session: Session, *, rows: Iterable[tuple[int, int, int]]) -> None:
    """Record ``(assignment_id, Label Studio project id, Label Studio task id)`` rows."""
    for assignment_id, project_id, task_id in rows:
        session.add(c.LabelStudioTask(assignment_id=assignment_id, remote_project_id=project_id, remote_id=task_id))
    session.flush()


def round_task_links(session: Session, *, round_id: int) -> list[TaskLink]:
    """Every assignment of the round that has a Label Studio task, by assignment id."""
    task = c.LabelStudioTask
    query = (
        sa_select(
            col(m.Assignment.id),
            col(m.Assignment.image_id),
            col(m.Assignment.annotator_id),
            col(m.Image.file_name),
            col(task.remote_project_id),
            col(task.remote_id),
        )
        .join(task, col(task.assignment_id) == col(m.Assignment.id))
        .join(m.Image, col(m.Image.id) == col(m.Assignment.image_id))
        .where(col(m.Assignment.round_id) == round_id)
        .order_by(col(m.Assignment.id))
    )
    return [TaskLink(*row) for row in session.execute(query)]


def record_annotation(
    session: Session,
    *,
    assignment_id: int,
    remote_id: int,
    lead_time: float | None,
    updated_at: str | None,
    submission_id: int | None,
) -> bool:
    """Record what a sync read of one annotation; returns whether anything changed."""
    query = select(c.LabelStudioAnnotation).where(
        c.LabelStudioAnnotation.assignment_id == assignment_id, c.LabelStudioAnnotation.remote_id == remote_id
    )
    row = session.exec(query).first()
    if row is not None and (row.lead_time, row.remote_updated_at, row.submission_id) == (
        lead_time,
        updated_at,
        submission_id,
    ):
        return False
    row = row or c.LabelStudioAnnotation(assignment_id=assignment_id, remote_id=remote_id)
    row.lead_time, row.remote_updated_at, row.submission_id = lead_time, updated_at, submission_id
    row.synced_at = m.utcnow()
    session.add(row)
    session.flush()
    return True


def lead_time_rows(session: Session, *, round_ids: Sequence[int]) -> list[LeadTimeRow]:
    """Per assignment of the rounds, the lead time of its most recently read annotation (none: no row)."""
    ann = c.LabelStudioAnnotation
    query = (
        sa_select(
            col(m.Assignment.round_id), col(m.Assignment.image_id), col(m.Assignment.annotator_id), col(ann.lead_time)
        )
        .join(ann, col(ann.assignment_id) == col(m.Assignment.id))
        .where(col(m.Assignment.round_id).in_(list(round_ids)), col(ann.lead_time).is_not(None))
        .order_by(col(ann.synced_at), col(ann.id))
    )
    latest: dict[tuple[int, int, int], float] = {}
    for round_id, image_id, annotator_id, lead_time in session.execute(query):
        latest[(round_id, image_id, annotator_id)] = float(lead_time)
    return [LeadTimeRow(*key, value) for key, value in sorted(latest.items())]
