"""Annotator reliability in the store: the observations scoring left, the stored figures, gold failures.

Scoring keeps one small row per object and annotator in ``image_result.summary["observations"]``
(:mod:`qc.rounds._observations`); :func:`round_observations` reads them back for a reduction
over rounds. :func:`replace_reliability` stores the figures of one round (or, with
``round_id=None``, of the whole project) in place of the previous ones, and
:func:`reliability_rows` reads them. :func:`gold_failures` counts, per annotator, the gold
images on which they were flagged ``gold_mismatch``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete
from sqlmodel import Session, col, select

from qc.store import models as m

__all__ = [
    "ImageObservations",
    "OwnReliability",
    "gold_failures",
    "own_reliability",
    "project_round_ids",
    "reliability_rows",
    "replace_reliability",
    "round_observations",
]


class ImageObservations(NamedTuple):
    """The stored observation rows of one image's current result in one round."""

    round_id: int
    image_id: int
    rows: list[dict[str, Any]]


def project_round_ids(session: Session, *, project_id: int) -> list[int]:
    """The ids of the project's rounds, oldest first."""
    query = select(m.Round.id).where(m.Round.project_id == project_id).order_by(col(m.Round.id))
    return [int(i) for i in session.scalars(query) if i is not None]


def round_observations(session: Session, *, round_ids: Sequence[int]) -> list[ImageObservations]:
    """Every scored image's observation rows in ``round_ids`` (images scored before 0007 have none)."""
    query = (
        select(m.ImageResult.round_id, m.ImageResult.image_id, m.ImageResult.summary)
        .where(col(m.ImageResult.round_id).in_(list(round_ids)))
        .order_by(col(m.ImageResult.round_id), col(m.ImageResult.image_id))
    )
    return [
        ImageObservations(int(r), int(i), list((summary or {}).get("observations", [])))
        for r, i, summary in session.execute(query)
    ]


def replace_reliability(
    session: Session, *, project_id: int, round_id: int | None, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Store ``rows`` (columns of :class:`~qc.store.models.AnnotatorReliability`) in place of the
    round's (or, with ``round_id=None``, the project's) previous figures; how many were stored."""
    table = m.AnnotatorReliability
    where = col(table.round_id).is_(None) if round_id is None else col(table.round_id) == round_id
    session.execute(delete(table).where(col(table.project_id) == project_id, where))
    session.add_all(table(project_id=project_id, round_id=round_id, **row) for row in rows)
    session.flush()
    return len(rows)


def reliability_rows(
    session: Session, *, project_id: int, round_ids: Sequence[int] | None = None
) -> list[m.AnnotatorReliability]:
    """The project's figures (``round_id`` ``NULL``) and those of ``round_ids`` (all rounds when ``None``)."""
    table = m.AnnotatorReliability
    query = select(table).where(table.project_id == project_id)
    if round_ids is not None:
        query = query.where(col(table.round_id).is_(None) | col(table.round_id).in_(list(round_ids)))
    return list(session.scalars(query.order_by(col(table.round_id), col(table.person_id))))


class OwnReliability(NamedTuple):
    """One person's stored reliability in one scope, named: ``round`` is ``None`` for the project-wide row."""

    project: str
    round: str | None
    row: m.AnnotatorReliability


def own_reliability(session: Session, *, person_id: int) -> list[OwnReliability]:
    """Every stored reliability row of one person (and of nobody else), project-wide rows first, newest rounds next."""
    table = m.AnnotatorReliability
    query = (
        select(m.Project.name, m.Round.name, m.Round.id, table)
        .join(m.Project, col(m.Project.id) == table.project_id)
        .outerjoin(m.Round, col(m.Round.id) == table.round_id)
        .where(table.person_id == person_id)
        .order_by(col(m.Project.name), col(table.round_id).is_not(None), col(table.round_id).desc())
    )
    return [
        OwnReliability(project, None if round_id is None else (name or f"round {round_id}"), row)
        for project, name, round_id, row in session.execute(query)
    ]


def gold_failures(session: Session, *, project_id: int) -> dict[int, int]:
    """Per person id: on how many gold images (round, image) of the project they were flagged ``gold_mismatch``."""
    query = (
        select(m.Flag.round_id, m.Flag.image_id, m.Flag.annotators)
        .join(m.Round, col(m.Round.id) == m.Flag.round_id)
        .where(m.Round.project_id == project_id, m.Flag.kind == "gold_mismatch")
    )
    images: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for round_id, image_id, annotators in session.execute(query):
        for person in annotators or []:
            images[int(person)].add((int(round_id), int(image_id)))
    return {person: len(seen) for person, seen in sorted(images.items())}
