"""Records the API layer keeps in the store: its clients, idempotency keys, the orders it took, and partners'
webhook subscriptions with their deliveries (out) and the webhook ids already received (in).

They are reached through the same unit of work as everything else (`uow.api`, `uow.webhooks`), so an API order's
record, its idempotency entry and its response commit together.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class ClientKind(enum.StrEnum):
    """Who holds an API client's credentials; decides which routes it may reach at all."""

    PARTNER = "partner"  # a customer or supplier: sees only its own orders, shipments and invoices
    INTERNAL = "internal"  # another system of ours (a channel, the web shop) calling system and process APIs
    OPERATOR = "operator"  # a person's API key: console and operator actions


@dataclass(frozen=True, slots=True)
class ApiClientRecord:
    """An API client: its scopes, partner and rate plan, and the hash of its secret (the secret itself is shown
    once, when created or rotated, and never stored)."""

    client_id: str
    name: str
    kind: ClientKind
    scopes: frozenset[str]
    secret_hash: str
    partner_id: str | None = None
    rate_plan: str = "partner"
    # A rotated secret keeps working until `previous_valid_until`, so a partner can roll its deployment over.
    previous_secret_hash: str | None = None
    previous_valid_until: datetime | None = None
    created_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first response to a POST with an Idempotency-Key, returned again for the same key and body."""

    client_id: str
    key: str
    request_hash: str  # method, path and body: the same key with another request is refused
    status_code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiOrderRecord:
    """An order taken through the API: who sent it, and the event that carries it to quote-to-order."""

    order_id: str  # the canonical order id
    number: str  # the business key quote-to-order runs under
    client_id: str
    partner_id: str | None
    customer_id: str
    event_id: str
    process_id: str
    submitted_at: datetime
    customer_reference: str | None = None  # the partner's own PO number
    document: dict[str, Any] = field(default_factory=dict)  # the canonical order as submitted


class ApiRecords(Protocol):
    """API clients, idempotency keys and the orders the API took."""

    def put_client(self, client: ApiClientRecord) -> None:
        """Insert or replace a client (created, rotated, revoked)."""
        ...

    def get_client(self, client_id: str) -> ApiClientRecord | None:
        """One client, revoked ones included."""
        ...

    def list_clients(self) -> list[ApiClientRecord]:
        """Every client, by id."""
        ...

    def get_idempotent(self, client_id: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The stored response for a client's key, unless it has expired."""
        ...

    def put_idempotent(self, record: IdempotencyRecord) -> bool:
        """Store a first response; False (nothing written) when the key is already stored and not expired."""
        ...

    def get_idempotent_many(
        self, keys: Sequence[tuple[str, str]], *, now: datetime
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        """The stored, unexpired responses for (client id, key) pairs: a group of requests checked at once."""
        ...

    def add_submissions(self, answers: Sequence[IdempotencyRecord], orders: Sequence[ApiOrderRecord]) -> None:
        """Store answers and orders in bulk; raises if any key, order id or number is already stored, expired
        keys included (forget those first with `purge_idempotent(keys=...)`)."""
        ...

    def purge_idempotent(
        self, *, now: datetime, keys: Sequence[tuple[str, str]] | None = None, limit: int | None = None
    ) -> int:
        """Forget expired keys: those of `keys` (client id, key) when given, else all of them, or only the `limit`
        oldest when given; return how many."""
        ...

    def add_order(self, order: ApiOrderRecord) -> bool:
        """Record an order taken; False when its order id is already recorded."""
        ...

    def get_order(self, order_id: str) -> ApiOrderRecord | None:
        """One order by canonical id."""
        ...

    def find_order(self, number: str) -> ApiOrderRecord | None:
        """One order by the number quote-to-order runs it under."""
        ...

    def find_orders(self, numbers: Sequence[str]) -> dict[str, ApiOrderRecord]:
        """Orders by number, for those of `numbers` that are stored."""
        ...

    def list_orders(
        self, *, partner_id: str | None, after: ApiOrderRecord | None = None, limit: int = 50
    ) -> list[ApiOrderRecord]:
        """A partner's orders (all orders when `partner_id` is None), oldest first, after the order `after` (a page's
        last: keyset paging, stable while new orders arrive)."""
        ...


class SubscriptionState(enum.StrEnum):
    """Whether a webhook subscription receives deliveries."""

    ACTIVE = "active"
    DISABLED = "disabled"  # the receiver answered 410 Gone, or an operator stopped it; never silently re-enabled


class DeliveryState(enum.StrEnum):
    """Where one webhook delivery stands."""

    PENDING = "pending"  # due at `next_attempt_at`
    DELIVERED = "delivered"
    FAILED = "failed"  # retries exhausted: in the console for a person
    CANCELLED = "cancelled"  # its subscription was disabled before it went out


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A partner's endpoint for events of the types it chose, with the secret its deliveries are signed with."""

    id: str
    partner_id: str | None
    url: str
    event_types: frozenset[str]
    secret: str  # `whsec_...`; shown to the partner once, kept to sign with
    state: SubscriptionState = SubscriptionState.ACTIVE
    description: str = ""
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event for one subscription: the signed message's id and body, and its attempts so far."""

    id: str  # the `webhook-id` header: stable across retries, so receivers can de-duplicate
    subscription_id: str
    event_id: str
    event_type: str
    payload: bytes
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None


class Webhooks(Protocol):
    """Webhook subscriptions and deliveries (out), and the webhook ids received (in)."""

    def add_subscription(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription."""
        ...

    def get_subscription(self, subscription_id: str) -> WebhookSubscription | None:
        """One subscription."""
        ...

    def list_subscriptions(
        self, *, partner_id: str | None = None, active_only: bool = False
    ) -> list[WebhookSubscription]:
        """Subscriptions (a partner's, or all when `partner_id` is None), oldest first."""
        ...

    def update_subscription(self, subscription: WebhookSubscription) -> None:
        """Replace a stored subscription (state, types, url)."""
        ...

    def delete_subscription(self, subscription_id: str) -> bool:
        """Remove a subscription and cancel its pending deliveries; False when it did not exist."""
        ...

    def enqueue(self, deliveries: Sequence[WebhookDelivery]) -> int:
        """Store new deliveries; one per (subscription, event) however often it is enqueued. Return how many new."""
        ...

    def due(self, *, now: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, earliest first."""
        ...

    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int = 100) -> list[WebhookDelivery]:
        """Take due pending deliveries for one sender: they are not due again until `lease_until` unless their
        attempt is recorded first, so two workers never send one delivery at once (a sender that dies before
        recording lets it come due again: at least once, with the same webhook-id)."""
        ...

    def record_attempt(self, delivery: WebhookDelivery) -> None:
        """Store a delivery after an attempt (its state, attempts, next attempt, last status and error)."""
        ...

    def list_deliveries(
        self, *, subscription_id: str | None = None, state: DeliveryState | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """Deliveries, newest first."""
        ...

    def mark_received(self, source: str, webhook_id: str, *, event_id: str, now: datetime) -> bool:
        """Remember an inbound webhook id; False when this source already sent it (a retry: answer 2xx, do
        nothing)."""
        ...
