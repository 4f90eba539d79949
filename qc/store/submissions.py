"""What was delivered: the latest submission of each assignment, and the rejections that still stand.

A submission is *complete* when its image lost nothing to rejections
(``submission.rejections == 0``). :func:`current_rejections` lists, per image and annotator
of a round, why an image is waiting: the rejections of an incomplete latest submission, or,
where the annotator has no submission of the image at all, the rejections tied to it (e.g. the
image was delivered at another size). :func:`record_refused_file` keeps a file that was refused
whole (unreadable, another annotator's, not an annotation file) as one rejection row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Column, Table, and_, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import Session, SQLModel, col, select

from qc.core import Segment
from qc.store import models as m

__all__ = [
    "RejectionRef",
    "SubmissionRef",
    "current_rejections",
    "latest_submissions",
    "list_rejections",
    "record_refused_file",
    "segments_hash",
]


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


@dataclass(frozen=True)
class SubmissionRef:
    """The latest submission of one assignment; ``rejections`` counts what its image lost (0: complete)."""

    submission_id: int
    assignment_id: int
    image_id: int
    annotator_id: int
    version: int
    rejections: int = 0

    @property
    def complete(self) -> bool:
        """No annotation of the image was rejected: the submission can be scored."""
        return self.rejections == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        sa_select(sub.id, asg.id, asg.image_id, asg.annotator_id, sub.version, sub.rejections)
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


@dataclass(frozen=True)
class RejectionRef:
    """A stored rejection that still stands for one image and annotator of a round (``submission_id``: the
    incomplete latest submission it belongs to, ``None`` when the annotator has none for the image)."""

    rejection_id: int
    image_id: int
    annotator_id: int
    submission_id: int | None
    source_path: str
    annotation_ref: str | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def current_rejections(
    session: Session, *, round_id: int, image_ids: Iterable[int] | None = None
) -> list[RejectionRef]:
    """Why images of a round wait: per (image, annotator), the rejections that still stand, oldest first."""
    wanted = None if image_ids is None else list(image_ids)
    latest = latest_submissions(session, round_id=round_id, image_ids=wanted)
    delivered = {(ref.image_id, ref.annotator_id) for ref in latest}
    incomplete = {ref.submission_id: ref for ref in latest if not ref.complete}
    query = select(m.Rejection).where(m.Rejection.round_id == round_id)
    if wanted is not None:
        query = query.where(col(m.Rejection.image_id).in_(wanted) | col(m.Rejection.submission_id).in_(incomplete))
    out = []
    for row in session.scalars(query.order_by(col(m.Rejection.id))):
        ref = incomplete.get(row.submission_id) if row.submission_id is not None else None
        if ref is not None:
            out.append(_rejection_ref(row, ref.image_id, ref.annotator_id))
        elif row.image_id is not None and row.annotator_id is not None and row.submission_id is None:
            if (row.image_id, row.annotator_id) not in delivered:
                out.append(_rejection_ref(row, row.image_id, row.annotator_id))
    return out


def _rejection_ref(row: m.Rejection, image_id: int, annotator_id: int) -> RejectionRef:
    return RejectionRef(
        int(row.id or 0),
        image_id,
        annotator_id,
        row.submission_id,
        row.source_path,
        row.annotation_ref,
        row.field,
        row.message,
    )


def record_refused_file(
    session: Session,
    *,
    round_id: int,
    annotator_id: int | None,
    source_path: str,
    source_hash: str | None,
    field: str | None,
    message: str,
) -> bool:
    """Keep a file refused whole as one rejection row; ``False`` when the same refusal is stored already."""
    query = select(m.Rejection.id).where(
        m.Rejection.round_id == round_id,
        m.Rejection.source_path == source_path,
        m.Rejection.message == message,
        col(m.Rejection.source_hash).is_(None) if source_hash is None else m.Rejection.source_hash == source_hash,
    )
    if session.scalar(query.limit(1)) is not None:
        return False
    where = {"round_id": round_id, "annotator_id": annotator_id, "source_path": source_path}
    session.execute(
        insert(m.Rejection),
        [{**where, "source_hash": source_hash, "field": field, "message": message, "created_at": m.utcnow()}],
    )
    return True


def _table(model: type[SQLModel]) -> Table:
    return m.metadata.tables[str(model.__tablename__)]


def _columns(model: type[SQLModel]) -> ReadOnlyColumnCollection[str, Column[Any]]:
    return _table(model).c
