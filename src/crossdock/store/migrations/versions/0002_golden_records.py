"""Golden records, and a de-duplication key on business exceptions.

Revision ID: 0002_golden_records
Revises: 0001_core_records
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_golden_records"
down_revision: str | None = "0001_core_records"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add cd_golden_records and cd_exceptions.dedupe_key (unique where set)."""
    op.create_table(
        "cd_golden_records",
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("canonical_id", sa.String(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("entity", "canonical_id", name="pk_cd_golden_records"),
    )
    with op.batch_alter_table("cd_exceptions") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(), nullable=True))
        batch.create_index("ix_cd_exceptions_dedupe_key", ["dedupe_key"], unique=True)


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("cd_exceptions") as batch:
        batch.drop_index("ix_cd_exceptions_dedupe_key")
        batch.drop_column("dedupe_key")
    op.drop_table("cd_golden_records")
