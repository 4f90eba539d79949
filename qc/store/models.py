"""SQLModel tables: one per word of DESIGN §1, plus score, rejection and the append-only event log.

The schema itself is created and changed only by the Alembic migrations in
``qc/store/migrations`` (``qc db upgrade``); these classes must match them (a test
compares the two). Kinds that DESIGN fixes (task type, round kind, score kind, flag
level) are ``CHECK`` constraints; the Python enums below list the valid values.

Conventions: ids are integer surrogate keys; times are UTC; a mask is stored as its
COCO compressed RLE ``counts`` text plus the image ``height``/``width``; a bbox is four
integer columns ``bbox_x, bbox_y, bbox_w, bbox_h`` (COCO ``[x, y, w, h]``); a float
score that is undefined (NaN) is stored as ``NULL``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, MetaData, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from qc.core import AssignmentKind, FindingLevel, ScoreKind, Task, Verdict

__all__ = [
    "AnnotatorReliability",
    "Assignment",
    "ConsensusSegment",
    "Decision",
    "DecisionKind",
    "Dispute",
    "DisputeKind",
    "Event",
    "Flag",
    "GuidelineVersion",
    "Image",
    "LabelClass",
    "Person",
    "Project",
    "Rejection",
    "ResolutionKind",
    "ReviewItem",
    "ReviewStatus",
    "RleBoxColumns",
    "RleColumns",
    "Role",
    "Round",
    "RoundKind",
    "RoundStatus",
    "Score",
    "Segment",
    "SegmentSource",
    "Submission",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    """Now, in UTC (timezone-aware)."""
    return datetime.now(UTC)


def _enum_check(column: str, enum: type[StrEnum], name: str) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


class Role(StrEnum):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    LEAD = "lead"
    MANAGER = "manager"
    MODEL = "model"


class RoundKind(StrEnum):
    CONSENSUS = "consensus"
    GOLD = "gold"
    REWORK = "rework"


class RoundStatus(StrEnum):
    OPEN = "open"
    SCORING = "scoring"
    REVIEW = "review"
    CLOSED = "closed"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DECIDED = "decided"
    ESCALATED = "escalated"


class DecisionKind(StrEnum):
    ACCEPT_SUBMISSION = "accept_submission"
    ACCEPT_CONSENSUS = "accept_consensus"
    REWORK = "rework"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    """Per-dispute resolutions (:func:`qc.review.resolve`): the disputes hold what was chosen."""


class RleColumns(SQLModel):
    """The mask columns of a segment table: COCO compressed RLE ``counts`` text, image size and area.

    ``Segment``, ``ConsensusSegment`` and ``GoldSegment`` inherit them. In each table they
    follow ``category_id`` (and ``iscrowd`` where a table has it), where the migrations put them.
    """

    height: int
    width: int
    rle_counts: str = Field(sa_type=Text)
    area: int

    @classmethod
    def __table_cls__(cls, name: str, meta: MetaData, *items: Any, **kw: Any) -> Table:
        """The table with the mask columns after the class columns (declarative puts inherited ones first)."""
        columns = [item for item in items if isinstance(item, Column)]
        mask = [c for c in columns if c.name in RleBoxColumns.model_fields]
        rest = [c for c in columns if c.name not in RleBoxColumns.model_fields]
        at = max(i for i, c in enumerate(rest) if c.name in ("category_id", "iscrowd")) + 1
        others = [item for item in items if not isinstance(item, Column)]
        return Table(name, meta, *rest[:at], *mask, *rest[at:], *others, **kw)


class RleBoxColumns(RleColumns):
    """The mask columns and the COCO bbox ``[x, y, w, h]`` as four integer columns."""

    bbox_x: int
    bbox_y: int
    bbox_w: int
    bbox_h: int


class Project(SQLModel, table=True):
    """One labeling effort."""

    __tablename__ = "project"
    __table_args__ = (_enum_check("task_type", Task, "task_type"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    task_type: str
    created_at: datetime = _created()


class LabelClass(SQLModel, table=True):
    """A class of a project's label schema; ``class_id`` is the category id files use."""

    __tablename__ = "label_class"
    __table_args__ = (
        UniqueConstraint("project_id", "class_id"),
        UniqueConstraint("project_id", "name"),
        CheckConstraint("kind IN ('thing', 'stuff')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    class_id: int
    name: str
    kind: str = "thing"
    color: str | None = None


class GuidelineVersion(SQLModel, table=True):
    """One version of a project's guideline YAML, kept verbatim with its SHA-256."""

    __tablename__ = "guideline_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    version: str
    text_hash: str
    text: str = Field(sa_type=Text)
    created_at: datetime = _created()


class Image(SQLModel, table=True):
    """One item to label; ``file_name`` is unique within a project and is how files are matched."""

    __tablename__ = "image"
    __table_args__ = (
        UniqueConstraint("project_id", "file_name"),
        CheckConstraint("width > 0 AND height > 0", name="positive_size"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    file_name: str
    width: int
    height: int
    path: str | None = None


class Person(SQLModel, table=True):
    """Someone with roles (a JSON list of :class:`Role` values).

    ``token_hash`` is the SHA-256 of their login token; ``token_prefix`` its first characters
    (public, like a key id: the login throttle counts failures per account with it);
    ``session_epoch`` grows at each logout and token rotation, and a review-page session is
    valid only while it carries the current epoch.
    """

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    token_hash: str | None = Field(default=None, unique=True)
    created_at: datetime = _created()
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    token_prefix: str | None = Field(default=None, index=True)


class Round(SQLModel, table=True):
    """A consensus round: images routed blind to ``k`` annotators."""

    __tablename__ = "round"
    __table_args__ = (
        _enum_check("kind", RoundKind, "kind"),
        _enum_check("status", RoundStatus, "status"),
        CheckConstraint("k >= 1", name="k_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str | None = None
    kind: str = RoundKind.CONSENSUS.value
    status: str = RoundStatus.OPEN.value
    guideline_version_id: int | None = Field(default=None, foreign_key="guideline_version.id")
    k: int = 3
    created_at: datetime = _created()
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Assignment(SQLModel, table=True):
    """(round, image, annotator): one annotator owes one annotation of one image.

    ``kind``: ``consensus`` (scheduled), ``gold`` (an image with a known answer),
    ``followup`` (adaptive overlap: one more annotator after a disagreement), ``rework``.
    """

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("round_id", "image_id", "annotator_id"),
        Index("ix_assignment_round_annotator", "round_id", "annotator_id"),
        _enum_check("kind", AssignmentKind, "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int = Field(foreign_key="image.id", index=True)
    annotator_id: int = Field(foreign_key="person.id")
    created_at: datetime = _created()
    kind: str = Field(default=AssignmentKind.CONSENSUS.value, sa_column_kwargs={"server_default": "consensus"})
    regions: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    """Rework of single objects: ``[{dispute_id, index, bbox, segment_id, rle, category_id, note}]`` (the RLE the
    annotator drew; bbox COCO ``[x, y, w, h]``)."""


class Submission(SQLModel, table=True):
    """What one annotator delivered for one assignment. Immutable: a change is a new ``version``.

    ``content_hash`` is the SHA-256 of the submission's segments (so the same content from a
    renamed or re-exported file is recognised); ``source_hash`` is the SHA-256 of the whole file.
    ``rejections`` counts what the delivery lost for this image (refused annotations, the image
    itself, or the whole file's structure): a submission with rejections is incomplete and is
    not scored, like an undelivered one, until a complete delivery replaces it.
    """

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("assignment_id", "version"),
        Index("ix_submission_assignment_content", "assignment_id", "content_hash"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id")
    version: int = 1
    content_hash: str
    source_path: str
    source_hash: str | None = None
    format: str
    segment_count: int = 0
    created_at: datetime = _created()
    rejections: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Segment(RleBoxColumns, table=True):
    """One region of a submission as COCO RLE; ``source_id`` is the annotation id in the file.

    ``instance_id`` numbers the submission's segments 1..n in file order (the value an
    instance or panoptic PNG export uses).
    """

    __tablename__ = "segment"
    __table_args__ = (
        UniqueConstraint("submission_id", "source_id"),
        CheckConstraint("area >= 0 AND bbox_w >= 0 AND bbox_h >= 0", name="non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    source_id: str
    instance_id: int
    category_id: int
    iscrowd: bool = False


class Score(SQLModel, table=True):
    """One number: ``metric`` of ``kind`` (pair, group, image, ...) for the listed annotators.

    ``value`` ``NULL`` means NaN (undefined); ``detail`` holds anything else a metric reports.
    """

    __tablename__ = "score"
    __table_args__ = (
        _enum_check("kind", ScoreKind, "kind"),
        Index("ix_score_round_image", "round_id", "image_id"),
        Index("ix_score_round_metric", "round_id", "metric"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int | None = Field(default=None, foreign_key="image.id")
    kind: str
    annotators: list[int] = Field(default_factory=list, sa_type=JSON)
    category_id: int | None = None
    metric: str
    value: float | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = _created()


class Flag(SQLModel, table=True):
    """A finding that needs a person: what (``kind``), where (bbox), who, how bad."""

    __tablename__ = "flag"
    __table_args__ = (
        _enum_check("level", FindingLevel, "level"),
        Index("ix_flag_round_image", "round_id", "image_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int = Field(foreign_key="image.id")
    kind: str
    level: str
    category_id: int | None = None
    bbox_x: int | None = None
    bbox_y: int | None = None
    bbox_w: int | None = None
    bbox_h: int | None = None
    annotators: list[int] = Field(default_factory=list, sa_type=JSON)
    severity: float = 0.0
    message: str = Field(default="", sa_type=Text)
    created_at: datetime = _created()


class ReviewItem(SQLModel, table=True):
    """A flagged image in the review queue; ``version`` guards concurrent claims and decisions."""

    __tablename__ = "review_item"
    __table_args__ = (
        UniqueConstraint("round_id", "image_id"),
        _enum_check("status", ReviewStatus, "status"),
        Index("ix_review_item_status_lease", "status", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int = Field(foreign_key="image.id")
    status: str = ReviewStatus.PENDING.value
    claimed_by: int | None = Field(default=None, foreign_key="person.id")
    lease_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    version: int = 1
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Decision(SQLModel, table=True):
    """A reviewer's resolution of a review item."""

    __tablename__ = "decision"
    __table_args__ = (_enum_check("kind", DecisionKind, "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    review_item_id: int = Field(foreign_key="review_item.id", index=True)
    reviewer_id: int = Field(foreign_key="person.id")
    kind: str
    target_submission_id: int | None = Field(default=None, foreign_key="submission.id")
    note: str = Field(default="", sa_type=Text)
    feedback: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = _created()


class ConsensusSegment(RleBoxColumns, table=True):
    """One segment of an image's merged label (``method``: majority, staple, submission, ...).

    Provenance: ``source`` (:class:`SegmentSource`), ``supporters`` the person ids whose versions
    built it, ``chosen_by`` the reviewer who chose it and ``dispute_id`` the dispute it resolves.
    """

    __tablename__ = "consensus_segment"
    __table_args__ = (Index("ix_consensus_segment_round_image", "round_id", "image_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int = Field(foreign_key="image.id")
    category_id: int
    method: str
    created_at: datetime = _created()
    source: str = Field(default="consensus", sa_column_kwargs={"server_default": "consensus"})
    supporters: list[int] | None = Field(default=None, sa_type=JSON)
    chosen_by: int | None = Field(default=None, foreign_key="person.id")
    dispute_id: int | None = None


class ImageResult(SQLModel, table=True):
    """The verdict of one image in one round, and the hash of the inputs it was scored from.

    ``input_hash`` covers the submissions scored and the guideline version: scoring again
    with the same inputs changes nothing; new submissions (a follow-up annotator) replace
    the image's derived rows (scores, flags, this row) in one transaction.
    """

    __tablename__ = "image_result"
    __table_args__ = (
        UniqueConstraint("round_id", "image_id"),
        _enum_check("verdict", Verdict, "verdict"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    image_id: int = Field(foreign_key="image.id")
    verdict: str
    labels_spent: int
    input_hash: str
    summary: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    scored_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


class GoldSegment(RleColumns, table=True):
    """One segment of an image's known answer (gold images); ``source`` names where it came from."""

    __tablename__ = "gold_segment"

    id: int | None = Field(default=None, primary_key=True)
    image_id: int = Field(foreign_key="image.id", index=True)
    category_id: int
    source: str
    created_at: datetime = _created()


class Rejection(SQLModel, table=True):
    """One refused item of a delivered file, with its place (as the file names it) and the reason.

    ``image_id`` is the project's image the item belonged to, when the ingest could tell (an
    image assigned to the annotator); ``image_ref`` is the id the file itself used.
    """

    __tablename__ = "rejection"
    __table_args__ = (Index("ix_rejection_round_annotator_source", "round_id", "annotator_id", "source_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int | None = Field(default=None, foreign_key="round.id")
    annotator_id: int | None = Field(default=None, foreign_key="person.id")
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    source_path: str
    source_hash: str | None = None
    image_ref: str | None = None
    annotation_ref: str | None = None
    field: str | None = None
    message: str = Field(sa_type=Text)
    created_at: datetime = _created()
    image_id: int | None = Field(default=None, foreign_key="image.id", index=True)


class Event(SQLModel, table=True):
    """The append-only audit trail: who (``actor_id``) did what (``verb``) to which object, when."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    verb: str
    object_type: str
    object_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


from qc.store import _models_connect as _connect_tables  # noqa: E402, F401  (the Label Studio connector's tables)
from qc.store._models_reliability import AnnotatorReliability  # noqa: E402  (its table joins this metadata)
from qc.store._models_review import Dispute, DisputeKind, ResolutionKind, SegmentSource  # noqa: E402  (tables)
