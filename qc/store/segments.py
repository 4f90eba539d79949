"""Every read and write of segment rows: the seam behind which segments may move to blob storage (DESIGN §7).

Three tables hold masks as COCO RLE text with their image size, area and box (the columns of
:class:`~qc.store.models.RleColumns`): ``segment`` (what annotators delivered, in
submissions), ``consensus_segment`` (an image's accepted label) and ``gold_segment`` (the
known answer of a gold image). Nothing outside this module selects, inserts or deletes
those rows, so that a store keeping one compressed blob of RLEs per submission in object
storage can replace them without touching the library or the flows. Functions take the
session first and keyword-only arguments, and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Column, Table, delete, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlmodel import Session, SQLModel, col, select

from qc.core import Segment
from qc.store import models as m
from qc.store.api import get_row

if TYPE_CHECKING:  # qc.masks (numpy, pycocotools) loads where masks are measured: reading rows needs neither
    from qc.masks import RLE

__all__ = [
    "CategoryArea",
    "ConsensusItem",
    "ProvenancedSegment",
    "ResolvedSegment",
    "accept_submission_segments",
    "add_gold_segments",
    "consensus_areas",
    "consensus_provenance",
    "consensus_segments",
    "delete_consensus",
    "delete_consensus_rows",
    "insert_consensus",
    "insert_resolved",
    "insert_submission_segments",
    "load_gold_segments",
    "load_segments",
    "load_segments_of",
    "segments_by_id",
    "submission_areas",
]

ConsensusItem = (
    tuple[int, "RLE"]
    | tuple[int, "RLE", int, tuple[int, int, int, int]]
    | tuple[int, "RLE", int, tuple[int, int, int, int], Sequence[int]]
)
"""``(category_id, rle)``, or ``(category_id, rle, area, bbox)`` when the caller knows the area and COCO bbox,
optionally followed by the supporters' person ids (the provenance of a consensus segment)."""


class ResolvedSegment(NamedTuple):
    """A segment of an accepted label that a reviewer chose, with its provenance (``source``: annotator, ...)."""

    category_id: int
    rle: RLE
    source: str
    supporters: tuple[int, ...]
    chosen_by: int
    dispute_id: int


class ProvenancedSegment(NamedTuple):
    """A stored segment of an accepted label and where it came from (see ``consensus_segment``)."""

    segment: Segment
    source: str
    supporters: tuple[int, ...] | None
    chosen_by: int | None
    dispute_id: int | None


def _table(model: type[SQLModel]) -> Table:
    """The Core table of a model: bulk inserts through Core skip the ORM's per-row work."""
    return m.metadata.tables[str(model.__tablename__)]


def _columns(model: type[SQLModel]) -> ReadOnlyColumnCollection[str, Column[Any]]:
    return _table(model).c


# --- submissions ----------------------------------------------------------------------------------------


def load_segments(session: Session, *, submission_id: int) -> list[Segment]:
    """The segments of a submission in file order; ``Segment.id`` is the stored segment's id."""
    get_row(session, m.Submission, submission_id)
    table = _columns(m.Segment)
    rows = session.execute(
        sa_select(table.id, table.category_id, table.height, table.width, table.rle_counts, table.iscrowd)
        .where(table.submission_id == submission_id)
        .order_by(table.instance_id)
    )
    return [
        Segment(row_id, category_id, {"size": [height, width], "counts": counts}, bool(iscrowd))
        for row_id, category_id, height, width, counts, iscrowd in rows
    ]


def load_segments_of(session: Session, *, submission_ids: Iterable[int]) -> dict[int, list[Segment]]:
    """The segments of several submissions in one query: ``submission_id -> segments`` in file order.

    Every asked id is in the result (an empty list for a submission with no segment).
    """
    wanted = sorted(set(submission_ids))
    out: dict[int, list[Segment]] = {sid: [] for sid in wanted}
    if not wanted:
        return out
    table = _columns(m.Segment)
    rows = session.execute(
        sa_select(
            table.submission_id, table.id, table.category_id, table.height, table.width, table.rle_counts, table.iscrowd
        )
        .where(table.submission_id.in_(wanted))
        .order_by(table.submission_id, table.instance_id)
    )
    for submission_id, row_id, category_id, height, width, counts, iscrowd in rows:
        out[submission_id].append(
            Segment(row_id, category_id, {"size": [height, width], "counts": counts}, bool(iscrowd))
        )
    return out


def insert_submission_segments(
    session: Session, *, fresh: Mapping[int, tuple[Sequence[Segment], str, int]], created: Mapping[int, int]
) -> int:
    """Store the segments of new submissions; ``fresh`` maps assignment id to ``(segments, hash, version)``
    and ``created`` assignment id to the new submission's id. Returns the number of rows."""
    placed = [
        (created[assignment_id], number, segment)
        for assignment_id, (segments, _, _) in fresh.items()
        for number, segment in enumerate(segments, start=1)
    ]
    if not placed:
        return 0
    from pycocotools import mask as _cocomask

    from qc import masks

    # Segment validated its RLE on construction: measure with the pycocotools functions masks.area and
    # masks.bbox use, without validating every RLE again (its batch form overflows for long lists).
    coco = [masks.to_pycocotools(segment.rle) for _, _, segment in placed]
    areas, boxes = [_cocomask.area(c) for c in coco], [_cocomask.toBbox(c) for c in coco]
    rows = [
        _segment_row(submission_id, number, segment, int(area), box)
        for (submission_id, number, segment), area, box in zip(placed, areas, boxes, strict=True)
    ]
    session.execute(insert(m.Segment), rows)
    return len(rows)


def _segment_row(submission_id: int, number: int, segment: Segment, area: int, box: Any) -> dict[str, Any]:
    x, y, w, h = (int(v) for v in box)
    height, width = segment.rle["size"]
    return {
        "submission_id": submission_id,
        "source_id": str(segment.id),
        "instance_id": number,
        "category_id": int(segment.category_id),
        "iscrowd": bool(segment.iscrowd),
        "height": int(height),
        "width": int(width),
        "rle_counts": segment.rle["counts"],
        "area": area,
        "bbox_x": x,
        "bbox_y": y,
        "bbox_w": w,
        "bbox_h": h,
    }


# --- consensus ------------------------------------------------------------------------------------------


def consensus_segments(session: Session, *, round_id: int, image_id: int) -> list[Segment]:
    """The stored consensus of one image (``Segment.id`` is the row id)."""
    rows = session.scalars(
        select(m.ConsensusSegment)
        .where(m.ConsensusSegment.round_id == round_id, m.ConsensusSegment.image_id == image_id)
        .order_by(col(m.ConsensusSegment.id))
    )
    return [Segment(r.id, r.category_id, {"size": [r.height, r.width], "counts": r.rle_counts}) for r in rows]


def insert_consensus(
    session: Session, *, round_id: int, image_id: int, items: Sequence[ConsensusItem], method: str
) -> int:
    """Store consensus segments of one image (``method``: majority, staple, submission:<id>, ...)."""
    if not items:
        return 0
    now = m.utcnow()
    where = {"round_id": round_id, "image_id": image_id}
    session.execute(insert(_table(m.ConsensusSegment)), [_consensus_row(where, item, method, now) for item in items])
    return len(items)


def delete_consensus(session: Session, *, round_id: int, image_id: int) -> None:
    """Remove the stored consensus of one image (before it is replaced)."""
    table = _table(m.ConsensusSegment)
    session.execute(delete(table).where(table.c.round_id == round_id, table.c.image_id == image_id))


def _consensus_row(where: Mapping[str, int], item: tuple[Any, ...], method: str, now: Any) -> dict[str, Any]:
    from qc import masks

    category_id, rle = item[0], item[1]
    area, (x, y, w, h) = (item[2], item[3]) if len(item) >= 4 else (masks.area(rle), masks.bbox(rle))
    supporters = [int(p) for p in item[4]] if len(item) == 5 else None
    return {
        **where,
        "category_id": category_id,
        "height": rle["size"][0],
        "width": rle["size"][1],
        "rle_counts": rle["counts"],
        "area": area,
        "bbox_x": x,
        "bbox_y": y,
        "bbox_w": w,
        "bbox_h": h,
        "method": method,
        "created_at": now,
        "source": "consensus",
        "supporters": supporters,
    }


def insert_resolved(
    session: Session, *, round_id: int, image_id: int, items: Sequence[ResolvedSegment], method: str = "review"
) -> int:
    """Store the segments reviewers chose for an image's accepted label, with their provenance."""
    if not items:
        return 0
    now, where = m.utcnow(), {"round_id": round_id, "image_id": image_id}
    rows = []
    for item in items:
        row = _consensus_row(where, (item.category_id, item.rle), method, now)
        row.update(source=item.source, supporters=list(item.supporters), chosen_by=item.chosen_by)
        rows.append({**row, "dispute_id": item.dispute_id})
    session.execute(insert(_table(m.ConsensusSegment)), rows)
    return len(rows)


def delete_consensus_rows(session: Session, *, ids: Iterable[int]) -> None:
    """Remove these consensus segments (a resolution replaced them)."""
    table = _table(m.ConsensusSegment)
    session.execute(delete(table).where(table.c.id.in_(list(ids))))


def consensus_provenance(session: Session, *, round_id: int, image_id: int) -> list[ProvenancedSegment]:
    """The stored consensus of one image with the provenance of each segment, by row id."""
    rows = session.scalars(
        select(m.ConsensusSegment)
        .where(m.ConsensusSegment.round_id == round_id, m.ConsensusSegment.image_id == image_id)
        .order_by(col(m.ConsensusSegment.id))
    )
    return [
        ProvenancedSegment(
            Segment(r.id, r.category_id, {"size": [r.height, r.width], "counts": r.rle_counts}),
            r.source,
            None if r.supporters is None else tuple(int(p) for p in r.supporters),
            r.chosen_by,
            r.dispute_id,
        )
        for r in rows
    ]


def segments_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, Segment]:
    """Submission segments by row id (``Segment.id`` is the row id); unknown ids are absent."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    table = _columns(m.Segment)
    rows = session.execute(
        sa_select(table.id, table.category_id, table.height, table.width, table.rle_counts, table.iscrowd).where(
            table.id.in_(wanted)
        )
    )
    return {
        row_id: Segment(row_id, category_id, {"size": [height, width], "counts": counts}, bool(iscrowd))
        for row_id, category_id, height, width, counts, iscrowd in rows
    }


# --- gold -----------------------------------------------------------------------------------------------


def add_gold_segments(session: Session, *, image_id: int, segments: Sequence[Segment], source: str) -> int:
    """Store the known answer of a gold image; an image that has one already keeps it (returns 0)."""
    get_row(session, m.Image, image_id)
    if session.scalars(select(m.GoldSegment.id).where(m.GoldSegment.image_id == image_id)).first() is not None:
        return 0
    now = m.utcnow()
    rows = [
        {
            "image_id": image_id,
            "category_id": s.category_id,
            "height": s.size[0],
            "width": s.size[1],
            "rle_counts": s.rle["counts"],
            "area": s.area,
            "source": source,
            "created_at": now,
        }
        for s in segments
    ]
    if rows:
        session.execute(insert(m.GoldSegment), rows)
    return len(rows)


def load_gold_segments(session: Session, *, image_ids: Iterable[int]) -> dict[int, list[Segment]]:
    """Known answers of the gold images among ``image_ids`` (images without one are absent)."""
    out: dict[int, list[Segment]] = {}
    rows = session.scalars(
        select(m.GoldSegment).where(col(m.GoldSegment.image_id).in_(list(image_ids))).order_by(col(m.GoldSegment.id))
    )
    for r in rows:
        out.setdefault(r.image_id, []).append(
            Segment(f"gold-{r.id}", r.category_id, {"size": [r.height, r.width], "counts": r.rle_counts})
        )
    return out


# --- review ---------------------------------------------------------------------------------------------


def accept_submission_segments(
    session: Session, *, round_id: int, image_id: int, submission_id: int, chosen_by: int | None = None
) -> int:
    """Replace an image's consensus by a submission's segments (a reviewer accepted that submission).

    Area and box are copied from the stored segments; ``method`` is ``submission:<id>``, the
    provenance ``source`` ``annotator`` with that annotator as supporter, ``chosen_by`` the reviewer.
    Returns how many segments the consensus now holds.
    """
    delete_consensus(session, round_id=round_id, image_id=image_id)
    table = _columns(m.Segment)
    rows = session.execute(
        sa_select(table.category_id, table.height, table.width, table.rle_counts, table.area)
        .add_columns(table.bbox_x, table.bbox_y, table.bbox_w, table.bbox_h)
        .where(table.submission_id == submission_id)
        .order_by(table.id)
    )
    items: list[ConsensusItem] = [
        (category_id, {"size": [height, width], "counts": counts}, area, (x, y, w, h))
        for category_id, height, width, counts, area, x, y, w, h in rows
    ]
    stored = insert_consensus(
        session, round_id=round_id, image_id=image_id, items=items, method=f"submission:{submission_id}"
    )
    author = session.execute(
        sa_select(_columns(m.Assignment).annotator_id)
        .join(_table(m.Submission), _columns(m.Submission).assignment_id == _columns(m.Assignment).id)
        .where(_columns(m.Submission).id == submission_id)
    ).scalar_one()
    consensus = _table(m.ConsensusSegment)
    session.execute(
        update(consensus)
        .where(consensus.c.round_id == round_id, consensus.c.image_id == image_id)
        .values(source="annotator", supporters=[int(author)], chosen_by=chosen_by)
    )
    return stored


# --- reports --------------------------------------------------------------------------------------------


class CategoryArea(NamedTuple):
    """One segment's class and pixel area."""

    category_id: int
    area: int


def consensus_areas(session: Session, *, round_ids: Iterable[int]) -> list[CategoryArea]:
    """Class and area of every stored consensus segment of the rounds."""
    table = _columns(m.ConsensusSegment)
    query = sa_select(table.category_id, table.area).where(table.round_id.in_(list(round_ids)))
    return [CategoryArea(*row) for row in session.execute(query)]


def submission_areas(session: Session, *, round_ids: Iterable[int]) -> list[CategoryArea]:
    """Class and area of every segment of every submission (each version) to the rounds."""
    segment, submission, assignment = _columns(m.Segment), _columns(m.Submission), _columns(m.Assignment)
    query = (
        sa_select(segment.category_id, segment.area)
        .join(_table(m.Submission), submission.id == segment.submission_id)
        .join(_table(m.Assignment), assignment.id == submission.assignment_id)
        .where(assignment.round_id.in_(list(round_ids)))
    )
    return [CategoryArea(*row) for row in session.execute(query)]
