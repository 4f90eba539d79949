"""The ``annotator_reliability`` table: each annotator's measured reliability, per round and per project.

Imported by :mod:`qc.store.models` (one line), so that its table is part of the one metadata.
A row with ``round_id`` ``NULL`` is the project-wide figure (every scored round of the project
pooled); a row with a round is that round's own. The figures are those of
:class:`qc.reliability.Reliability`; ``intervals`` maps a figure's name to its bootstrap
interval ``[low, high]``. Undefined figures (NaN) are stored as ``NULL``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index
from sqlmodel import Field, SQLModel

from qc.store.models import utcnow

__all__ = ["AnnotatorReliability"]


class AnnotatorReliability(SQLModel, table=True):
    """One annotator's reliability in one round (``round_id``) or over the project (``round_id`` ``NULL``)."""

    __tablename__ = "annotator_reliability"
    __table_args__ = (Index("ix_annotator_reliability_project_round", "project_id", "round_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    round_id: int | None = Field(default=None, foreign_key="round.id")
    person_id: int = Field(foreign_key="person.id")
    n_objects: int
    boundary_iou: float | None = None
    miss_rate: float | None = None
    extra_rate: float | None = None
    class_error_rate: float | None = None
    sensitivity: float | None = None
    specificity: float | None = None
    gold_iou: float | None = None
    gold_failures: int = 0
    weight: float | None = None
    intervals: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)
