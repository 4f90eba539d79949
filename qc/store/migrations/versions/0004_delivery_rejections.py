"""Rejections per image: ``submission.rejections`` (a submission that lost annotations is incomplete) and
``rejection.image_id`` (the project image a rejection concerns, when known).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Existing submissions get ``rejections = 0`` (they were scored as complete) and existing
rejections no image (they keep the file's own image reference in ``image_ref``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("rejections", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("rejection") as batch:
        batch.add_column(sa.Column("image_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_rejection_image_id_image"), "image", ["image_id"], ["id"])
        batch.create_index("ix_rejection_image_id", ["image_id"])


def downgrade() -> None:
    raise StoreError(
        "refusing to downgrade revision 0004: that would drop which images lost annotations. Restore a backup instead."
    )
