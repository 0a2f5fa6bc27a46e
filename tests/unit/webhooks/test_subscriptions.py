"""Registering webhook subscriptions: the SSRF guard on their URLs, and the event types they may name."""

from __future__ import annotations

import pytest

from crossdock.events.catalogue import UnknownEventTypeError
from crossdock.ports.api import SubscriptionState
from crossdock.ports.egress import EgressPolicy, EgressRefusedError
from crossdock.store import MemoryStore
from crossdock.webhooks.signing import secret_key
from crossdock.webhooks.subscriptions import check_event_types, subscribe, wants


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
        "ftp://93.184.216.34/hook",
    ],
)
def test_internal_urls_are_refused_by_default_and_nothing_is_stored(url: str) -> None:
    store = MemoryStore()
    with pytest.raises(EgressRefusedError, match="webhook URL of partner acme"):
        subscribe(store, EgressPolicy(), partner_id="acme", url=url, event_types=["crossdock.order.shipped.v1"])
    with store.unit_of_work(read_only=True) as uow:
        assert uow.webhooks.list_subscriptions() == []


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("http://10.0.0.1/hook", EgressPolicy(allowed_hosts=["10.0.0.1"])),
        ("http://127.0.0.1:8080/hook", EgressPolicy(allowed_hosts=["127.0.0.1"])),
        ("http://169.254.169.254/latest/meta-data", EgressPolicy(allow_private_network=True)),
    ],
)
def test_allow_listed_hosts_are_accepted(url: str, policy: EgressPolicy) -> None:
    store = MemoryStore()
    subscription, secret = subscribe(
        store, policy, partner_id="acme", url=url, event_types=["crossdock.order.*"], description="ERP inbox"
    )
    assert secret.startswith("whsec_")
    assert len(secret_key(secret)) == 32
    with store.unit_of_work(read_only=True) as uow:
        stored = uow.webhooks.get_subscription(subscription.id)
    assert stored is not None
    assert (stored.url, stored.partner_id, stored.secret, stored.state) == (
        url,
        "acme",
        secret,
        SubscriptionState.ACTIVE,
    )
    assert stored.event_types == frozenset({"crossdock.order.*"})


def test_types_must_match_the_catalogue() -> None:
    assert check_event_types([" crossdock.order.shipped.v1", "crossdock.invoice.*", "*"]) == {
        "crossdock.order.shipped.v1",
        "crossdock.invoice.*",
        "*",
    }
    with pytest.raises(UnknownEventTypeError, match=r"crossdock\.order\.teleported\.v1, crossdock\.widget\.\*"):
        check_event_types(["crossdock.order.teleported.v1", "crossdock.widget.*", "crossdock.order.shipped.v1"])
    with pytest.raises(UnknownEventTypeError, match="versioned type"):
        check_event_types(["crossdock.order.shipped"])  # its schema could change under the receiver
    with pytest.raises(UnknownEventTypeError, match="at least one"):
        check_event_types([])


def test_unknown_types_store_nothing() -> None:
    store = MemoryStore()
    with pytest.raises(UnknownEventTypeError):
        subscribe(
            store,
            EgressPolicy(),
            partner_id=None,
            url="https://93.184.216.34/hook",
            event_types=["crossdock.order.shipped.v9"],
        )
    with store.unit_of_work(read_only=True) as uow:
        assert uow.webhooks.list_subscriptions() == []


def test_wants_exact_types_prefixes_and_the_wildcard() -> None:
    assert wants({"crossdock.order.shipped.v1"}, "crossdock.order.shipped.v1")
    assert not wants({"crossdock.order.shipped.v1"}, "crossdock.order.shipped.v2")
    assert wants({"crossdock.order.*"}, "crossdock.order.cancelled.v1")
    assert not wants({"crossdock.order.*"}, "crossdock.orders_archive.created.v1")
    assert wants({"*"}, "crossdock.customer.updated.v1")
    assert not wants(set(), "crossdock.customer.updated.v1")
