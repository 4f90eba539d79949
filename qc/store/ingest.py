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
decides where each segment goes before anything is written. A submission whose image lost
annotations to rejections is stored *incomplete* (``submission.rejections`` > 0, the
rejections linked to it): it is not scored until a complete delivery replaces it. Its content
hash covers what it lost, so re-delivering the same file stores nothing while delivering the
remaining annotations (or removing the bad ones on purpose) makes a new, complete version.

All the rows of one file (submissions, segments, rejections and the ``ingest`` event) are
written under one savepoint: a failure stores none of them and raises a typed error.
Concurrent ingests for the same annotator and round queue on the assignment rows, so
ingesting one file twice at once still stores it once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Table, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import Session, SQLModel, select

from qc.core import Segment
from qc.errors import ConflictError, FormatError, StoreError
from qc.store import models as m
from qc.store._ingest_plan import Plan, Target, plan_file
from qc.store.api import get_row, record_event
from qc.store.segments import insert_submission_segments
from qc.store.submissions import SubmissionRef, latest_submissions, list_rejections, segments_hash

if TYPE_CHECKING:  # the readers (PIL, XML, PNG) are not needed to store what they parsed
    from qc.formats._base import ParsedAnnotations

__all__ = [
    "IngestResult",
    "SubmissionRef",
    "check_round_open",
    "file_savepoint",
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
    deliver; ``segments`` / ``rejections``: rows stored; ``incomplete``: the ids among
    ``created`` whose image lost annotations (they wait for a complete delivery);
    ``event_id``: the ``ingest`` event, ``None`` when nothing was stored.
    """

    source_path: str
    source_hash: str
    created: tuple[int, ...] = ()
    unchanged: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    segments: int = 0
    rejections: int = 0
    event_id: int | None = None
    incomplete: tuple[int, ...] = ()

    @property
    def stored_nothing(self) -> bool:
        """True when the ingest changed nothing (the same content was stored before)."""
        return self.event_id is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, or of a folder's files (each relative name and its bytes, in name order):
    the ``content_hash`` to pass to the ingest functions. :class:`FormatError` when something cannot be read."""
    target = Path(path)
    digest = hashlib.sha256()
    try:
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for file in files:
            if file != target:
                digest.update(file.relative_to(target).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    except OSError as exc:
        raise FormatError(
            f"cannot read the file ({exc.strerror or exc}); check it exists and is readable", path=str(path)
        ) from exc
    return digest.hexdigest()


@contextmanager
def file_savepoint(session: Session) -> Iterator[None]:
    """Everything stored for one delivered file (its annotators' submissions, rejections, events) or nothing.

    A typed error inside the block rolls back to the savepoint and propagates; the caller can
    record the refusal and go on with the next file, so one bad file never blocks the others.
    """
    with session.begin_nested():
        yield


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


# --- internals -------------------------------------------------------------------------------------------


def _table(model: type[SQLModel]) -> Table:
    return m.metadata.tables[str(model.__tablename__)]


def _columns(model: type[SQLModel]) -> ReadOnlyColumnCollection[str, Column[Any]]:
    return _table(model).c


def check_round_open(session: Session, *, round_id: int) -> m.Round:
    """The round, when it exists and takes submissions; :class:`NotFoundError` / :class:`ConflictError` otherwise."""
    return _open_round(session, round_id)


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
    rejections = _rejections_to_store(plan, fresh, set(unchanged), seen=seen)
    missing = tuple(sorted({t.assignment_id for t in targets.values()} - set(plan.groups)))
    if not fresh and not rejections:
        return IngestResult(source_path, source_hash, unchanged=unchanged, missing=missing)
    common = {"round_id": round_id, "annotator_id": annotator_id, "source_path": source_path}
    with _atomic(session, source_path):
        created = _insert_submissions(session, fresh, source=source, format_=parsed.format)
        stored = {a: (segments, digest, version) for a, (segments, digest, version, _) in fresh.items()}
        n_segments = insert_submission_segments(session, fresh=stored, created=created)
        _insert_rejections(session, rejections, created, {**common, "source_hash": source_hash})
        result = IngestResult(
            source_path,
            source_hash,
            created=tuple(created.values()),
            unchanged=unchanged,
            missing=missing,
            segments=n_segments,
            rejections=len(rejections),
            incomplete=tuple(created[a] for a in fresh if plan.lost.get(a)),
        )
        kind, object_id = event_object
        payload = _event_payload(result, common, parsed.format)
        event = record_event(
            session, verb="ingest", object_type=kind, object_id=object_id, actor_id=actor_id, payload=payload
        )
    return dataclasses.replace(result, event_id=event.id)


def _event_payload(result: IngestResult, common: dict[str, Any], format_: str) -> dict[str, Any]:
    """The ``ingest`` event's payload: where the file came from and what it stored (counts)."""
    return {
        **common,
        "source_hash": result.source_hash,
        "format": format_,
        "submissions": list(result.created),
        "unchanged": len(result.unchanged),
        "missing": len(result.missing),
        "segments": result.segments,
        "rejections": result.rejections,
        "incomplete": list(result.incomplete),
    }


def _rejections_to_store(plan: Plan, fresh: dict[int, Any], unchanged: set[int], *, seen: bool) -> list[dict[str, Any]]:
    """A new submission's rejections always; an unchanged one's never (its stored version has them); others once."""
    keep = []
    for row in plan.rejections:
        owner = row["assignment_id"]
        if owner in fresh or (owner not in unchanged and not seen):
            keep.append(row)
    return keep


def _split_fresh(
    session: Session, plan: Plan, *, round_id: int, annotator_id: int
) -> tuple[dict[int, tuple[list[Segment], str, int, int]], tuple[int, ...]]:
    """``({assignment_id: (segments, content hash, next version, rejections)}, unchanged assignment ids)``.

    The content hash of an incomplete submission also covers what its image lost.
    """
    latest = _latest_hashes(session, round_id=round_id, annotator_id=annotator_id)
    fresh: dict[int, tuple[list[Segment], str, int, int]] = {}
    unchanged: list[int] = []
    for assignment_id, segments in plan.groups.items():
        lost = plan.lost.get(assignment_id, ())
        digest = segments_hash(segments)
        if lost:
            digest = hashlib.sha256("\n".join((digest, *lost)).encode("utf-8")).hexdigest()
        version, previous = latest.get(assignment_id, (0, None))
        if digest == previous:
            unchanged.append(assignment_id)
        else:
            fresh[assignment_id] = (segments, digest, version + 1, len(lost))
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
    session: Session, fresh: dict[int, tuple[list[Segment], str, int, int]], *, source: tuple[str, str], format_: str
) -> dict[int, int]:
    """Insert one submission per assignment in ``fresh``; ``{assignment_id: submission_id}``."""
    if not fresh:
        return {}
    now = m.utcnow()
    rows = [
        {"assignment_id": a, "version": v, "content_hash": h, "source_path": source[0], "source_hash": source[1]}
        | {"format": format_, "segment_count": len(segs), "created_at": now, "rejections": lost}
        for a, (segs, h, v, lost) in fresh.items()
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
        | {key: item[key] for key in ("image_ref", "annotation_ref", "field", "message", "image_id")}
        | {"submission_id": created.get(item["assignment_id"]) if item["assignment_id"] is not None else None}
        for item in planned
    ]
    session.execute(insert(m.Rejection), rows)
