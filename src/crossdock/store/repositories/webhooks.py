"""Webhook subscriptions, deliveries and inbound webhook ids in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crossdock.ports.api import DeliveryState, SubscriptionState, WebhookDelivery, WebhookSubscription
from crossdock.store.repositories.base import Transaction, insert_new
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import inbound_webhooks, webhook_deliveries, webhook_subscriptions


def _subscription(row: sa.Row[Any]) -> WebhookSubscription:
    return WebhookSubscription(
        id=row.id,
        partner_id=row.partner_id,
        url=row.url,
        event_types=frozenset(row.event_types),
        secret=row.secret,
        state=SubscriptionState(row.state),
        description=row.description,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _delivery(row: sa.Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        payload=bytes(row.payload),
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class SqlWebhooks:
    """The Webhooks repository on `cd_webhook_subscriptions`, `cd_webhook_deliveries` and `cd_inbound_webhooks`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add_subscription(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription."""
        now = utc_now()
        self._tx.write(sa.insert(webhook_subscriptions).values(**_subscription_values(subscription, now)))

    def get_subscription(self, subscription_id: str) -> WebhookSubscription | None:
        """One subscription."""
        t = webhook_subscriptions
        row = self._tx.read(sa.select(t).where(t.c.id == subscription_id)).first()
        return None if row is None else _subscription(row)

    def list_subscriptions(
        self, *, partner_id: str | None = None, active_only: bool = False
    ) -> list[WebhookSubscription]:
        """Subscriptions (a partner's, or all), oldest first."""
        t = webhook_subscriptions
        query = sa.select(t)
        if partner_id is not None:
            query = query.where(t.c.partner_id == partner_id)
        if active_only:
            query = query.where(t.c.state == SubscriptionState.ACTIVE.value)
        return [_subscription(row) for row in self._tx.read(query.order_by(t.c.created_at, t.c.id))]

    def update_subscription(self, subscription: WebhookSubscription) -> None:
        """Replace a stored subscription."""
        t = webhook_subscriptions
        values = _subscription_values(subscription, utc_now())
        values.pop("created_at")
        values["updated_at"] = utc_now()
        self._tx.write(sa.update(t).where(t.c.id == subscription.id).values(**values))

    def delete_subscription(self, subscription_id: str) -> bool:
        """Remove a subscription and cancel its pending deliveries."""
        d = webhook_deliveries
        self._tx.write(
            sa.update(d)
            .where(d.c.subscription_id == subscription_id, d.c.state == DeliveryState.PENDING.value)
            .values(state=DeliveryState.CANCELLED.value, next_attempt_at=None)
        )
        t = webhook_subscriptions
        return bool(self._tx.write(sa.delete(t).where(t.c.id == subscription_id)).rowcount)

    def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        """Store new deliveries, one per (subscription, event); return how many were new."""
        now = utc_now()
        added = 0
        for delivery in deliveries:
            values = {
                "id": delivery.id,
                "subscription_id": delivery.subscription_id,
                "event_id": delivery.event_id,
                "event_type": delivery.event_type,
                "payload": delivery.payload,
                "state": delivery.state.value,
                "attempts": delivery.attempts,
                "next_attempt_at": stamp(delivery.next_attempt_at, now),
                "last_status": delivery.last_status,
                "last_error": delivery.last_error,
                "created_at": stamp(delivery.created_at, now),
                "delivered_at": delivery.delivered_at,
            }
            added += insert_new(self._tx, webhook_deliveries, values, webhook_deliveries.c.id)
        return added

    def due(self, *, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, earliest first."""
        d = webhook_deliveries
        rows = self._tx.read(
            sa.select(d)
            .where(d.c.state == DeliveryState.PENDING.value, d.c.next_attempt_at <= as_utc(now))
            .order_by(d.c.next_attempt_at, d.c.created_at, d.c.id)
            .limit(limit)
        )
        return [_delivery(row) for row in rows]

    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Take due pending deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write lock serialises)."""
        d = webhook_deliveries
        query = (
            sa.select(d)
            .where(d.c.state == DeliveryState.PENDING.value, d.c.next_attempt_at <= as_utc(now))
            .order_by(d.c.next_attempt_at, d.c.created_at, d.c.id)
            .limit(limit)
        )
        if self._tx.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        taken = [_delivery(row) for row in self._tx.write(query)]
        if taken:
            ids = [delivery.id for delivery in taken]
            self._tx.write(sa.update(d).where(d.c.id.in_(ids)).values(next_attempt_at=as_utc(lease_until)))
        return taken

    def record_attempt(self, delivery: WebhookDelivery) -> None:
        """Store a delivery after an attempt."""
        d = webhook_deliveries
        self._tx.write(
            sa.update(d)
            .where(d.c.id == delivery.id)
            .values(
                state=delivery.state.value,
                attempts=delivery.attempts,
                next_attempt_at=None if delivery.next_attempt_at is None else as_utc(delivery.next_attempt_at),
                last_status=delivery.last_status,
                last_error=delivery.last_error,
                delivered_at=None if delivery.delivered_at is None else as_utc(delivery.delivered_at),
            )
        )

    def list_deliveries(
        self, *, subscription_id: str | None = None, state: DeliveryState | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Deliveries, newest first."""
        d = webhook_deliveries
        query = sa.select(d)
        if subscription_id is not None:
            query = query.where(d.c.subscription_id == subscription_id)
        if state is not None:
            query = query.where(d.c.state == state.value)
        rows = self._tx.read(query.order_by(d.c.created_at.desc(), d.c.id.desc()).limit(limit))
        return [_delivery(row) for row in rows]

    def mark_received(self, source: str, webhook_id: str, *, event_id: str, now: datetime) -> bool:
        """Remember an inbound webhook id; False when this source already sent it."""
        values = {"source": source, "webhook_id": webhook_id, "event_id": event_id, "received_at": as_utc(now)}
        return insert_new(self._tx, inbound_webhooks, values, inbound_webhooks.c.webhook_id)


def _subscription_values(subscription: WebhookSubscription, now: datetime) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "partner_id": subscription.partner_id,
        "url": subscription.url,
        "event_types": sorted(subscription.event_types),
        "secret": subscription.secret,
        "state": subscription.state.value,
        "description": subscription.description,
        "disabled_reason": subscription.disabled_reason,
        "created_at": stamp(subscription.created_at, now),
        "updated_at": stamp(subscription.updated_at, now),
    }
