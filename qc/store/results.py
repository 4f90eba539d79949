"""Scoring inputs and results: what an image was scored from, its verdict, scores, flags and consensus.

An image's derived rows (``image_result``, ``score``, ``flag``, ``consensus_segment`` of its
round) are written together in one transaction by :func:`save_image_result`. The result
carries ``input_hash`` (the submissions scored + the guideline version): saving the same
inputs again stores nothing, so a re-run never duplicates a row; new inputs (a follow-up
annotator delivered) replace the image's derived rows — they are derived data, and every
submission they came from stays stored.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlmodel import Session, SQLModel, col, select

from qc.core import FindingLevel, ScoreKind
from qc.store import models as m
from qc.store.api import _choice, get_row, record_event
from qc.store.ingest import SubmissionRef, latest_submissions
from qc.store.segments import ConsensusItem, delete_consensus, insert_consensus

__all__ = [
    "FlagCreate",
    "FlagRef",
    "ImageInputs",
    "ScoreCreate",
    "ScoreRef",
    "add_review_items",
    "annotator_scores",
    "image_inputs",
    "image_results_of",
    "input_hash",
    "list_image_results",
    "round_flags",
    "save_image_result",
    "scored_hashes",
    "set_followup",
]


@dataclass(frozen=True)
class ScoreCreate:
    """One ``score`` row to store for an image: ``metric`` of ``kind`` for the listed annotators (person ids).

    ``value`` NaN is stored as ``NULL`` (undefined); ``detail`` holds what else the metric reports.
    """

    kind: str
    annotators: tuple[int, ...]
    metric: str
    value: float | None = None
    category_id: int | None = None
    detail: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _choice(self.kind, ScoreKind, "kind")

    def columns(self) -> dict[str, Any]:
        """The row's columns but ``round_id``, ``image_id`` and ``created_at``."""
        value = None if self.value is None or math.isnan(self.value) else float(self.value)
        detail = dict(self.detail) if self.detail else None
        return {
            "kind": self.kind,
            "annotators": list(self.annotators),
            "metric": self.metric,
            "value": value,
            "category_id": self.category_id,
            "detail": detail,
        }


@dataclass(frozen=True)
class FlagCreate:
    """One ``flag`` row to store for an image: a finding, where (COCO bbox ``[x, y, w, h]``) and who (person ids)."""

    kind: str
    level: str
    bbox: tuple[int, int, int, int] | None = None
    annotators: tuple[int, ...] = ()
    category_id: int | None = None
    severity: float = 0.0
    message: str = ""

    def __post_init__(self) -> None:
        _choice(self.level, FindingLevel, "level")

    def columns(self) -> dict[str, Any]:
        """The row's columns but ``round_id``, ``image_id`` and ``created_at``."""
        x, y, w, h = self.bbox if self.bbox is not None else (None, None, None, None)
        return {
            "kind": self.kind,
            "level": self.level,
            "category_id": self.category_id,
            "bbox_x": x,
            "bbox_y": y,
            "bbox_w": w,
            "bbox_h": h,
            "annotators": list(self.annotators),
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class ScoreRef:
    """A stored score's annotators (person ids), metric and value (``None``: undefined)."""

    annotators: tuple[int, ...]
    metric: str
    value: float | None


@dataclass(frozen=True)
class FlagRef:
    """A stored flag's kind and the annotators (person ids) it names."""

    kind: str
    annotators: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImageInputs:
    """One image of a round: its size, who is assigned, and the latest submission of each of them."""

    image_id: int
    file_name: str
    height: int
    width: int
    assigned: tuple[int, ...]
    submissions: tuple[SubmissionRef, ...]

    @property
    def complete(self) -> bool:
        """Every assigned annotator has delivered a complete submission (none of its annotations rejected)."""
        return {s.annotator_id for s in self.submissions if s.complete} >= set(self.assigned)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "file_name": self.file_name,
            "height": self.height,
            "width": self.width,
            "assigned": list(self.assigned),
            "submissions": [s.to_dict() for s in self.submissions],
        }


def image_inputs(session: Session, *, round_id: int, image_ids: Iterable[int] | None = None) -> dict[int, ImageInputs]:
    """Every image of a round (or the given ones) with its assignments and latest submissions."""
    wanted = None if image_ids is None else sorted(set(image_ids))
    query = select(m.Assignment.image_id, m.Assignment.annotator_id).where(m.Assignment.round_id == round_id)
    if wanted is not None:
        query = query.where(col(m.Assignment.image_id).in_(wanted))
    assigned: dict[int, list[int]] = {}
    for image_id, annotator_id in session.execute(
        query.order_by(col(m.Assignment.image_id), col(m.Assignment.annotator_id))
    ):
        assigned.setdefault(image_id, []).append(annotator_id)
    delivered: dict[int, list[SubmissionRef]] = {}
    for ref in latest_submissions(session, round_id=round_id, image_ids=wanted):
        if ref.image_id in assigned:
            delivered.setdefault(ref.image_id, []).append(ref)
    images = session.execute(
        select(m.Image.id, m.Image.file_name, m.Image.height, m.Image.width).where(col(m.Image.id).in_(list(assigned)))
    )
    return {
        image_id: ImageInputs(
            image_id, file_name, height, width, tuple(assigned[image_id]), tuple(delivered.get(image_id, ()))
        )
        for image_id, file_name, height, width in sorted(images)
    }


def input_hash(inputs: ImageInputs, *, guideline_hash: str) -> str:
    """SHA-256 over the submissions scored (id and version) and the guideline text hash."""
    parts = sorted(f"{s.annotator_id}:{s.submission_id}:{s.version}" for s in inputs.submissions)
    return hashlib.sha256("\n".join([guideline_hash, *parts]).encode()).hexdigest()


def scored_hashes(session: Session, *, round_id: int) -> dict[int, str]:
    """``image_id -> input_hash`` of every image of the round that has a result."""
    rows = session.execute(
        select(m.ImageResult.image_id, m.ImageResult.input_hash).where(m.ImageResult.round_id == round_id)
    )
    return dict(rows.all())


def save_image_result(
    session: Session,
    *,
    round_id: int,
    image_id: int,
    input_hash: str,
    verdict: str,
    labels_spent: int,
    summary: Mapping[str, Any],
    scores: Sequence[ScoreCreate],
    flags: Sequence[FlagCreate],
    consensus: Sequence[ConsensusItem] = (),
    consensus_method: str = "majority",
    replace: bool = False,
) -> bool:
    """Store an image's result and derived rows in one go; ``False`` (nothing stored) when unchanged.

    ``replace=True`` stores even when the input hash is unchanged (the inputs are the same, the
    result is not: e.g. the consensus fused again with the round's final reliabilities at close).

    ``scores`` and ``flags`` are the image's :class:`ScoreCreate` and :class:`FlagCreate` rows;
    ``consensus`` are ``(category_id, rle)`` pairs of the supported objects, or
    ``(category_id, rle, area, bbox)`` when the caller knows the area and COCO bbox already.
    """
    existing = session.scalars(
        select(m.ImageResult).where(m.ImageResult.round_id == round_id, m.ImageResult.image_id == image_id)
    ).first()
    if existing is not None and existing.input_hash == input_hash and not replace:
        return False
    with session.begin_nested():
        if existing is not None:
            _delete_derived(session, round_id=round_id, image_id=image_id)
            session.expunge(existing)  # its row is gone; on SQLite the new row may get the same id
        where = {"round_id": round_id, "image_id": image_id}
        now = m.utcnow()
        if scores:
            rows = [{**where, **score.columns(), "created_at": now} for score in scores]
            session.execute(insert(_table(m.Score)), rows)
        if flags:
            rows = [{**where, **flag.columns(), "created_at": now} for flag in flags]
            session.execute(insert(_table(m.Flag)), rows)
        insert_consensus(session, round_id=round_id, image_id=image_id, items=consensus, method=consensus_method)
        session.add(
            m.ImageResult(
                round_id=round_id,
                image_id=image_id,
                verdict=verdict,
                labels_spent=labels_spent,
                input_hash=input_hash,
                summary=dict(summary),
            )
        )
        session.flush()
    return True


def list_image_results(session: Session, *, round_id: int) -> list[m.ImageResult]:
    """Every stored image result of a round, by image id."""
    query = select(m.ImageResult).where(m.ImageResult.round_id == round_id).order_by(col(m.ImageResult.image_id))
    return list(session.scalars(query))


def image_results_of(session: Session, *, round_id: int, image_ids: Iterable[int]) -> dict[int, m.ImageResult]:
    """The stored results of ``image_ids`` in a round, by image id (images without one are absent)."""
    query = select(m.ImageResult).where(
        m.ImageResult.round_id == round_id, col(m.ImageResult.image_id).in_(list(image_ids))
    )
    return {r.image_id: r for r in session.scalars(query)}


def set_followup(session: Session, *, round_id: int, image_id: int, followup: str | None) -> None:
    """Record who labels an escalated image next (``summary["followup"]``); with nobody, the image goes to review."""
    result = session.scalars(
        select(m.ImageResult).where(m.ImageResult.round_id == round_id, m.ImageResult.image_id == image_id)
    ).one()
    result.summary = {**(result.summary or {}), "followup": followup}  # a new dict: JSON columns track assignment
    if followup is None:
        result.verdict = "review"
    session.add(result)
    session.flush()


def annotator_scores(session: Session, *, round_id: int) -> list[ScoreRef]:
    """Every per-annotator (``kind == "annotator"``) score of a round."""
    query = select(m.Score.annotators, m.Score.metric, m.Score.value).where(
        m.Score.round_id == round_id, m.Score.kind == ScoreKind.ANNOTATOR.value
    )
    return [ScoreRef(tuple(annotators), metric, value) for annotators, metric, value in session.execute(query)]


def round_flags(session: Session, *, round_id: int) -> list[FlagRef]:
    """Every flag of a round: its kind and the annotators it names."""
    query = select(m.Flag.kind, m.Flag.annotators).where(m.Flag.round_id == round_id)
    return [FlagRef(kind, tuple(annotators or ())) for kind, annotators in session.execute(query)]


def add_review_items(session: Session, *, round_id: int, image_ids: Iterable[int]) -> int:
    """Queue images for review (those queued already are kept as they are); returns how many are new."""
    get_row(session, m.Round, round_id)
    queued = set(session.scalars(select(m.ReviewItem.image_id).where(m.ReviewItem.round_id == round_id)))
    fresh = sorted(set(image_ids) - queued)
    if fresh:
        now = m.utcnow()
        rows = [{"round_id": round_id, "image_id": i, "created_at": now, "updated_at": now} for i in fresh]
        session.execute(insert(m.ReviewItem), rows)
        record_event(session, verb="queue_review", object_type="round", object_id=round_id, payload={"images": fresh})
    return len(fresh)


# --- internals -------------------------------------------------------------------------------------------


def _table(model: type[SQLModel]) -> Table:
    """The Core table of a model: bulk inserts through Core skip the ORM's per-row work."""
    return m.metadata.tables[str(model.__tablename__)]


def _delete_derived(session: Session, *, round_id: int, image_id: int) -> None:
    delete_consensus(session, round_id=round_id, image_id=image_id)
    for model in (m.Score, m.Flag, m.ImageResult):
        table = _table(model)
        session.execute(delete(table).where(table.c.round_id == round_id, table.c.image_id == image_id))
