"""Disputes and per-dispute decisions: the ``dispute`` table, the provenance of accepted segments,
regions on rework assignments, and the ``resolve`` decision kind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Existing consensus segments get ``source = 'consensus'`` (supporters unknown: ``NULL``);
existing assignments no regions. The review items still open (pending, claimed, escalated) get
their disputes after the upgrade, from ``qc db upgrade`` (:func:`qc.rounds.backfill_disputes`, at the
head schema: a data step here would run the library against the schema of 0005, which later
revisions change); decided items keep none (their decision holds).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DECISION_KINDS = "'accept_submission', 'accept_consensus', 'rework', 'escalate'"
_RESOLUTIONS = "'take', 'fused', 'set_class', 'remove', 'rework', 'escalate'"


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_item_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("bbox_x", sa.Integer(), nullable=False),
        sa.Column("bbox_y", sa.Integer(), nullable=False),
        sa.Column("bbox_w", sa.Integer(), nullable=False),
        sa.Column("bbox_h", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("fused_counts", sa.Text(), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("pairwise", sa.JSON(), nullable=False),
        sa.Column("replaces_segment_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("resolution_person_id", sa.Integer(), nullable=True),
        sa.Column("resolution_category_id", sa.Integer(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('unsupported', 'class_conflict', 'guideline')", name=op.f("ck_dispute_kind")),
        sa.CheckConstraint(f"resolution IS NULL OR resolution IN ({_RESOLUTIONS})", name=op.f("ck_dispute_resolution")),
        sa.ForeignKeyConstraint(
            ["review_item_id"], ["review_item.id"], name=op.f("fk_dispute_review_item_id_review_item")
        ),
        sa.ForeignKeyConstraint(
            ["resolution_person_id"], ["person.id"], name=op.f("fk_dispute_resolution_person_id_person")
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["person.id"], name=op.f("fk_dispute_resolved_by_person")),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_dispute_decision_id_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("review_item_id", "number", name=op.f("uq_dispute_review_item_id_number")),
    )
    op.create_index("ix_dispute_review_item_id", "dispute", ["review_item_id"])
    with op.batch_alter_table("consensus_segment") as batch:
        batch.add_column(sa.Column("source", sa.String(), server_default="consensus", nullable=False))
        batch.add_column(sa.Column("supporters", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("chosen_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dispute_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_consensus_segment_chosen_by_person"), "person", ["chosen_by"], ["id"])
    with op.batch_alter_table("assignment") as batch:
        batch.add_column(sa.Column("regions", sa.JSON(), nullable=True))
    with op.batch_alter_table("decision") as batch:
        batch.drop_constraint(op.f("ck_decision_kind"), type_="check")
        batch.create_check_constraint("kind", f"kind IN ({_DECISION_KINDS}, 'resolve')")


def downgrade() -> None:
    raise StoreError(
        "refusing to downgrade revision 0005: that would drop the disputes, their resolutions and the provenance "
        "of accepted segments. Restore a backup instead."
    )
