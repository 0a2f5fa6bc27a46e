"""Operations console: console users and sessions, replay requests and approvals, the audit trail.

Also an index on `cd_lineage.started_at`, so the console's charts read a time window without scanning the table.

Revision ID: 0008_console
Revises: 0007_mdm
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_console"
down_revision: str | None = "0007_mdm"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the console tables."""
    op.create_table(
        "cd_console_users",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_cd_console_users"),
    )
    op.create_table(
        "cd_console_sessions",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["cd_console_users.username"],
            name="fk_cd_console_sessions_username_cd_console_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_cd_console_sessions"),
    )
    op.create_index("ix_cd_console_sessions_expires_at", "cd_console_sessions", ["expires_at"])
    op.create_table(
        "cd_replay_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("dead_letter_id", sa.BigInteger(), nullable=False),
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("flow", sa.String(), nullable=True),
        sa.Column("dead_attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("second_person_required", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("replayed_at", TIMESTAMP, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_replay_requests"),
    )
    # One open (requested or approved) request per dead letter, across console processes.
    op.create_index(
        "uq_cd_replay_requests_open",
        "cd_replay_requests",
        ["dead_letter_id"],
        unique=True,
        sqlite_where=sa.text("is_open"),
        postgresql_where=sa.text("is_open"),
    )
    op.create_index("ix_cd_replay_requests_state_requested_at", "cd_replay_requests", ["state", "requested_at"])
    op.create_table(
        "cd_console_audit",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target_kind", sa.String(), nullable=False),
        sa.Column("target_id", sa.String(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cd_console_audit"),
    )
    op.create_index("ix_cd_console_audit_target_kind_target_id", "cd_console_audit", ["target_kind", "target_id"])
    op.create_index("ix_cd_console_audit_at", "cd_console_audit", ["at"])
    op.create_index("ix_cd_lineage_started_at", "cd_lineage", ["started_at"])


def downgrade() -> None:
    """Drop the console tables."""
    op.drop_index("ix_cd_lineage_started_at", table_name="cd_lineage")
    op.drop_table("cd_console_audit")
    op.drop_table("cd_replay_requests")
    op.drop_table("cd_console_sessions")
    op.drop_table("cd_console_users")
