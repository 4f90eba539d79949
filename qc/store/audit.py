"""Consistency reads: the store's promises checked on stored rows (the crash drills and benchmarks use them).

A re-run never duplicates a row, and a submission is stored whole or not at all
(DESIGN §6, §7). These functions read what would break those promises, and the stored
contents without ids and times, so that two databases that ran the same work compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel, col

from qc.store import models as m

__all__ = [
    "ROUND_TABLES",
    "ShortSubmission",
    "count_rows",
    "duplicated_results",
    "round_contents",
    "round_verdicts",
    "short_submissions",
    "submission_contents",
]

ROUND_TABLES = ("score", "flag", "image_result", "consensus_segment")
"""The tables of a round's derived rows (what scoring writes)."""

_SKIPPED = {"id", "created_at", "scored_at"}


@dataclass(frozen=True)
class ShortSubmission:
    """A submission with fewer stored segments than its ``segment_count``."""

    submission_id: int
    stored: int
    expected: int


def count_rows(session: Session, *, model: type[SQLModel]) -> int:
    """How many rows the table of ``model`` holds."""
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def duplicated_results(session: Session, *, round_id: int) -> dict[int, int]:
    """``image_id -> number of results`` of the round's images stored more than once (empty when sound)."""
    query = (
        select(col(m.ImageResult.image_id), func.count())
        .where(col(m.ImageResult.round_id) == round_id)
        .group_by(col(m.ImageResult.image_id))
        .having(func.count() > 1)
    )
    return {int(image): int(n) for image, n in session.execute(query)}


def short_submissions(session: Session) -> list[ShortSubmission]:
    """Submissions whose stored segments are fewer (or more) than their ``segment_count``."""
    query = select(col(m.Segment.submission_id), func.count()).group_by(col(m.Segment.submission_id))
    counts = {int(i): int(n) for i, n in session.execute(query)}
    rows = session.execute(select(col(m.Submission.id), col(m.Submission.segment_count)))
    return [ShortSubmission(int(i), counts.get(int(i), 0), n) for i, n in rows if counts.get(int(i), 0) != n]


def submission_contents(session: Session) -> list[tuple[str, ...]]:
    """Every submission's segments as text (assignment, version, content hash, source id, class, RLE, area), sorted."""
    query = select(
        col(m.Submission.assignment_id),
        col(m.Submission.version),
        col(m.Submission.content_hash),
        col(m.Segment.source_id),
        col(m.Segment.category_id),
        col(m.Segment.rle_counts),
        col(m.Segment.area),
    ).join(m.Segment, col(m.Segment.submission_id) == col(m.Submission.id))
    return sorted(tuple(str(v) for v in row) for row in session.execute(query))


def round_verdicts(session: Session, *, round_id: int) -> list[tuple[int, str, str]]:
    """``(image_id, verdict, input_hash)`` of every stored result of a round, sorted."""
    query = select(col(m.ImageResult.image_id), col(m.ImageResult.verdict), col(m.ImageResult.input_hash)).where(
        col(m.ImageResult.round_id) == round_id
    )
    return sorted((int(i), str(v), str(h)) for i, v, h in session.execute(query))


def round_contents(session: Session, *, round_id: int) -> dict[str, list[tuple[str, ...]]]:
    """Every row of :data:`ROUND_TABLES` of a round as text, without ids and timestamps, sorted per table."""
    out = {}
    for name in ROUND_TABLES:
        table = m.metadata.tables[name]
        columns = [c for c in table.columns if c.name not in _SKIPPED]
        rows = session.execute(select(*columns).where(table.c.round_id == round_id))
        out[name] = sorted(tuple(str(v) for v in row) for row in rows)
    return out
