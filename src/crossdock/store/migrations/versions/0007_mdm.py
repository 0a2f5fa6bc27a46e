"""Master data: match keys of golden customers, merges and stewardship decisions.

Revision ID: 0007_mdm
Revises: 0006_partners
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_mdm"
down_revision: str | None = "0006_partners"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing yet: this revision's tables are being written."""


def downgrade() -> None:
    """Nothing yet."""
