"""Webhook subscriptions: which event types a subscription asks for, and registering one safely.

A subscription names event types in one of three ways:

- an exact type, `crossdock.order.shipped.v1` (the payload's schema never changes under the receiver);
- a prefix ending in `.*`, `crossdock.order.*`: every type that starts with `crossdock.order.`, new ones included;
- `*`: every event the subscriber may see.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from crossdock.events.catalogue import CATALOGUE, UnknownEventTypeError, split_type
from crossdock.ports.api import WebhookSubscription
from crossdock.ports.egress import EgressPolicy
from crossdock.ports.store import Store
from crossdock.webhooks.signing import new_secret

WILDCARD = "*"


def wants(patterns: Collection[str], event_type: str) -> bool:
    """Whether a subscription to `patterns` receives events of `event_type`."""
    for pattern in patterns:
        if pattern in {WILDCARD, event_type}:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_event_types(event_types: Iterable[str]) -> frozenset[str]:
    """The patterns, stripped; raise UnknownEventTypeError naming those that match no catalogued type."""
    patterns = frozenset(pattern.strip() for pattern in event_types)
    if not patterns:
        raise UnknownEventTypeError(
            "a webhook subscription needs at least one event type: a type such as crossdock.order.shipped.v1, "
            "a prefix such as crossdock.order.*, or * for all"
        )
    unknown = sorted(pattern for pattern in patterns if not _catalogued(pattern))
    if unknown:
        raise UnknownEventTypeError(
            f"event type(s) {', '.join(unknown)} match nothing in the catalogue; name a versioned type such as "
            "crossdock.order.shipped.v1, a prefix such as crossdock.order.*, or *; "
            "`crossdock schemas list` shows the catalogued types"
        )
    return patterns


def subscribe(
    store: Store,
    egress: EgressPolicy,
    *,
    partner_id: str | None,
    url: str,
    event_types: Iterable[str],
    description: str = "",
    now: datetime | None = None,
) -> tuple[WebhookSubscription, str]:
    """Register a subscription after checking its URL and types; return it and its secret (show the secret once).

    Raises EgressRefusedError for a URL Crossdock must not call and UnknownEventTypeError for unknown types.
    """
    egress.check(url, owner=f"webhook URL of {'partner ' + partner_id if partner_id else 'an internal subscription'}")
    patterns = check_event_types(event_types)
    secret = new_secret()
    stamp = now or datetime.now(UTC)
    subscription = WebhookSubscription(
        id=f"sub_{uuid.uuid4().hex}",
        partner_id=partner_id,
        url=url,
        event_types=patterns,
        secret=secret,
        description=description,
        created_at=stamp,
        updated_at=stamp,
    )
    with store.unit_of_work() as uow:
        uow.webhooks.add_subscription(subscription)
        uow.commit()
    return subscription, secret


def _catalogued(pattern: str) -> bool:
    if pattern == WILDCARD:
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(spec.type.startswith(prefix) for spec in CATALOGUE)
    try:
        split_type(pattern)  # a subject without its version would let the payload's schema change under a receiver
    except UnknownEventTypeError:
        return False
    return CATALOGUE.find(pattern) is not None
