"""The API layer: clients, idempotency keys, orders taken, webhook subscriptions, deliveries and inbound ids; an
index on the outbox by process instance.

Revision ID: 0005_api
Revises: 0004_processes
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_api"
down_revision: str | None = "0004_processes"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as of this revision: later edits to `tables.py` must not change history.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the API tables."""
    op.create_table(
        "cd_api_clients",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("rate_plan", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("previous_secret_hash", sa.String(), nullable=True),
        sa.Column("previous_valid_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("rotated_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name="pk_cd_api_clients"),
    )
    op.create_table(
        "cd_idempotency_keys",
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("request_hash", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("client_id", "key", name="pk_cd_idempotency_keys"),
    )
    op.create_index("ix_cd_idempotency_keys_expires_at", "cd_idempotency_keys", ["expires_at"])
    op.create_table(
        "cd_api_orders",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("client_id", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("customer_reference", sa.String(), nullable=True),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("process_id", sa.String(), nullable=False),
        sa.Column("submitted_at", TIMESTAMP, nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_cd_api_orders"),
        sa.UniqueConstraint("number", name="uq_cd_api_orders_number"),
    )
    op.create_index("ix_cd_api_orders_partner_id_submitted_at", "cd_api_orders", ["partner_id", "submitted_at"])
    op.create_table(
        "cd_webhook_subscriptions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cd_webhook_subscriptions"),
    )
    op.create_index("ix_cd_webhook_subscriptions_partner_id", "cd_webhook_subscriptions", ["partner_id"])
    op.create_table(
        "cd_webhook_deliveries",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("subscription_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cd_webhook_deliveries"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_cd_webhook_deliveries_subscription_id_event_id"),
    )
    op.create_index(
        "ix_cd_webhook_deliveries_state_next_attempt_at", "cd_webhook_deliveries", ["state", "next_attempt_at"]
    )
    op.create_table(
        "cd_inbound_webhooks",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("webhook_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("source", "webhook_id", name="pk_cd_inbound_webhooks"),
    )
    op.create_index("ix_cd_inbound_webhooks_received_at", "cd_inbound_webhooks", ["received_at"])
    # The API reads an order's shipments and invoices from the events its process emitted.
    op.create_index("ix_cd_outbox_instance_id", "cd_outbox", ["instance_id"])


def downgrade() -> None:
    """Drop the API tables."""
    op.drop_index("ix_cd_outbox_instance_id", table_name="cd_outbox")
    for table in (
        "cd_inbound_webhooks",
        "cd_webhook_deliveries",
        "cd_webhook_subscriptions",
        "cd_api_orders",
        "cd_idempotency_keys",
        "cd_api_clients",
    ):
        op.drop_table(table)
