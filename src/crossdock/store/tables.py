"""The store's tables as SQLAlchemy Core metadata: what queries are written against.

The migrations in `crossdock.store.migrations` create the same schema; a contract test compares the two, so a
change here needs a new migration. Later features (process instances, outbox, golden records, audit) add their
own tables in their own migrations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from crossdock.store.rules import as_utc

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend; SQLite keeps it as naive UTC text, which sorts."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; refuse naive values, whose zone would be a guess."""
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, one step from an aware datetime to the text SQLAlchemy's DATETIME stores
        (`YYYY-MM-DD HH:MM:SS.ffffff`, naive UTC): the order intake binds three per order, and the two chained
        processors cost more than its insert did. Elsewhere, SQLAlchemy's."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def sqlite_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            return as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")

        return sqlite_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Hand back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def id_type() -> sa.types.TypeEngine[int]:
    """BIGINT identity on PostgreSQL; INTEGER on SQLite, where only that spelling aliases the rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON documents: JSONB on PostgreSQL, JSON text on SQLite."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

cross_references = sa.Table(
    "cd_xref",
    metadata,
    sa.Column("entity", sa.String(), primary_key=True),
    sa.Column("canonical_id", sa.String(), primary_key=True),
    sa.Column("system", sa.String(), primary_key=True),
    sa.Column("local_id", sa.String(), nullable=False),
    sa.Column("written_hash", sa.String()),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("entity", "system", "local_id"),
)

delivery_journal = sa.Table(
    "cd_delivery_journal",
    metadata,
    sa.Column("flow", sa.String(), primary_key=True),
    sa.Column("target", sa.String(), primary_key=True),
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("subject", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("local_id", sa.String()),
    sa.Column("delivered_at", UtcDateTime(), nullable=False),
)

lineage = sa.Table(
    "cd_lineage",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("correlation_id", sa.String(), nullable=False),
    sa.Column("subject", sa.String()),
    sa.Column("event_id", sa.String()),
    sa.Column("system", sa.String(), nullable=False),
    sa.Column("step", sa.String(), nullable=False),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("business_keys", json_type(), nullable=False),
    sa.Column("detail", json_type(), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("duration_ms", sa.Float()),
    sa.Index(None, "correlation_id"),
    sa.Index(None, "subject"),
)

# One row per business key value, so "where is order 4711?" is an index lookup instead of a JSON scan.
lineage_keys = sa.Table(
    "cd_lineage_keys",
    metadata,
    sa.Column("lineage_id", id_type(), sa.ForeignKey("cd_lineage.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key_name", sa.String(), primary_key=True),
    sa.Column("key_value", sa.String(), nullable=False),
    sa.Index(None, "key_value"),
)

business_exceptions = sa.Table(
    "cd_exceptions",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("exception_class", sa.String(), nullable=False),
    sa.Column("owner_queue", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("assignee", sa.String()),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("flow", sa.String()),
    sa.Column("system", sa.String()),
    sa.Column("entity", sa.String()),
    sa.Column("subject", sa.String()),
    sa.Column("event_id", sa.String()),
    sa.Column("correlation_id", sa.String()),
    sa.Column("raw_payload", sa.Text()),
    sa.Column("details", json_type(), nullable=False),
    sa.Column("dedupe_key", sa.String()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "exception_class", "status"),
    sa.Index(None, "owner_queue", "status"),
    sa.Index(None, "dedupe_key", unique=True),
)

capture_cursors = sa.Table(
    "cd_cursors",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

golden_records = sa.Table(
    "cd_golden_records",
    metadata,
    sa.Column("entity", sa.String(), primary_key=True),
    sa.Column("canonical_id", sa.String(), primary_key=True),
    sa.Column("document", json_type(), nullable=False),
    sa.Column("sources", json_type(), nullable=False),
    sa.Column("views", json_type(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# --- durable processes (see crossdock.process) ---

process_instances = sa.Table(
    "cd_process_instances",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("definition", sa.String(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("business_key", sa.String(), nullable=False),
    sa.Column("correlation_id", sa.String()),
    sa.Column("state", sa.String(), nullable=False),
    # Not terminal: kept as a column so that one partial unique index allows one live instance per key.
    sa.Column("live", sa.Boolean(), nullable=False),
    sa.Column("input", json_type(), nullable=False),
    sa.Column("result", json_type()),
    sa.Column("error", sa.Text()),
    sa.Column("wake_at", UtcDateTime()),
    sa.Column("wait_type", sa.String()),
    sa.Column("wait_key", sa.String()),
    sa.Column("owner", sa.String()),
    sa.Column("lease_until", UtcDateTime()),
    sa.Column("lease_token", sa.Integer(), nullable=False),
    sa.Column("cancel_reason", sa.Text()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("traceparent", sa.String()),  # the W3C trace context its runs continue (0010_traces)
    sa.Index(
        "uq_cd_process_instances_live_key",
        "definition",
        "business_key",
        unique=True,
        sqlite_where=sa.text("live"),
        postgresql_where=sa.text("live"),
    ),
    sa.Index("ix_cd_process_instances_key", "definition", "business_key"),
    sa.Index(None, "state", "wake_at"),
    sa.Index(None, "wait_type", "wait_key"),
    sa.Index(None, "updated_at"),
)

process_steps = sa.Table(
    "cd_process_steps",
    metadata,
    sa.Column(
        "instance_id",
        sa.String(),
        sa.ForeignKey("cd_process_instances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("outages", sa.Integer(), nullable=False),
    sa.Column("result", json_type()),
    sa.Column("error", sa.Text()),
    sa.Column("compensable", sa.Boolean(), nullable=False),
    sa.Column("compensates", sa.Integer()),
    sa.Column("wake_at", UtcDateTime()),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
)

process_signals = sa.Table(
    "cd_process_signals",
    metadata,
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("event_type", sa.String(), nullable=False),
    sa.Column("correlation_key", sa.String(), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("consumed_by", sa.String()),
    sa.Column("consumed_seq", sa.Integer()),
    sa.Column("consumed_at", UtcDateTime()),
    # consumed_by first: a claim looks for unconsumed signals of any type, a wait for those of one type and key.
    sa.Index(None, "consumed_by", "event_type", "correlation_key"),
)

process_actions = sa.Table(
    "cd_process_actions",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("details", json_type(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index(None, "instance_id"),
)

outbox = sa.Table(
    "cd_outbox",
    metadata,
    sa.Column("position", id_type(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("instance_id", sa.String(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("event_type", sa.String(), nullable=False),
    sa.Column("subject", sa.String(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),  # the CloudEvent as structured-mode JSON, exactly as emitted
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("published_at", UtcDateTime()),
    sa.UniqueConstraint("event_id"),
    sa.Index(None, "published_at", "position"),
    sa.Index(None, "instance_id"),  # added by 0005_api: what an order's process has told the world
)

# --- the API layer (migration 0005_api) ---

api_clients = sa.Table(
    "cd_api_clients",
    metadata,
    sa.Column("client_id", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("partner_id", sa.String()),
    sa.Column("scopes", json_type(), nullable=False),  # a sorted list of scope names
    sa.Column("rate_plan", sa.String(), nullable=False),
    sa.Column("secret_hash", sa.String(), nullable=False),
    sa.Column("previous_secret_hash", sa.String()),
    sa.Column("previous_valid_until", UtcDateTime()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("rotated_at", UtcDateTime()),
    sa.Column("revoked_at", UtcDateTime()),
)

idempotency_keys = sa.Table(
    "cd_idempotency_keys",
    metadata,
    sa.Column("client_id", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("request_hash", sa.String(), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("headers", json_type(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

api_orders = sa.Table(
    "cd_api_orders",
    metadata,
    sa.Column("order_id", sa.String(), primary_key=True),
    sa.Column("number", sa.String(), nullable=False),
    sa.Column("client_id", sa.String(), nullable=False),
    sa.Column("partner_id", sa.String()),
    sa.Column("customer_id", sa.String(), nullable=False),
    sa.Column("customer_reference", sa.String()),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("process_id", sa.String(), nullable=False),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("document", json_type(), nullable=False),
    sa.UniqueConstraint("number"),
    sa.Index(None, "partner_id", "submitted_at"),
)

webhook_subscriptions = sa.Table(
    "cd_webhook_subscriptions",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("partner_id", sa.String()),
    sa.Column("url", sa.String(), nullable=False),
    sa.Column("event_types", json_type(), nullable=False),  # a sorted list of event types
    sa.Column("secret", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("description", sa.String(), nullable=False),
    sa.Column("disabled_reason", sa.Text()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index(None, "partner_id"),
)

webhook_deliveries = sa.Table(
    "cd_webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("subscription_id", sa.String(), nullable=False),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("event_type", sa.String(), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime()),
    sa.Column("last_status", sa.Integer()),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("delivered_at", UtcDateTime()),
    sa.UniqueConstraint("subscription_id", "event_id"),
    sa.Index(None, "state", "next_attempt_at"),
)

inbound_webhooks = sa.Table(
    "cd_inbound_webhooks",
    metadata,
    sa.Column("source", sa.String(), primary_key=True),
    sa.Column("webhook_id", sa.String(), primary_key=True),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Index(None, "received_at"),
)

# --- partner connectivity (migration 0006_partners) ---

partner_counters = sa.Table(
    "cd_partner_counters",
    metadata,
    sa.Column("partner", sa.String(), primary_key=True),
    sa.Column("kind", sa.String(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

partner_documents = sa.Table(
    "cd_partner_documents",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(), nullable=False),
    sa.Column("direction", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("reference", sa.String(), nullable=False),
    sa.Column("control_number", sa.String(), nullable=False),
    sa.Column("file_name", sa.String()),
    sa.Column("event_id", sa.String()),
    sa.Column("payload", sa.LargeBinary()),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("answered_at", UtcDateTime()),
    sa.UniqueConstraint(
        "partner", "direction", "kind", "reference", "control_number", name="uq_cd_partner_documents_key"
    ),
    sa.Index(None, "kind", "direction", "answered_at", "at"),
)

# --- operations console (migration 0008_console): users, sessions, replay requests, the audit trail ---

console_users = sa.Table(
    "cd_console_users",
    metadata,
    sa.Column("username", sa.String(), primary_key=True),
    sa.Column("password_hash", sa.String(), nullable=False),  # scrypt$N$r$p$salt$hash, never the password
    sa.Column("roles", json_type(), nullable=False),  # a sorted list of role names
    sa.Column("display_name", sa.String()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

console_sessions = sa.Table(
    "cd_console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(), primary_key=True),  # SHA-256 of the cookie's token
    sa.Column("username", sa.String(), sa.ForeignKey("cd_console_users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

replay_requests = sa.Table(
    "cd_replay_requests",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("dead_letter_id", sa.BigInteger(), nullable=False),
    sa.Column("group_name", sa.String(), nullable=False),
    sa.Column("event_id", sa.String(), nullable=False),
    sa.Column("event_type", sa.String(), nullable=False),
    sa.Column("subject", sa.String(), nullable=False),
    sa.Column("flow", sa.String()),
    sa.Column("dead_attempts", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    # Requested or approved: a column so that a partial unique index allows one open request per dead letter.
    sa.Column("is_open", sa.Boolean(), nullable=False),
    sa.Column("second_person_required", sa.Boolean(), nullable=False),
    sa.Column("requested_by", sa.String(), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("requested_at", UtcDateTime(), nullable=False),
    sa.Column("decided_by", sa.String()),
    sa.Column("decided_at", UtcDateTime()),
    sa.Column("decision_note", sa.Text()),
    sa.Column("replayed_at", UtcDateTime()),
    sa.Column("outcome", sa.Text()),
    sa.Index(
        "uq_cd_replay_requests_open",
        "dead_letter_id",
        unique=True,
        sqlite_where=sa.text("is_open"),
        postgresql_where=sa.text("is_open"),
    ),
    sa.Index(None, "state", "requested_at"),
)

console_audit = sa.Table(
    "cd_console_audit",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("target_kind", sa.String(), nullable=False),
    sa.Column("target_id", sa.String(), nullable=False),
    sa.Column("details", json_type(), nullable=False),
    sa.Index(None, "target_kind", "target_id"),
    sa.Index(None, "at"),
)

# The console's charts read lineage by time window.
sa.Index(None, lineage.c.started_at)

# --- master data (migration 0007_mdm): the match index of golden records, merges, stewardship cases ---

# One row per golden record: the fields matching compares, so scoring a candidate never loads a whole document.
mdm_match_records = sa.Table(
    "cd_mdm_match_records",
    metadata,
    sa.Column("entity", sa.String(), primary_key=True),
    sa.Column("canonical_id", sa.String(), primary_key=True),
    sa.Column("record", json_type(), nullable=False),
    sa.Column("keys", json_type(), nullable=False),  # a sorted list of the record's blocking keys
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# The blocking keys: "who shares a key with this record?" is one range read of the primary key.
mdm_match_keys = sa.Table(
    "cd_mdm_match_keys",
    metadata,
    sa.Column("entity", sa.String(), primary_key=True),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("canonical_id", sa.String(), primary_key=True),
    sa.Index(None, "entity", "canonical_id"),
)

mdm_merges = sa.Table(
    "cd_mdm_merges",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(), nullable=False),
    sa.Column("winner_id", sa.String(), nullable=False),
    sa.Column("loser_id", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    # The merge still stands: one partial unique index lets a loser be merged into one winner at a time.
    sa.Column("standing", sa.Boolean(), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("case_id", sa.BigInteger()),
    sa.Column("snapshot", json_type(), nullable=False),
    sa.Column("carried", json_type(), nullable=False),
    sa.Column("merged_at", UtcDateTime(), nullable=False),
    sa.Column("unmerged_at", UtcDateTime()),
    sa.Column("unmerged_by", sa.String()),
    sa.Index(
        "uq_cd_mdm_merges_standing_loser",
        "entity",
        "loser_id",
        unique=True,
        sqlite_where=sa.text("standing"),
        postgresql_where=sa.text("standing"),
    ),
    sa.Index(None, "entity", "winner_id"),
    sa.Index(None, "entity", "loser_id"),
)

mdm_cases = sa.Table(
    "cd_mdm_cases",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(), nullable=False),
    sa.Column("pair_key", sa.String(), nullable=False),  # a pair is decided once
    sa.Column("left_key", sa.String(), nullable=False),
    sa.Column("right_key", sa.String(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("probability", sa.Float(), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("explanation", json_type(), nullable=False),
    sa.Column("left_record", json_type(), nullable=False),
    sa.Column("right_record", json_type(), nullable=False),
    sa.Column("held", json_type()),
    sa.Column("source_system", sa.String()),
    sa.Column("decided_by", sa.String()),
    sa.Column("decided_at", UtcDateTime()),
    sa.Column("note", sa.Text()),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("released_at", UtcDateTime()),  # what the case held was let through (after its decision)
    sa.Column("release", sa.Text()),
    sa.UniqueConstraint("pair_key"),
    sa.Index(None, "entity", "left_key", "state"),
    sa.Index(None, "state", "opened_at"),
)

# --- observability (migration 0010_traces): spans kept for the console ---

trace_spans = sa.Table(
    "cd_trace_spans",
    metadata,
    sa.Column("trace_id", sa.String(), primary_key=True),
    sa.Column("span_id", sa.String(), primary_key=True),
    sa.Column("parent_span_id", sa.String()),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("service", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("status_message", sa.Text()),
    sa.Column("business_key", sa.String()),  # an order or PO number the span names: the console's search
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime(), nullable=False),
    sa.Column("attributes", json_type(), nullable=False),
    sa.Column("events", json_type(), nullable=False),
    sa.Index(None, "started_at"),
    sa.Index(None, "business_key"),
)

# --- partner files (migration 0009_partner_files): failed attempts at a partner's file, kept across restarts ---

partner_files = sa.Table(
    "cd_partner_files",
    metadata,
    sa.Column("partner", sa.String(), primary_key=True),
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("size", sa.BigInteger(), primary_key=True),  # with mtime: a new upload under the name starts afresh
    sa.Column("mtime", sa.BigInteger(), primary_key=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("first_at", UtcDateTime(), nullable=False),
    sa.Column("last_at", UtcDateTime(), nullable=False),
)
