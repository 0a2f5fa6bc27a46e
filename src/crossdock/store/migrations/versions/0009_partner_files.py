"""Partner files: poller attempts per file, kept across restarts.

Revision ID: 0009_partner_files
Revises: 0008_console
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_partner_files"
down_revision: str | None = "0008_console"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing yet: this revision's tables are being written."""


def downgrade() -> None:
    """Nothing yet."""
