"""Annotator reliability per round and per project: the ``annotator_reliability`` table.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01

A new table only; existing rows are untouched. Reliability is computed from the observations
scoring stores in ``image_result.summary``: images scored before this revision carry none until
they are scored again, so their rounds start with no reliability rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "annotator_reliability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("n_objects", sa.Integer(), nullable=False),
        sa.Column("boundary_iou", sa.Float(), nullable=True),
        sa.Column("miss_rate", sa.Float(), nullable=True),
        sa.Column("extra_rate", sa.Float(), nullable=True),
        sa.Column("class_error_rate", sa.Float(), nullable=True),
        sa.Column("sensitivity", sa.Float(), nullable=True),
        sa.Column("specificity", sa.Float(), nullable=True),
        sa.Column("gold_iou", sa.Float(), nullable=True),
        sa.Column("gold_failures", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_annotator_reliability_person_id_person")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_annotator_reliability_project_id_project")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_annotator_reliability_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotator_reliability")),
    )
    op.create_index("ix_annotator_reliability_project_round", "annotator_reliability", ["project_id", "round_id"])


def downgrade() -> None:
    op.drop_index("ix_annotator_reliability_project_round", table_name="annotator_reliability")
    op.drop_table("annotator_reliability")
