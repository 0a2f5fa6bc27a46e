"""Core records: cross-references, delivery journal, lineage with its key index, business exceptions, cursors.

Revision ID: 0001_core_records
Revises:
Create Date: 2024-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_core_records"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the core record tables."""
    op.create_table(
        "cd_xref",
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("canonical_id", sa.String(), nullable=False),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("local_id", sa.String(), nullable=False),
        sa.Column("written_hash", sa.String(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("entity", "canonical_id", "system", name="pk_cd_xref"),
        sa.UniqueConstraint("entity", "system", "local_id", name="uq_cd_xref_entity_system_local_id"),
    )
    op.create_table(
        "cd_delivery_journal",
        sa.Column("flow", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("local_id", sa.String(), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("flow", "target", "event_id", name="pk_cd_delivery_journal"),
    )
    op.create_table(
        "cd_lineage",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("system", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("business_keys", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_lineage"),
    )
    op.create_index("ix_cd_lineage_correlation_id", "cd_lineage", ["correlation_id"])
    op.create_index("ix_cd_lineage_subject", "cd_lineage", ["subject"])
    op.create_table(
        "cd_lineage_keys",
        sa.Column("lineage_id", ID, nullable=False),
        sa.Column("key_name", sa.String(), nullable=False),
        sa.Column("key_value", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lineage_id"],
            ["cd_lineage.id"],
            name="fk_cd_lineage_keys_lineage_id_cd_lineage",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lineage_id", "key_name", name="pk_cd_lineage_keys"),
    )
    op.create_index("ix_cd_lineage_keys_key_value", "cd_lineage_keys", ["key_value"])
    op.create_table(
        "cd_exceptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("exception_class", sa.String(), nullable=False),
        sa.Column("owner_queue", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("flow", sa.String(), nullable=True),
        sa.Column("system", sa.String(), nullable=True),
        sa.Column("entity", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=True),
        sa.Column("raw_payload", sa.Text(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cd_exceptions"),
    )
    op.create_index("ix_cd_exceptions_status_created_at", "cd_exceptions", ["status", "created_at"])
    op.create_index("ix_cd_exceptions_exception_class_status", "cd_exceptions", ["exception_class", "status"])
    op.create_index("ix_cd_exceptions_owner_queue_status", "cd_exceptions", ["owner_queue", "status"])
    op.create_table(
        "cd_cursors",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cd_cursors"),
    )


def downgrade() -> None:
    """Drop the core record tables."""
    for table in (
        "cd_cursors",
        "cd_exceptions",
        "cd_lineage_keys",
        "cd_lineage",
        "cd_delivery_journal",
        "cd_xref",
    ):
        op.drop_table(table)
