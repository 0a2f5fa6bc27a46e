"""Partner files: poller attempts per file, kept across restarts.

Revision ID: 0009_partner_files
Revises: 0008_console
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_partner_files"
down_revision: str | None = "0008_console"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the table of failed attempts at partners' files."""
    op.create_table(
        "cd_partner_files",
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("first_at", TIMESTAMP, nullable=False),
        sa.Column("last_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("partner", "name", "size", "mtime", name="pk_cd_partner_files"),
    )


def downgrade() -> None:
    """Drop the table of failed attempts at partners' files."""
    op.drop_table("cd_partner_files")
