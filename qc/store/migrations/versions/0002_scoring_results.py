"""Scoring results: one verdict row per (round, image), gold answers, assignment kinds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "image_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("labels_spent", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("verdict IN ('accepted', 'escalate', 'review')", name=op.f("ck_image_result_verdict")),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_image_result_image_id_image")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_image_result_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_result")),
        sa.UniqueConstraint("round_id", "image_id", name=op.f("uq_image_result_round_id_image_id")),
    )
    op.create_table(
        "gold_segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("rle_counts", sa.Text(), nullable=False),
        sa.Column("area", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["image.id"], name=op.f("fk_gold_segment_image_id_image")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gold_segment")),
    )
    op.create_index("ix_gold_segment_image_id", "gold_segment", ["image_id"])
    with op.batch_alter_table("assignment") as batch:
        batch.add_column(sa.Column("kind", sa.String(), server_default="consensus", nullable=False))
        batch.create_check_constraint("kind", "kind IN ('consensus', 'gold', 'followup', 'rework')")


def downgrade() -> None:
    raise StoreError(
        "refusing to downgrade revision 0002: that would drop the scoring results. Restore a backup instead."
    )
