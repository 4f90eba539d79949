"""Initial schema: every table of DESIGN §1, plus score, rejection and event.

Revision ID: 0001
Revises: (none)
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("name", name=op.f("uq_person_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_person_token_hash")),
    )
    op.create_table(
        "project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("task_type", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("task_type IN ('semantic', 'instance', 'panoptic')", name=op.f("ck_project_task_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("name", name=op.f("uq_project_name")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("verb", sa.String(), nullable=False),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["person.id"], name=op.f("fk_event_actor_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index("ix_event_object", "event", ["object_type", "object_id"])

    op.create_table(
        "guideline_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("text_hash", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_guideline_version_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guideline_version")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_guideline_version_project_id_version")),
    )
    op.create_table(
        "image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=True),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_image_positive_size")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_image_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image")),
        sa.UniqueConstraint("project_id", "file_name", name=op.f("uq_image_project_id_file_name")),
    )
    op.create_table(
        "label_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("color", sa.String(), nullable=True),
        sa.CheckConstraint("kind IN ('thing', 'stuff')", name=op.f("ck_label_class_kind")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_label_class_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_class")),
        sa.UniqueConstraint("project_id", "class_id", name=op.f("uq_label_class_project_id_class_id")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_label_class_project_id_name")),
    )
    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("guideline_version_id", sa.Integer(), nullable=True),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('consensus', 'gold', 'rework')", name=op.f("ck_round_kind")),
        sa.CheckConstraint("status IN ('open', 'scoring', 'review', 'closed')", name=op.f("ck_round_status")),
        sa.CheckConstraint("k >= 1", name=op.f("ck_round_k_positive")),
        sa.ForeignKeyConstraint(
            ["guideline_version_id"],
            ["guideline_version.id"],
            name=op.f("fk_round_guideline_version_id_guideline_version"),
        ),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_round_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round")),
    )
    op.create_index("ix_round_project_id", "round", ["project_id"])

    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["annotator_id"], ["person.id"], name=op.f("fk_assignment_annotator_id_person")),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_assignment_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_assignment_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
        sa.UniqueConstraint(
            "round_id", "image_id", "annotator_id", name=op.f("uq_assignment_round_id_image_id_annotator_id")
        ),
    )
    op.create_index("ix_assignment_image_id", "assignment", ["image_id"])
    op.create_index("ix_assignment_round_annotator", "assignment", ["round_id", "annotator_id"])

    op.create_table(
        "consensus_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("rle_counts", sa.Text(), nullable=False),
        sa.Column("area", sa.Integer(), nullable=False),
        sa.Column("bbox_x", sa.Integer(), nullable=False),
        sa.Column("bbox_y", sa.Integer(), nullable=False),
        sa.Column("bbox_w", sa.Integer(), nullable=False),
        sa.Column("bbox_h", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_consensus_segment_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_consensus_segment_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consensus_segment")),
    )
    op.create_index("ix_consensus_segment_round_image", "consensus_segment", ["round_id", "image_id"])

    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("bbox_x", sa.Integer(), nullable=True),
        sa.Column("bbox_y", sa.Integer(), nullable=True),
        sa.Column("bbox_w", sa.Integer(), nullable=True),
        sa.Column("bbox_h", sa.Integer(), nullable=True),
        sa.Column("annotators", sa.JSON(), nullable=False),
        sa.Column("severity", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level IN ('image', 'annotator')", name=op.f("ck_flag_level")),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_flag_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_flag_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag")),
    )
    op.create_index("ix_flag_round_image", "flag", ["round_id", "image_id"])

    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'decided', 'escalated')", name=op.f("ck_review_item_status")
        ),
        sa.ForeignKeyConstraint(["claimed_by"], ["person.id"], name=op.f("fk_review_item_claimed_by_person")),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_review_item_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_review_item_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
        sa.UniqueConstraint("round_id", "image_id", name=op.f("uq_review_item_round_id_image_id")),
    )
    op.create_index("ix_review_item_status_lease", "review_item", ["status", "lease_until"])

    op.create_table(
        "score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("annotators", sa.JSON(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('pair', 'group', 'image', 'annotator', 'round')", name=op.f("ck_score_kind")),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_score_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_score_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score")),
    )
    op.create_index("ix_score_round_image", "score", ["round_id", "image_id"])
    op.create_index("ix_score_round_metric", "score", ["round_id", "metric"])

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("source_hash", sa.String(), nullable=True),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_submission_version_positive")),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignment.id"], name=op.f("fk_submission_assignment_id_assignment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint("assignment_id", "version", name=op.f("uq_submission_assignment_id_version")),
    )
    op.create_index("ix_submission_assignment_content", "submission", ["assignment_id", "content_hash"])

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target_submission_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("feedback", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('accept_submission', 'accept_consensus', 'rework', 'escalate')", name=op.f("ck_decision_kind")
        ),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_item.id"], name=op.f("fk_decision_review_item_id_review_item")
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["person.id"], name=op.f("fk_decision_reviewer_id_person")),
        sa.ForeignKeyConstraint(
            ["target_submission_id"], ["submission.id"], name=op.f("fk_decision_target_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    op.create_index("ix_decision_review_item_id", "decision", ["review_item_id"])

    op.create_table(
        "rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("annotator_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("source_hash", sa.String(), nullable=True),
        sa.Column("image_ref", sa.String(), nullable=True),
        sa.Column("annotation_ref", sa.String(), nullable=True),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["annotator_id"], ["person.id"], name=op.f("fk_rejection_annotator_id_person")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_rejection_round_id_round")),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_rejection_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejection")),
    )
    op.create_index("ix_rejection_round_annotator_source", "rejection", ["round_id", "annotator_id", "source_hash"])
    op.create_index("ix_rejection_submission_id", "rejection", ["submission_id"])

    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("iscrowd", sa.Boolean(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("rle_counts", sa.Text(), nullable=False),
        sa.Column("area", sa.Integer(), nullable=False),
        sa.Column("bbox_x", sa.Integer(), nullable=False),
        sa.Column("bbox_y", sa.Integer(), nullable=False),
        sa.Column("bbox_w", sa.Integer(), nullable=False),
        sa.Column("bbox_h", sa.Integer(), nullable=False),
        sa.CheckConstraint("area >= 0 AND bbox_w >= 0 AND bbox_h >= 0", name=op.f("ck_segment_non_negative")),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"], name=op.f("fk_segment_submission_id_submission")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("submission_id", "source_id", name=op.f("uq_segment_submission_id_source_id")),
    )


def downgrade() -> None:
    # Below the first revision there is no qc schema: going there would drop every table, which qc never does.
    raise StoreError(
        "refusing to downgrade below the initial qc schema: that would drop every table. "
        "Restore a backup of the database instead."
    )
