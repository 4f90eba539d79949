"""The Label Studio connector: a project's connection, the tool's projects and tasks, the annotations' lead time.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01

New tables only (:mod:`qc.store._models_connect`); existing rows are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "labelstudio_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("token_fingerprint", sa.String(), nullable=False),
        sa.Column("document_root", sa.String(), nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_labelstudio_connection_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelstudio_connection")),
        sa.UniqueConstraint("project_id", name=op.f("uq_labelstudio_connection_project_id")),
    )
    op.create_table(
        "labelstudio_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["annotator_id"], ["person.id"], name=op.f("fk_labelstudio_project_annotator_id_person")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_labelstudio_project_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelstudio_project")),
        sa.UniqueConstraint("round_id", "annotator_id", name=op.f("uq_labelstudio_project_round_id_annotator_id")),
    )
    op.create_table(
        "labelstudio_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("remote_project_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignment.id"], name=op.f("fk_labelstudio_task_assignment_id_assignment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelstudio_task")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_labelstudio_task_assignment_id")),
    )
    op.create_index(op.f("ix_labelstudio_task_remote_project_id"), "labelstudio_task", ["remote_project_id"])
    op.create_table(
        "labelstudio_annotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        sa.Column("lead_time", sa.Float(), nullable=True),
        sa.Column("remote_updated_at", sa.String(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        _created("synced_at"),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignment.id"], name=op.f("fk_labelstudio_annotation_assignment_id_assignment")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_labelstudio_annotation_submission_id_submission")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelstudio_annotation")),
        sa.UniqueConstraint(
            "assignment_id", "remote_id", name=op.f("uq_labelstudio_annotation_assignment_id_remote_id")
        ),
    )
    op.create_index(op.f("ix_labelstudio_annotation_assignment_id"), "labelstudio_annotation", ["assignment_id"])


def downgrade() -> None:
    raise StoreError(
        "refusing to downgrade revision 0006: that would drop the Label Studio projects, tasks and lead times. "
        "Restore a backup instead."
    )
