"""Per-system views on golden records.

Revision ID: 0003_golden_views
Revises: 0002_golden_records
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_golden_views"
down_revision: str | None = "0002_golden_records"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add cd_golden_records.views: what each system holds, as of the last read or write."""
    with op.batch_alter_table("cd_golden_records") as batch:
        batch.add_column(sa.Column("views", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("cd_golden_records") as batch:
        batch.alter_column("views", server_default=None)


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("cd_golden_records") as batch:
        batch.drop_column("views")
