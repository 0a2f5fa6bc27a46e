"""Durable processes: instances with one live instance per key, the step journal, signals, operator actions, outbox.

Revision ID: 0004_processes
Revises: 0003_golden_views
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_processes"
down_revision: str | None = "0003_golden_views"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the process tables."""
    op.create_table(
        "cd_process_instances",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("definition", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("business_key", sa.String(), nullable=False),
        sa.Column("correlation_id", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("input", JSON, nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("wake_at", TIMESTAMP, nullable=True),
        sa.Column("wait_type", sa.String(), nullable=True),
        sa.Column("wait_key", sa.String(), nullable=True),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("lease_token", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cd_process_instances"),
    )
    # One live instance per (definition, business key), across workers; finished ones do not count. Both SQLite
    # (3.8+) and PostgreSQL have partial indexes, and `live` is a plain boolean column on both.
    op.create_index(
        "uq_cd_process_instances_live_key",
        "cd_process_instances",
        ["definition", "business_key"],
        unique=True,
        sqlite_where=sa.text("live"),
        postgresql_where=sa.text("live"),
    )
    op.create_index("ix_cd_process_instances_key", "cd_process_instances", ["definition", "business_key"])
    op.create_index("ix_cd_process_instances_state_wake_at", "cd_process_instances", ["state", "wake_at"])
    op.create_index("ix_cd_process_instances_wait_type_wait_key", "cd_process_instances", ["wait_type", "wait_key"])
    op.create_index("ix_cd_process_instances_updated_at", "cd_process_instances", ["updated_at"])
    op.create_table(
        "cd_process_steps",
        sa.Column("instance_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("compensable", sa.Boolean(), nullable=False),
        sa.Column("compensates", sa.Integer(), nullable=True),
        sa.Column("wake_at", TIMESTAMP, nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["cd_process_instances.id"],
            name="fk_cd_process_steps_instance_id_cd_process_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "seq", name="pk_cd_process_steps"),
    )
    op.create_table(
        "cd_process_signals",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("correlation_key", sa.String(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("consumed_by", sa.String(), nullable=True),
        sa.Column("consumed_seq", sa.Integer(), nullable=True),
        sa.Column("consumed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_cd_process_signals"),
    )
    op.create_index(
        "ix_cd_process_signals_consumed_by_event_type_correlation_key",
        "cd_process_signals",
        ["consumed_by", "event_type", "correlation_key"],
    )
    op.create_table(
        "cd_process_actions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cd_process_actions"),
    )
    op.create_index("ix_cd_process_actions_instance_id", "cd_process_actions", ["instance_id"])
    op.create_table(
        "cd_outbox",
        sa.Column("position", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("instance_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_cd_outbox"),
        sa.UniqueConstraint("event_id", name="uq_cd_outbox_event_id"),
    )
    op.create_index("ix_cd_outbox_published_at_position", "cd_outbox", ["published_at", "position"])


def downgrade() -> None:
    """Drop the process tables."""
    for table in ("cd_outbox", "cd_process_actions", "cd_process_signals", "cd_process_steps", "cd_process_instances"):
        op.drop_table(table)
