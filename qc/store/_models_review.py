"""The review tables beyond the queue itself: ``dispute`` (one reason an image is in review, and its resolution).

Kept apart from :mod:`qc.store.models` (which imports this module, so the tables are part of its
metadata); the migration ``0005`` creates them. See :mod:`qc.review` for what a dispute and a
resolution mean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["Dispute", "DisputeKind", "ResolutionKind", "SegmentSource"]


class DisputeKind(StrEnum):
    """Why an image is in review, in the order its disputes are numbered."""

    UNSUPPORTED = "unsupported"
    CLASS_CONFLICT = "class_conflict"
    GUIDELINE = "guideline"


class ResolutionKind(StrEnum):
    """How a reviewer resolved one dispute."""

    TAKE = "take"
    FUSED = "fused"
    SET_CLASS = "set_class"
    REMOVE = "remove"
    REWORK = "rework"
    ESCALATE = "escalate"


class SegmentSource(StrEnum):
    """Where a segment of the accepted label (``consensus_segment.source``) came from."""

    CONSENSUS = "consensus"
    ANNOTATOR = "annotator"
    FUSED = "fused"
    CLASS_SET = "class_set"


def _check(column: str, enum: type[StrEnum], name: str, *, nullable: bool = False) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    text = f"{column} IN ({values})"
    return CheckConstraint(f"{column} IS NULL OR {text}" if nullable else text, name=name)


class Dispute(SQLModel, table=True):
    """One reason a review item's image is in review, tied to one object or place, and its resolution.

    ``number`` is the 1-based index within the item; ``versions`` one entry per assigned
    annotator ``{person_id, submission_id, segment_id, category_id, iou_to_fused}`` (``segment_id``
    ``None``: did not draw it); ``pairwise`` ``[[person a, person b, IoU], ...]``; the fused
    candidate is ``fused_counts`` (COCO RLE counts, ``None`` when nobody drew an object) of an
    image of ``height`` x ``width``. ``replaces_segment_id`` is the consensus row a resolution
    replaces (a guideline dispute on a supported object). The ``resolution*`` columns are set once.
    """

    __tablename__ = "dispute"
    __table_args__ = (
        UniqueConstraint("review_item_id", "number"),
        _check("kind", DisputeKind, "kind"),
        _check("resolution", ResolutionKind, "resolution", nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_item_id: int = Field(foreign_key="review_item.id", index=True)
    number: int
    kind: str
    reason: str = Field(default="", sa_type=Text)
    category_id: int | None = None
    bbox_x: int
    bbox_y: int
    bbox_w: int
    bbox_h: int
    height: int
    width: int
    fused_counts: str | None = Field(default=None, sa_type=Text)
    versions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    pairwise: list[list[Any]] = Field(default_factory=list, sa_type=JSON)
    replaces_segment_id: int | None = None
    resolution: str | None = None
    resolution_person_id: int | None = Field(default=None, foreign_key="person.id")
    resolution_category_id: int | None = None
    resolution_note: str = Field(default="", sa_type=Text)
    resolved_by: int | None = Field(default=None, foreign_key="person.id")
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), sa_type=DateTime(timezone=True), nullable=False
    )
