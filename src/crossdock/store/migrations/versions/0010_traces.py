"""Traces kept locally for the console: finished spans per trace.

Revision ID: 0010_traces
Revises: 0009_partner_files
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010_traces"
down_revision: str | None = "0009_partner_files"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing yet: this revision's tables are being written."""


def downgrade() -> None:
    """Nothing yet."""
