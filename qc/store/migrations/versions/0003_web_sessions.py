"""Review-page sessions that can be ended: a session epoch per person, and the public prefix of each login token.

``person.session_epoch`` (0 for everyone) grows at each logout and token rotation; a session
cookie carrying an older epoch is refused. ``person.token_prefix`` (the first characters of the
login token, indexed) lets the login throttle count failures per account; tokens issued before
this revision have none until they are rotated (``qc person token``). Sessions signed before
this revision carry no epoch: everyone logs in once more.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qc.errors import StoreError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("token_prefix", sa.String(), nullable=True))
        batch.create_index("ix_person_token_prefix", ["token_prefix"])


def downgrade() -> None:
    raise StoreError(
        "refusing to downgrade revision 0003: sessions could no longer be ended. Restore a backup instead."
    )
