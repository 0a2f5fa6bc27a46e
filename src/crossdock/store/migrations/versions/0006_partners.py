"""Partner connectivity: control numbers per partner and the journal of documents exchanged.

Revision ID: 0006_partners
Revises: 0005_api
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_partners"
down_revision: str | None = "0005_api"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the partner tables."""
    op.create_table(
        "cd_partner_counters",
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner", "kind", name="pk_cd_partner_counters"),
    )
    op.create_table(
        "cd_partner_documents",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("control_number", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_partner_documents"),
        sa.UniqueConstraint(
            "partner",
            "direction",
            "kind",
            "reference",
            "control_number",
            name="uq_cd_partner_documents_key",  # the convention's name is over PostgreSQL's 63 characters
        ),
    )
    op.create_index(
        "ix_cd_partner_documents_kind_direction_answered_at_at",
        "cd_partner_documents",
        ["kind", "direction", "answered_at", "at"],
    )


def downgrade() -> None:
    """Drop the partner tables."""
    op.drop_table("cd_partner_documents")
    op.drop_table("cd_partner_counters")
