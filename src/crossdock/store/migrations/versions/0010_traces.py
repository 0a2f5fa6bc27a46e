"""Traces kept locally for the console: finished spans per trace; process instances carry their trace context.

Revision ID: 0010_traces
Revises: 0009_partner_files
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_traces"
down_revision: str | None = "0009_partner_files"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the span table; give process instances the W3C traceparent they continue."""
    op.create_table(
        "cd_trace_spans",
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("span_id", sa.String(), nullable=False),
        sa.Column("parent_span_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("business_key", sa.String(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=False),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_cd_trace_spans"),
    )
    op.create_index("ix_cd_trace_spans_started_at", "cd_trace_spans", ["started_at"])
    op.create_index("ix_cd_trace_spans_business_key", "cd_trace_spans", ["business_key"])
    with op.batch_alter_table("cd_process_instances") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("cd_process_instances") as batch:
        batch.drop_column("traceparent")
    op.drop_index("ix_cd_trace_spans_business_key", table_name="cd_trace_spans")
    op.drop_index("ix_cd_trace_spans_started_at", table_name="cd_trace_spans")
    op.drop_table("cd_trace_spans")
