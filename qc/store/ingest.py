"""Ingest delivered files into submissions (the segment rows themselves are written by :mod:`qc.store.segments`).

A delivered file (one annotator, one round, many images) is matched to the annotator's
assignments by image file name. Each assigned image present in the file becomes one
submission (possibly with zero segments: "nothing to label here"). A submission is
immutable: when the same assignment is delivered again, a submission whose segments are
unchanged (same content hash) stores nothing; a changed one becomes the next ``version``,
and the earlier versions are kept.

Nothing is dropped silently: a segment of an image that is not assigned to the
annotator in this round, of an image whose size differs from the project's, or whose
mask size differs from its image, becomes a stored rejection with the reason, as do the
reader's own rejections (``ParsedAnnotations.rejections``); :mod:`qc.store._ingest_plan`
decides where each segment goes before anything is written.

All the rows of one file (submissions, segments, rejections and the ``ingest`` event) are
written under one savepoint: a failure stores none of them and raises a typed error.
Concurrent ingests for the same annotator and round queue on the assignment rows, so
ingesting one file twice at once still stores it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, and_, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import Session, SQLModel, col, select

from qc.core import Segment
from qc.errors import ConflictError, StoreError
from qc.formats._base import ParsedAnnotations
from qc.store import models as m
from qc.store._ingest_plan import Plan, Target, plan_file
from qc.store.api import get_row, record_event
from qc.store.segments import insert_submission_segments

__all__ = [
    "IngestResult",
    "SubmissionRef",
    "ingest_file",
    "ingest_submission",
    "latest_submissions",
    "list_rejections",
    "segments_hash",
    "sha256_file",
]


@dataclass(frozen=True)
class IngestResult:
    """What one ingest stored.

    ``created``: ids of the new submissions; ``unchanged``: assignment ids whose latest
    submission already had this content; ``missing``: assignment ids the file did not
    deliver; ``segments`` / ``rejections``: rows stored; ``event_id``: the ``ingest``
    event, ``None`` when nothing was stored.
    """

    source_path: str
    source_hash: str
    created: tuple[int, ...] = ()
    unchanged: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    segments: int = 0
    rejections: int = 0
    event_id: int | None = None

    @property
    def stored_nothing(self) -> bool:
        """True when the ingest changed nothing (the same content was stored before)."""
        return self.event_id is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SubmissionRef:
    """The latest submission of one assignment."""

    submission_id: int
    assignment_id: int
    image_id: int
    annotator_id: int
    version: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes: the ``content_hash`` to pass to the ingest functions."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def segments_hash(segments: Iterable[Segment]) -> str:
    """SHA-256 of a submission's content: each segment's id, class, crowd flag and RLE, in id order.

    >>> a = Segment(1, 3, {"size": [2, 2], "counts": [1, 2, 1]})
    >>> segments_hash([a]) == segments_hash([a]) != segments_hash([])
    True
    """
    lines = sorted(
        f"{seg.id}\t{seg.category_id}\t{int(seg.iscrowd)}\t{seg.rle['size'][0]}x{seg.rle['size'][1]}\t{seg.rle['counts']}"
        for seg in segments
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def ingest_file(
    session: Session,
    *,
    round_id: int,
    annotator_id: int,
    parsed: ParsedAnnotations,
    content_hash: str,
    source_path: str | None = None,
    actor_id: int | None = None,
) -> IngestResult:
    """Ingest one annotator's file for a round: one submission per assigned image it contains.

    ``content_hash`` is the file's SHA-256 (:func:`sha256_file`); ``source_path`` defaults
    to ``parsed.path``. Returns what was stored; see the module docstring for the rules.
    """
    _open_round(session, round_id)
    get_row(session, m.Person, annotator_id)
    targets = _targets(session, round_id=round_id, annotator_id=annotator_id)
    return _ingest(
        session,
        round_id=round_id,
        annotator_id=annotator_id,
        targets=targets,
        parsed=parsed,
        source=(source_path or parsed.path, content_hash),
        event_object=("round", round_id),
        actor_id=actor_id,
    )


def ingest_submission(
    session: Session,
    *,
    assignment_id: int,
    parsed: ParsedAnnotations,
    source_path: str,
    content_hash: str,
    actor_id: int | None = None,
) -> IngestResult:
    """Ingest a file for one assignment: the segments of its image; any other image's are rejected."""
    assignment = get_row(session, m.Assignment, assignment_id)
    _open_round(session, assignment.round_id)
    targets = _targets(
        session, round_id=assignment.round_id, annotator_id=assignment.annotator_id, assignment_id=assignment_id
    )
    return _ingest(
        session,
        round_id=assignment.round_id,
        annotator_id=assignment.annotator_id,
        targets=targets,
        parsed=parsed,
        source=(source_path, content_hash),
        event_object=("assignment", assignment_id),
        actor_id=actor_id,
    )


def latest_submissions(
    session: Session, *, round_id: int, image_id: int | None = None, image_ids: Iterable[int] | None = None
) -> list[SubmissionRef]:
    """The latest submission of every assignment of a round (of one image, or of ``image_ids``, when given)."""
    sub, asg = _columns(m.Submission), _columns(m.Assignment)
    newest = (
        sa_select(sub.assignment_id, func.max(sub.version).label("version"))
        .join(_table(m.Assignment), asg.id == sub.assignment_id)
        .where(asg.round_id == round_id)
        .group_by(sub.assignment_id)
        .subquery()
    )
    query = (
        sa_select(sub.id, asg.id, asg.image_id, asg.annotator_id, sub.version)
        .join(newest, and_(sub.assignment_id == newest.c.assignment_id, sub.version == newest.c.version))
        .join(_table(m.Assignment), asg.id == sub.assignment_id)
        .order_by(asg.image_id, asg.annotator_id)
    )
    if image_id is not None:
        query = query.where(asg.image_id == image_id)
    if image_ids is not None:
        query = query.where(asg.image_id.in_(list(image_ids)))
    return [SubmissionRef(*row) for row in session.execute(query)]


def list_rejections(
    session: Session,
    *,
    round_id: int | None = None,
    annotator_id: int | None = None,
    submission_id: int | None = None,
) -> list[m.Rejection]:
    """Stored rejections, oldest first, filtered by round, annotator and/or submission."""
    query = select(m.Rejection)
    for column, value in (
        (m.Rejection.round_id, round_id),
        (m.Rejection.annotator_id, annotator_id),
        (m.Rejection.submission_id, submission_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(col(m.Rejection.id))))


# --- internals -------------------------------------------------------------------------------------------


def _table(model: type[SQLModel]) -> Table:
    return m.metadata.tables[str(model.__tablename__)]


def _columns(model: type[SQLModel]) -> ReadOnlyColumnCollection[str, Column[Any]]:
    return _table(model).c


def _open_round(session: Session, round_id: int) -> m.Round:
    round_row = get_row(session, m.Round, round_id)
    if round_row.status == m.RoundStatus.CLOSED.value:
        raise ConflictError(
            f"round {round_id} is closed and takes no more submissions; deliver to the round that reopened the image",
            field="round.status",
        )
    return round_row


def _targets(
    session: Session, *, round_id: int, annotator_id: int, assignment_id: int | None = None
) -> dict[str, Target]:
    """The annotator's assignments in the round, by image file name.

    The rows are locked (``FOR UPDATE`` on PostgreSQL; a SQLite write session holds the
    database lock already), so concurrent ingests for the same annotator queue, and the later
    one sees what the earlier stored instead of failing on a duplicate version.
    """
    asg, img = _columns(m.Assignment), _columns(m.Image)
    query = (
        sa_select(asg.id, img.id, img.file_name, img.height, img.width)
        .join(_table(m.Image), img.id == asg.image_id)
        .where(asg.round_id == round_id, asg.annotator_id == annotator_id)
        .with_for_update(of=_table(m.Assignment))
    )
    if assignment_id is not None:
        query = query.where(asg.id == assignment_id)
    return {row[2]: Target(*row) for row in session.execute(query)}


def _ingest(
    session: Session,
    *,
    round_id: int,
    annotator_id: int,
    targets: dict[str, Target],
    parsed: ParsedAnnotations,
    source: tuple[str, str],
    event_object: tuple[str, int],
    actor_id: int | None,
) -> IngestResult:
    source_path, source_hash = source
    plan = plan_file(parsed, targets, round_id=round_id)
    fresh, unchanged = _split_fresh(session, plan, round_id=round_id, annotator_id=annotator_id)
    seen = _file_seen(session, round_id=round_id, annotator_id=annotator_id, source_hash=source_hash)
    rejections = [] if seen else plan.rejections
    missing = tuple(sorted({t.assignment_id for t in targets.values()} - set(plan.groups)))
    if not fresh and not rejections:
        return IngestResult(source_path, source_hash, unchanged=unchanged, missing=missing)
    common = {"round_id": round_id, "annotator_id": annotator_id, "source_path": source_path}
    with _atomic(session, source_path):
        created = _insert_submissions(session, fresh, source=source, format_=parsed.format)
        n_segments = insert_submission_segments(session, fresh=fresh, created=created)
        _insert_rejections(session, rejections, created, {**common, "source_hash": source_hash})
        payload = {**common, "source_hash": source_hash, "format": parsed.format}
        payload |= {"submissions": list(created.values()), "unchanged": len(unchanged), "missing": len(missing)}
        payload |= {"segments": n_segments, "rejections": len(rejections)}
        kind, object_id = event_object
        event = record_event(
            session, verb="ingest", object_type=kind, object_id=object_id, actor_id=actor_id, payload=payload
        )
    return IngestResult(
        source_path,
        source_hash,
        created=tuple(created.values()),
        unchanged=unchanged,
        missing=missing,
        segments=n_segments,
        rejections=len(rejections),
        event_id=event.id,
    )


def _split_fresh(
    session: Session, plan: Plan, *, round_id: int, annotator_id: int
) -> tuple[dict[int, tuple[list[Segment], str, int]], tuple[int, ...]]:
    """``({assignment_id: (segments, content hash, next version)}, unchanged assignment ids)``."""
    latest = _latest_hashes(session, round_id=round_id, annotator_id=annotator_id)
    fresh: dict[int, tuple[list[Segment], str, int]] = {}
    unchanged: list[int] = []
    for assignment_id, segments in plan.groups.items():
        digest = segments_hash(segments)
        version, previous = latest.get(assignment_id, (0, None))
        if digest == previous:
            unchanged.append(assignment_id)
        else:
            fresh[assignment_id] = (segments, digest, version + 1)
    return fresh, tuple(sorted(unchanged))


@contextmanager
def _atomic(session: Session, source_path: str) -> Iterator[None]:
    """A savepoint: all of the block's writes, or none of them and a typed error."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise ConflictError(
            f"the database refused the submissions of this file ({exc.orig}); nothing of it was stored. "
            "Annotation ids must be unique within an image: fix the file, or retry",
            path=source_path,
        ) from exc
    except DBAPIError as exc:
        message = f"the database failed while storing this file ({exc.orig}); nothing of it was stored. Retry"
        raise StoreError(message, path=source_path) from exc


def _latest_hashes(session: Session, *, round_id: int, annotator_id: int) -> dict[int, tuple[int, str]]:
    """``{assignment_id: (latest version, its content hash)}`` for the annotator's assignments in the round."""
    sub, asg = _columns(m.Submission), _columns(m.Assignment)
    rows = session.execute(
        sa_select(sub.assignment_id, sub.version, sub.content_hash)
        .join(_table(m.Assignment), asg.id == sub.assignment_id)
        .where(asg.round_id == round_id, asg.annotator_id == annotator_id)
    )
    latest: dict[int, tuple[int, str]] = {}
    for assignment_id, version, digest in rows:
        if version > latest.get(assignment_id, (0, ""))[0]:
            latest[assignment_id] = (version, digest)
    return latest


def _file_seen(session: Session, *, round_id: int, annotator_id: int, source_hash: str) -> bool:
    """Whether this exact file was ingested before for the annotator (its rejections are stored already)."""
    query = select(m.Rejection.id).where(
        m.Rejection.round_id == round_id,
        m.Rejection.annotator_id == annotator_id,
        m.Rejection.source_hash == source_hash,
    )
    return session.scalar(query.limit(1)) is not None


def _insert_submissions(
    session: Session, fresh: dict[int, tuple[list[Segment], str, int]], *, source: tuple[str, str], format_: str
) -> dict[int, int]:
    """Insert one submission per assignment in ``fresh``; ``{assignment_id: submission_id}``."""
    if not fresh:
        return {}
    now = m.utcnow()
    rows = [
        {"assignment_id": a, "version": v, "content_hash": h, "source_path": source[0], "source_hash": source[1]}
        | {"format": format_, "segment_count": len(segs), "created_at": now}
        for a, (segs, h, v) in fresh.items()
    ]
    ids: Sequence[int] = session.scalars(
        insert(m.Submission).returning(_columns(m.Submission).id, sort_by_parameter_order=True), rows
    ).all()
    return dict(zip(fresh, ids, strict=True))


def _insert_rejections(
    session: Session, planned: list[dict[str, Any]], created: dict[int, int], common: dict[str, Any]
) -> None:
    if not planned:
        return
    now = m.utcnow()
    rows = [
        {**common, "source_path": item["file_path"] or common["source_path"], "created_at": now}
        | {key: item[key] for key in ("image_ref", "annotation_ref", "field", "message")}
        | {"submission_id": created.get(item["assignment_id"]) if item["assignment_id"] is not None else None}
        for item in planned
    ]
    session.execute(insert(m.Rejection), rows)
