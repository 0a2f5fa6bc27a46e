"""The API layer's records in memory (`uow.api`, `uow.webhooks` of MemoryStore), with SqlStore's semantics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from crossdock.ports.api import (
    ApiClientRecord,
    ApiOrderRecord,
    DeliveryState,
    IdempotencyRecord,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from crossdock.store.errors import StoreError
from crossdock.store.rules import as_utc, stamp, utc_now

if TYPE_CHECKING:
    from crossdock.store.memory import MemoryUnitOfWork, _Records


class MemoryApiRecords:
    """ApiRecords in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def put_client(self, client: ApiClientRecord) -> None:
        """Insert or replace a client."""
        stored = replace(client, created_at=stamp(client.created_at, utc_now()))

        def put(records: _Records) -> None:
            records.api_clients[client.client_id] = stored

        self._uow.change(put)

    def get_client(self, client_id: str) -> ApiClientRecord | None:
        """One client, revoked ones included."""
        return self._uow.records().api_clients.get(client_id)

    def list_clients(self) -> list[ApiClientRecord]:
        """Every client, by id."""
        return sorted(self._uow.records().api_clients.values(), key=lambda c: c.client_id)

    def get_idempotent(self, client_id: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The stored response for a client's key, unless it has expired."""
        found = self._uow.records().idempotency.get((client_id, key))
        if found is None or found.expires_at is None or found.expires_at <= as_utc(now):
            return None
        return found

    def put_idempotent(self, record: IdempotencyRecord) -> bool:
        """Store a first response; False when the key is already stored and not expired."""
        if record.expires_at is None:
            raise ValueError("an idempotency record needs `expires_at`")
        now = utc_now()
        stored = replace(record, created_at=stamp(record.created_at, now), expires_at=as_utc(record.expires_at))
        added = False

        def put(records: _Records) -> None:
            nonlocal added
            current = records.idempotency.get((record.client_id, record.key))
            if current is not None and current.expires_at is not None and current.expires_at > now:
                return
            records.idempotency[(record.client_id, record.key)] = stored
            added = True

        self._uow.change(put)
        return added

    def get_idempotent_many(
        self, keys: Sequence[tuple[str, str]], *, now: datetime
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        """The stored, unexpired responses for (client id, key) pairs."""
        found = {key: self.get_idempotent(key[0], key[1], now=now) for key in keys}
        return {key: record for key, record in found.items() if record is not None}

    def add_submissions(self, answers: Sequence[IdempotencyRecord], orders: Sequence[ApiOrderRecord]) -> None:
        """Store answers and orders in bulk; a key, order id or number stored already raises StoreError."""
        now = utc_now()
        stored_answers = [replace(r, created_at=stamp(r.created_at, now)) for r in answers]
        stored_orders = [
            replace(o, submitted_at=as_utc(o.submitted_at), document=json.loads(json.dumps(o.document))) for o in orders
        ]

        def add(records: _Records) -> None:
            numbers = {o.number for o in records.api_orders.values()}
            for answer in stored_answers:
                if (answer.client_id, answer.key) in records.idempotency:
                    raise StoreError(f"idempotency key {answer.key} of {answer.client_id} is stored already")
                records.idempotency[(answer.client_id, answer.key)] = answer
            for order in stored_orders:
                if order.order_id in records.api_orders or order.number in numbers:
                    raise StoreError(f"order {order.number} is stored already")
                records.api_orders[order.order_id] = order
                numbers.add(order.number)

        self._uow.change(add)

    def purge_idempotent(
        self, *, now: datetime, keys: Sequence[tuple[str, str]] | None = None, limit: int | None = None
    ) -> int:
        """Forget expired keys: only those of `keys` when given, at most `limit` (oldest first); return how many."""
        cutoff = as_utc(now)
        purged = 0
        wanted = None if keys is None else set(keys)

        def purge(records: _Records) -> None:
            nonlocal purged
            expired = [
                k
                for k, r in records.idempotency.items()
                if (r.expires_at is None or r.expires_at <= cutoff) and (wanted is None or k in wanted)
            ]
            if limit is not None and wanted is None:
                expired = sorted(expired, key=lambda k: records.idempotency[k].expires_at or cutoff)[:limit]
            for key in expired:
                del records.idempotency[key]
            purged = len(expired)

        self._uow.change(purge)
        return purged

    def add_order(self, order: ApiOrderRecord) -> bool:
        """Record an order taken; False when its order id or number is already recorded."""
        added = False

        def add(records: _Records) -> None:
            nonlocal added
            if order.order_id in records.api_orders:
                return
            if any(o.number == order.number for o in records.api_orders.values()):
                return
            records.api_orders[order.order_id] = replace(
                order, submitted_at=as_utc(order.submitted_at), document=json.loads(json.dumps(order.document))
            )
            added = True

        self._uow.change(add)
        return added

    def find_orders(self, numbers: Sequence[str]) -> dict[str, ApiOrderRecord]:
        """Orders by number, for those stored."""
        wanted = set(numbers)
        return {o.number: o for o in self._uow.records().api_orders.values() if o.number in wanted}

    def get_order(self, order_id: str) -> ApiOrderRecord | None:
        """One order by canonical id."""
        return self._uow.records().api_orders.get(order_id)

    def find_order(self, number: str) -> ApiOrderRecord | None:
        """One order by number."""
        return next((o for o in self._uow.records().api_orders.values() if o.number == number), None)

    def list_orders(
        self, *, partner_id: str | None, after: ApiOrderRecord | None = None, limit: int = 50
    ) -> list[ApiOrderRecord]:
        """A partner's orders (all when `partner_id` is None), oldest first, after the order `after`."""
        hits = [o for o in self._uow.records().api_orders.values() if partner_id is None or o.partner_id == partner_id]
        hits.sort(key=lambda o: (o.submitted_at, o.order_id))
        if after is not None:
            cursor = (as_utc(after.submitted_at), after.order_id)
            hits = [o for o in hits if (o.submitted_at, o.order_id) > cursor]
        return hits[:limit]


class MemoryWebhooks:
    """Webhooks in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add_subscription(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription."""
        now = utc_now()
        stored = replace(
            subscription,
            created_at=stamp(subscription.created_at, now),
            updated_at=stamp(subscription.updated_at, now),
        )

        def add(records: _Records) -> None:
            if subscription.id in records.subscriptions:
                raise StoreError(f"webhook subscription {subscription.id} already exists")
            records.subscriptions[subscription.id] = stored

        self._uow.change(add)

    def get_subscription(self, subscription_id: str) -> WebhookSubscription | None:
        """One subscription."""
        return self._uow.records().subscriptions.get(subscription_id)

    def list_subscriptions(
        self, *, partner_id: str | None = None, active_only: bool = False
    ) -> list[WebhookSubscription]:
        """Subscriptions (a partner's, or all), oldest first."""
        hits = [
            s
            for s in self._uow.records().subscriptions.values()
            if (partner_id is None or s.partner_id == partner_id)
            and (not active_only or s.state is SubscriptionState.ACTIVE)
        ]
        return sorted(hits, key=lambda s: (s.created_at or utc_now(), s.id))

    def update_subscription(self, subscription: WebhookSubscription) -> None:
        """Replace a stored subscription."""

        def update(records: _Records) -> None:
            current = records.subscriptions.get(subscription.id)
            if current is not None:
                records.subscriptions[subscription.id] = replace(
                    subscription, created_at=current.created_at, updated_at=utc_now()
                )

        self._uow.change(update)

    def delete_subscription(self, subscription_id: str) -> bool:
        """Remove a subscription and cancel its pending deliveries."""
        deleted = False

        def delete(records: _Records) -> None:
            nonlocal deleted
            for key, delivery in list(records.deliveries.items()):
                if delivery.subscription_id == subscription_id and delivery.state is DeliveryState.PENDING:
                    records.deliveries[key] = replace(delivery, state=DeliveryState.CANCELLED, next_attempt_at=None)
            deleted = records.subscriptions.pop(subscription_id, None) is not None

        self._uow.change(delete)
        return deleted

    def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        """Store new deliveries, one per (subscription, event); return how many were new."""
        now = utc_now()
        added = 0

        def add(records: _Records) -> None:
            nonlocal added
            known = {(d.subscription_id, d.event_id) for d in records.deliveries.values()}
            for delivery in deliveries:
                if delivery.id in records.deliveries or (delivery.subscription_id, delivery.event_id) in known:
                    continue
                records.deliveries[delivery.id] = replace(
                    delivery,
                    next_attempt_at=stamp(delivery.next_attempt_at, now),
                    created_at=stamp(delivery.created_at, now),
                )
                known.add((delivery.subscription_id, delivery.event_id))
                added += 1

        if deliveries:
            self._uow.change(add)
        return added

    def due(self, *, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, earliest first."""
        cutoff = as_utc(now)
        hits = [
            d
            for d in self._uow.records().deliveries.values()
            if d.state is DeliveryState.PENDING and d.next_attempt_at is not None and d.next_attempt_at <= cutoff
        ]
        hits.sort(key=lambda d: (d.next_attempt_at or cutoff, d.created_at or cutoff, d.id))
        return hits[:limit]

    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Take due pending deliveries: not due again until `lease_until` unless their attempt is recorded."""
        taken = self.due(now=now, limit=limit)
        until = as_utc(lease_until)

        def lease(records: _Records) -> None:
            for delivery in taken:
                records.deliveries[delivery.id] = replace(records.deliveries[delivery.id], next_attempt_at=until)

        if taken:
            self._uow.change(lease)
        return taken

    def record_attempt(self, delivery: WebhookDelivery) -> None:
        """Store a delivery after an attempt."""

        def record(records: _Records) -> None:
            current = records.deliveries.get(delivery.id)
            if current is not None:
                records.deliveries[delivery.id] = replace(
                    current,
                    state=delivery.state,
                    attempts=delivery.attempts,
                    next_attempt_at=delivery.next_attempt_at,
                    last_status=delivery.last_status,
                    last_error=delivery.last_error,
                    delivered_at=delivery.delivered_at,
                )

        self._uow.change(record)

    def list_deliveries(
        self, *, subscription_id: str | None = None, state: DeliveryState | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Deliveries, newest first."""
        hits = [
            d
            for d in self._uow.records().deliveries.values()
            if (subscription_id is None or d.subscription_id == subscription_id) and (state is None or d.state is state)
        ]
        hits.sort(key=lambda d: (d.created_at or utc_now(), d.id), reverse=True)
        return hits[:limit]

    def mark_received(self, source: str, webhook_id: str, *, event_id: str, now: datetime) -> bool:
        """Remember an inbound webhook id; False when this source already sent it."""
        new = False
        received_at = as_utc(now)

        def mark(records: _Records) -> None:
            nonlocal new
            if (source, webhook_id) not in records.inbound_webhooks:
                records.inbound_webhooks[(source, webhook_id)] = received_at
                new = True

        self._uow.change(mark)
        return new
