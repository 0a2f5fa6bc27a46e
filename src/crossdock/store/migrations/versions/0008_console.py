"""Operations console: console users and sessions, replay requests and approvals, the audit trail.

Revision ID: 0008_console
Revises: 0007_mdm
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_console"
down_revision: str | None = "0007_mdm"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing yet: this revision's tables are being written."""


def downgrade() -> None:
    """Nothing yet."""
