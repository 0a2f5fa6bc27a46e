"""Master data: match keys of golden customers, merges and stewardship decisions.

Revision ID: 0007_mdm
Revises: 0006_partners
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_mdm"
down_revision: str | None = "0006_partners"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the match index, the merges and the stewardship cases."""
    op.create_table(
        "cd_mdm_match_records",
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("canonical_id", sa.String(), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("keys", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("entity", "canonical_id", name="pk_cd_mdm_match_records"),
    )
    op.create_table(
        "cd_mdm_match_keys",
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("canonical_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "key", "canonical_id", name="pk_cd_mdm_match_keys"),
    )
    op.create_index("ix_cd_mdm_match_keys_entity_canonical_id", "cd_mdm_match_keys", ["entity", "canonical_id"])
    op.create_table(
        "cd_mdm_merges",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("winner_id", sa.String(), nullable=False),
        sa.Column("loser_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("snapshot", JSON, nullable=False),
        sa.Column("carried", JSON, nullable=False),
        sa.Column("merged_at", TIMESTAMP, nullable=False),
        sa.Column("unmerged_at", TIMESTAMP, nullable=True),
        sa.Column("unmerged_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_mdm_merges"),
    )
    # A golden record is merged into one winner at a time; undone merges do not count.
    op.create_index(
        "uq_cd_mdm_merges_standing_loser",
        "cd_mdm_merges",
        ["entity", "loser_id"],
        unique=True,
        sqlite_where=sa.text("standing"),
        postgresql_where=sa.text("standing"),
    )
    op.create_index("ix_cd_mdm_merges_entity_winner_id", "cd_mdm_merges", ["entity", "winner_id"])
    op.create_index("ix_cd_mdm_merges_entity_loser_id", "cd_mdm_merges", ["entity", "loser_id"])
    op.create_table(
        "cd_mdm_cases",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("pair_key", sa.String(), nullable=False),
        sa.Column("left_key", sa.String(), nullable=False),
        sa.Column("right_key", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", JSON, nullable=False),
        sa.Column("left_record", JSON, nullable=False),
        sa.Column("right_record", JSON, nullable=False),
        sa.Column("held", JSON, nullable=True),
        sa.Column("source_system", sa.String(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("released_at", TIMESTAMP, nullable=True),
        sa.Column("release", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_mdm_cases"),
        sa.UniqueConstraint("pair_key", name="uq_cd_mdm_cases_pair_key"),
    )
    op.create_index("ix_cd_mdm_cases_entity_left_key_state", "cd_mdm_cases", ["entity", "left_key", "state"])
    op.create_index("ix_cd_mdm_cases_state_opened_at", "cd_mdm_cases", ["state", "opened_at"])


def downgrade() -> None:
    """Drop the master-data tables."""
    op.drop_table("cd_mdm_cases")
    op.drop_table("cd_mdm_merges")
    op.drop_table("cd_mdm_match_keys")
    op.drop_table("cd_mdm_match_records")
