"""Store functions for projects, people, rounds, assignments and the event log.

Every function takes the session first and keyword-only arguments, flushes (so ids are
set) and leaves the commit to the caller (:func:`qc.store.db.session_scope`), so writes
that belong together share one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import func, insert, update
from sqlmodel import Session, SQLModel, col, select

from qc.core import AssignmentKind, Category, ImageInfo, Task
from qc.errors import ConflictError, InvalidOptionError, NotFoundError
from qc.limits import MAX_NAME_LENGTH
from qc.store import models as m
from qc.store.db import largest_id

__all__ = [
    "add_assignments",
    "add_guideline_version",
    "add_images",
    "add_label_classes",
    "add_person",
    "check_person_name",
    "create_project",
    "create_round",
    "find_person",
    "find_project",
    "get_row",
    "list_assignments",
    "list_events",
    "record_event",
    "remove_person",
]

RowT = TypeVar("RowT", bound=SQLModel)


def _choice(value: str, enum: type[StrEnum], field: str) -> str:
    """``value`` when ``enum`` has it; else :class:`InvalidOptionError` listing the valid values."""
    valid = [member.value for member in enum]
    if value not in valid:
        raise InvalidOptionError(field, valid, value)
    return value


def get_row(session: Session, model: type[RowT], row_id: int) -> RowT:
    """The row of ``model`` with id ``row_id``; :class:`NotFoundError` when there is none.

    An id no row can have (0, negative, or beyond the database's integer range: see
    :func:`~qc.store.db.largest_id`) is not looked up, so it is "not found" too, not a driver's overflow.
    """
    in_range = isinstance(row_id, int) and 0 < row_id <= largest_id(session.get_bind())
    row = session.get(model, row_id) if in_range else None
    if row is None:
        table = getattr(model, "__tablename__", model.__name__)
        raise NotFoundError(f"no {table} with id {row_id}; check the id (list them first)", field=f"{table}.id")
    return row


def create_project(session: Session, *, name: str, task_type: str) -> m.Project:
    """A new project (``task_type``: semantic, instance or panoptic); names are unique."""
    if session.scalar(select(m.Project.id).where(m.Project.name == name)) is not None:
        raise ConflictError(f"a project named {name!r} exists already; choose another name", field="name")
    project = m.Project(name=name, task_type=_choice(task_type, Task, "task_type"))
    session.add(project)
    session.flush()
    return project


def find_project(session: Session, *, name: str) -> m.Project:
    """The project called ``name``; :class:`NotFoundError` listing the projects when there is none."""
    row = session.scalars(select(m.Project).where(m.Project.name == name)).first()
    if row is None or row.id is None:
        known = ", ".join(session.scalars(select(m.Project.name).order_by(col(m.Project.name)))) or "none"
        raise NotFoundError(f"no project named {name!r} (projects: {known}); create it with qc init", field="project")
    return row


def add_label_classes(session: Session, *, project_id: int, categories: Iterable[Category]) -> list[m.LabelClass]:
    """Add a project's classes (``thing`` when ``Category.isthing``, else ``stuff``)."""
    get_row(session, m.Project, project_id)
    rows = [
        m.LabelClass(project_id=project_id, class_id=c.id, name=c.name, kind="thing" if c.isthing else "stuff")
        for c in categories
    ]
    session.add_all(rows)
    session.flush()
    return rows


def add_guideline_version(session: Session, *, project_id: int, version: str, text: str) -> m.GuidelineVersion:
    """Keep one guideline version verbatim with its SHA-256."""
    get_row(session, m.Project, project_id)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row = m.GuidelineVersion(project_id=project_id, version=version, text_hash=digest, text=text)
    session.add(row)
    session.flush()
    return row


def add_images(
    session: Session,
    *,
    project_id: int,
    images: Iterable[ImageInfo],
    paths: Mapping[str, str] | None = None,
) -> list[m.Image]:
    """Add images by file name (``paths`` optionally maps a file name to its pixels); returns them in order.

    A file name already in the project is reused when its size agrees, and is a
    :class:`ConflictError` when it does not.
    """
    get_row(session, m.Project, project_id)
    wanted = list(images)
    existing = {
        row.file_name: row
        for row in session.scalars(
            select(m.Image).where(
                m.Image.project_id == project_id, col(m.Image.file_name).in_([i.file_name for i in wanted])
            )
        )
    }
    rows: list[m.Image] = []
    for info in wanted:
        row = existing.get(info.file_name)
        if row is None:
            path = (paths or {}).get(info.file_name)
            row = m.Image(
                project_id=project_id, file_name=info.file_name, width=info.width, height=info.height, path=path
            )
            session.add(row)
            existing[info.file_name] = row
        elif (row.height, row.width) != (info.height, info.width):
            raise ConflictError(
                f"image {info.file_name!r} is stored as {row.height}x{row.width} (h x w) but given as "
                f"{info.height}x{info.width}; fix the size or use another file name",
                image_id=info.file_name,
            )
        rows.append(row)
    session.flush()
    return rows


def check_person_name(name: Any, *, field: str = "name") -> str:
    """``name`` when it can name a person, else :class:`InvalidOptionError` (showing at most 40 of its characters).

    A name is 1 to :data:`~qc.limits.MAX_NAME_LENGTH` printable characters (no control
    characters, no undecodable bytes of a file name), with at least one letter or digit
    (so ``..`` or ``[/]`` is not a name) and no space at either end.

    >>> check_person_name("ana"), check_person_name("José M.")
    ('ana', 'José M.')
    >>> for bad in ("..", "[/]", " ana", "a" * 65):
    ...     try:
    ...         check_person_name(bad)
    ...     except InvalidOptionError as error:
    ...         print(error.got)
    ..
    [/]
     ana
    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... (65 characters)
    """
    shown = name if not isinstance(name, str) or len(name) <= 40 else f"{name[:40]}... ({len(name):,} characters)"
    if (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and name.isprintable()
        and name == name.strip()
        and any(c.isalnum() for c in name)
    ):
        return name
    wanted = f"1 to {MAX_NAME_LENGTH} printable characters with a letter or digit"
    raise InvalidOptionError(field, wanted, shown)


def add_person(session: Session, *, name: str, roles: Sequence[str], token_hash: str | None = None) -> m.Person:
    """A new person with ``roles`` (annotator, reviewer, lead, manager); names are unique and checked
    (:func:`check_person_name`)."""
    check_person_name(name)
    if session.scalar(select(m.Person.id).where(m.Person.name == name)) is not None:
        raise ConflictError(f"a person named {name!r} exists already; choose another name", field="name")
    checked = sorted({_choice(role, m.Role, "roles") for role in roles})
    person = m.Person(name=name, roles=checked, token_hash=token_hash)
    session.add(person)
    session.flush()
    return person


def find_person(session: Session, *, name: str) -> m.Person:
    """The person called ``name``; :class:`NotFoundError` when there is none (or ``name`` cannot be a name)."""
    valid = name.encode("utf-8", "replace").decode("utf-8") == name
    person = session.scalars(select(m.Person).where(m.Person.name == name)).first() if valid else None
    if person is None:
        raise NotFoundError(f"no person named {name[:80]!r}; add them first (add_person)", field="name")
    return person


def remove_person(session: Session, *, name: str) -> None:
    """Remove a person who has no work: no assignment (so no submission), decision, claimed item or recorded action.

    Rejections of files delivered under their name keep the file's path but no longer name
    them. A person with work is a :class:`ConflictError` naming what they have.
    """
    person = find_person(session, name=name)
    work = _work_of(session, int(person.id or 0))
    if work:
        raise ConflictError(
            f"person {name!r} cannot be removed: they have {', '.join(work)}. Only a person without work "
            "(e.g. created by mistake from a file name) can be removed",
            field="name",
        )
    session.execute(update(m.Rejection).where(col(m.Rejection.annotator_id) == person.id).values(annotator_id=None))
    session.delete(person)
    session.flush()


def _work_of(session: Session, person_id: int) -> list[str]:
    """What ties a person to the record, as phrases (``3 assignments``), leaving out what is zero."""
    counts = {
        "assignment": select(func.count()).where(m.Assignment.annotator_id == person_id),
        "decision": select(func.count()).where(m.Decision.reviewer_id == person_id),
        "claimed review item": select(func.count()).where(m.ReviewItem.claimed_by == person_id),
        "recorded action": select(func.count()).where(m.Event.actor_id == person_id),
    }
    found = {what: int(session.scalar(query) or 0) for what, query in counts.items()}
    return [f"{n} {what}{'s' if n != 1 else ''}" for what, n in found.items() if n]


def create_round(
    session: Session,
    *,
    project_id: int,
    kind: str = "consensus",
    k: int = 3,
    guideline_version_id: int | None = None,
    name: str | None = None,
) -> m.Round:
    """A new open round of ``kind`` (consensus, gold, rework) routing each image to ``k`` annotators."""
    get_row(session, m.Project, project_id)
    if k < 1:
        raise InvalidOptionError("k", "at least 1", k, hint="k is the number of annotators per image")
    if guideline_version_id is not None:
        get_row(session, m.GuidelineVersion, guideline_version_id)
    row = m.Round(
        project_id=project_id,
        kind=_choice(kind, m.RoundKind, "kind"),
        k=k,
        guideline_version_id=guideline_version_id,
        name=name,
    )
    session.add(row)
    session.flush()
    return row


def add_assignments(
    session: Session, *, round_id: int, pairs: Iterable[tuple[int, int]], kind: str = "consensus"
) -> int:
    """Assign ``(image_id, annotator_id)`` pairs in a round; returns how many were new (existing ones are kept).

    ``kind``: consensus, gold, followup (adaptive overlap) or rework.
    """
    kind = _choice(kind, AssignmentKind, "kind")
    round_row = get_row(session, m.Round, round_id)
    wanted = list(dict.fromkeys(pairs))
    _check_images_in_project(session, project_id=round_row.project_id, image_ids={i for i, _ in wanted})
    existing = set(
        session.execute(
            select(m.Assignment.image_id, m.Assignment.annotator_id).where(m.Assignment.round_id == round_id)
        )
    )
    now = m.utcnow()
    rows = [
        {"round_id": round_id, "image_id": image_id, "annotator_id": annotator_id, "created_at": now, "kind": kind}
        for image_id, annotator_id in wanted
        if (image_id, annotator_id) not in existing
    ]
    if rows:
        session.execute(insert(m.Assignment), rows)
    return len(rows)


def _check_images_in_project(session: Session, *, project_id: int, image_ids: set[int]) -> None:
    if not image_ids:
        return
    found = set(
        session.scalars(select(m.Image.id).where(m.Image.project_id == project_id, col(m.Image.id).in_(image_ids)))
    )
    missing = sorted(image_ids - found)
    if missing:
        raise NotFoundError(
            f"images {missing[:10]} are not in project {project_id}; add them with add_images first",
            image_id=missing[0],
        )


def list_assignments(session: Session, *, round_id: int, annotator_id: int | None = None) -> list[m.Assignment]:
    """A round's assignments (of one annotator when given), ordered by id."""
    query = select(m.Assignment).where(m.Assignment.round_id == round_id)
    if annotator_id is not None:
        query = query.where(m.Assignment.annotator_id == annotator_id)
    return list(session.scalars(query.order_by(col(m.Assignment.id))))


def record_event(
    session: Session,
    *,
    verb: str,
    object_type: str,
    object_id: int | None = None,
    actor_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
) -> m.Event:
    """Append one row to the audit trail (events are never updated or deleted)."""
    row = m.Event(
        verb=verb, object_type=object_type, object_id=object_id, actor_id=actor_id, payload=dict(payload or {})
    )
    session.add(row)
    session.flush()
    return row


def list_events(
    session: Session, *, object_type: str | None = None, object_id: int | None = None, verb: str | None = None
) -> list[m.Event]:
    """Events in the order they happened, optionally of one object or verb."""
    query = select(m.Event)
    if object_type is not None:
        query = query.where(m.Event.object_type == object_type)
    if object_id is not None:
        query = query.where(m.Event.object_id == object_id)
    if verb is not None:
        query = query.where(m.Event.verb == verb)
    return list(session.scalars(query.order_by(col(m.Event.id))))
