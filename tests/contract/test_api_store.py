"""The API layer's repositories of the Store port (clients, idempotency keys, API orders, webhooks) on every
backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crossdock.ports.api import (
    ApiClientRecord,
    ApiOrderRecord,
    ClientKind,
    DeliveryState,
    IdempotencyRecord,
    SubscriptionState,
    WebhookDelivery,
    WebhookSubscription,
)
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def client(client_id: str = "acme-portal") -> ApiClientRecord:
    return ApiClientRecord(
        client_id=client_id,
        name="Acme purchasing portal",
        kind=ClientKind.PARTNER,
        scopes=frozenset({"orders:read", "orders:write"}),
        secret_hash="sha256:abc",
        partner_id="acme",
        created_at=T0,
    )


def test_a_client_is_stored_replaced_on_rotation_and_listed(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.api.put_client(client())
        uow.api.put_client(client("zeta-edi"))
        uow.commit()
    rotated = replace(
        client(),
        secret_hash="sha256:new",
        previous_secret_hash="sha256:abc",
        previous_valid_until=T0 + timedelta(hours=24),
        rotated_at=T0 + timedelta(minutes=5),
    )
    with store.unit_of_work() as uow:
        uow.api.put_client(rotated)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.api.get_client("acme-portal") == rotated
        assert [c.client_id for c in uow.api.list_clients()] == ["acme-portal", "zeta-edi"]
        assert uow.api.get_client("nobody") is None


def idempotent(key: str, *, expires: datetime, status: int = 202) -> IdempotencyRecord:
    return IdempotencyRecord(
        client_id="acme-portal",
        key=key,
        request_hash="h1",
        status_code=status,
        body=b'{"order_id": "o1"}',
        headers={"location": "/v1/orders/o1"},
        created_at=T0,
        expires_at=expires,
    )


def test_an_idempotency_key_keeps_its_first_response_until_it_expires(store: AnyStore) -> None:
    now = datetime.now(UTC)
    first = idempotent("k1", expires=now + timedelta(hours=24))
    with store.unit_of_work() as uow:
        assert uow.api.put_idempotent(first) is True
        assert uow.api.put_idempotent(replace(first, status_code=500, body=b"later")) is False
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.api.get_idempotent("acme-portal", "k1", now=now) == first
        assert uow.api.get_idempotent("other-client", "k1", now=now) is None
        assert uow.api.get_idempotent("acme-portal", "k1", now=now + timedelta(hours=25)) is None


def test_an_expired_key_is_free_again_and_purged(store: AnyStore) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        uow.api.put_idempotent(idempotent("old", expires=now - timedelta(seconds=1)))
        uow.api.put_idempotent(idempotent("live", expires=now + timedelta(hours=1)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.api.put_idempotent(idempotent("old", expires=now + timedelta(hours=1), status=201)) is True
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        again = uow.api.get_idempotent("acme-portal", "old", now=now)
        assert again is not None
        assert again.status_code == 201
    with store.unit_of_work() as uow:
        assert uow.api.purge_idempotent(now=now + timedelta(hours=2)) == 2
        uow.commit()


def test_expired_keys_are_purged_in_batches_oldest_first(store: AnyStore) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.api.put_idempotent(idempotent(f"old-{n}", expires=now - timedelta(minutes=10 - n)))
        uow.api.put_idempotent(idempotent("live", expires=now + timedelta(hours=1)))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.api.purge_idempotent(now=now, limit=2) == 2
        uow.commit()
    with store.unit_of_work() as uow:
        # The two oldest (old-0, old-1) went first; old-0 is free to be taken again.
        assert uow.api.put_idempotent(idempotent("old-0", expires=now + timedelta(hours=1))) is True
        assert uow.api.purge_idempotent(now=now, limit=10) == 3
        assert uow.api.purge_idempotent(now=now, limit=10) == 0
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert sorted(uow.api.get_idempotent_many([("acme-portal", "live"), ("acme-portal", "old-0")], now=now)) == [
            ("acme-portal", "live"),
            ("acme-portal", "old-0"),
        ]


def test_expired_keys_of_a_group_are_forgotten_and_the_others_kept(store: AnyStore) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for key, expires in (("gone-1", -1), ("gone-2", -1), ("live-1", 1), ("other-old", -1)):
            assert uow.api.put_idempotent(idempotent(key, expires=now + timedelta(hours=expires))) is True
        uow.commit()
    with store.unit_of_work() as uow:
        group = [("acme-portal", "gone-1"), ("acme-portal", "gone-2"), ("acme-portal", "live-1"), ("acme-portal", "x")]
        assert uow.api.purge_idempotent(now=now, keys=group) == 2
        # Forgotten, the expired keys can be stored again in bulk; the others are untouched.
        uow.api.add_submissions([idempotent("gone-1", expires=now + timedelta(hours=24))], [])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.api.get_idempotent_many(group, now=now)
        assert sorted(found) == [("acme-portal", "gone-1"), ("acme-portal", "live-1")]
    with store.unit_of_work() as uow:
        assert uow.api.purge_idempotent(now=now) == 1  # other-old was not in the group: still there until now
        uow.commit()


def order(n: int, *, partner: str | None = "acme", at: datetime = T0) -> ApiOrderRecord:
    return ApiOrderRecord(
        order_id=f"order-{n:03d}",
        number=f"API-{partner}-{n}",
        client_id="acme-portal",
        partner_id=partner,
        customer_id="cust-1",
        event_id=f"evt-{n}",
        process_id=f"proc-{n}",
        submitted_at=at,
        customer_reference=f"PO-{n}",
        document={"number": f"API-{partner}-{n}", "lines": [{"sku": "SKU-1", "quantity": "2"}]},
    )


def test_orders_are_found_by_id_and_number_and_paged_per_partner(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            assert uow.api.add_order(order(n, at=T0 + timedelta(seconds=n // 2))) is True
        assert uow.api.add_order(order(9, partner="zeta")) is True
        assert uow.api.add_order(order(1)) is False  # the same order id
        assert uow.api.add_order(replace(order(7), number="API-acme-2")) is False  # the same number
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.api.get_order("order-003") == order(3, at=T0 + timedelta(seconds=1))
        found = uow.api.find_order("API-zeta-9")
        assert found is not None
        assert found.partner_id == "zeta"
        first = uow.api.list_orders(partner_id="acme", limit=2)
        second = uow.api.list_orders(partner_id="acme", after=first[-1], limit=2)
        third = uow.api.list_orders(partner_id="acme", after=second[-1], limit=2)
        assert [o.order_id for o in first + second + third] == [f"order-{n:03d}" for n in range(5)]
        assert len(uow.api.list_orders(partner_id=None)) == 6


def subscription(sub_id: str = "sub-1", partner: str | None = "acme") -> WebhookSubscription:
    return WebhookSubscription(
        id=sub_id,
        partner_id=partner,
        url="https://hooks.acme.example/crossdock",
        event_types=frozenset({"crossdock.order.accepted.v1", "crossdock.shipment.dispatched.v1"}),
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        description="order updates",
        created_at=T0,
        updated_at=T0,
    )


def delivery(n: int, sub_id: str = "sub-1", *, due: datetime = T0) -> WebhookDelivery:
    return WebhookDelivery(
        id=f"msg_{sub_id}_{n}",
        subscription_id=sub_id,
        event_id=f"evt-{n}",
        event_type="crossdock.order.accepted.v1",
        payload=b'{"type": "crossdock.order.accepted.v1"}',
        next_attempt_at=due,
        created_at=T0,
    )


def test_subscriptions_are_listed_per_partner_updated_and_deleted(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhooks.add_subscription(subscription())
        uow.webhooks.add_subscription(subscription("sub-2", partner="zeta"))
        uow.commit()
    with store.unit_of_work() as uow:
        disabled = replace(subscription(), state=SubscriptionState.DISABLED, disabled_reason="410 Gone")
        uow.webhooks.update_subscription(disabled)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        stored = uow.webhooks.get_subscription("sub-1")
        assert stored is not None
        assert (stored.state, stored.disabled_reason, stored.event_types) == (
            SubscriptionState.DISABLED,
            "410 Gone",
            subscription().event_types,
        )
        assert [s.id for s in uow.webhooks.list_subscriptions(partner_id="zeta")] == ["sub-2"]
        assert [s.id for s in uow.webhooks.list_subscriptions(active_only=True)] == ["sub-2"]
    with store.unit_of_work() as uow:
        uow.webhooks.enqueue([delivery(1, "sub-2")])
        assert uow.webhooks.delete_subscription("sub-2") is True
        assert uow.webhooks.delete_subscription("sub-2") is False
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [d.state for d in uow.webhooks.list_deliveries(subscription_id="sub-2")] == [DeliveryState.CANCELLED]


def test_a_delivery_is_enqueued_once_per_subscription_and_event_and_comes_due(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhooks.add_subscription(subscription())
        assert uow.webhooks.enqueue([delivery(1), delivery(2, due=T0 + timedelta(minutes=5))]) == 2
        assert uow.webhooks.enqueue([delivery(1), replace(delivery(2), id="msg_other")]) == 0
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [d.id for d in uow.webhooks.due(now=T0)] == ["msg_sub-1_1"]
        assert [d.id for d in uow.webhooks.due(now=T0 + timedelta(minutes=5))] == ["msg_sub-1_1", "msg_sub-1_2"]
    retried = replace(
        delivery(1),
        attempts=1,
        last_status=503,
        last_error="Service Unavailable",
        next_attempt_at=T0 + timedelta(hours=1),
    )
    done = replace(delivery(2), attempts=1, state=DeliveryState.DELIVERED, last_status=204, next_attempt_at=None)
    done = replace(done, delivered_at=T0 + timedelta(minutes=5))
    with store.unit_of_work() as uow:
        uow.webhooks.record_attempt(retried)
        uow.webhooks.record_attempt(done)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.webhooks.due(now=T0 + timedelta(minutes=30)) == []
        [again] = uow.webhooks.due(now=T0 + timedelta(hours=1))
        assert (again.attempts, again.last_status, again.last_error) == (1, 503, "Service Unavailable")
        [delivered] = uow.webhooks.list_deliveries(state=DeliveryState.DELIVERED)
        assert delivered.delivered_at == T0 + timedelta(minutes=5)


def test_an_inbound_webhook_id_is_new_once_per_source(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        assert uow.webhooks.mark_received("shopify", "msg_1", event_id="e1", now=T0) is True
        assert uow.webhooks.mark_received("shopify", "msg_1", event_id="e2", now=T0) is False
        assert uow.webhooks.mark_received("carrier", "msg_1", event_id="e3", now=T0) is True
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.webhooks.mark_received("shopify", "msg_1", event_id="e1", now=T0) is False


def test_keys_and_numbers_are_checked_for_a_whole_group_and_stored_in_bulk(store: AnyStore) -> None:
    now = datetime.now(UTC)
    soon = now + timedelta(hours=1)
    with store.unit_of_work() as uow:
        uow.api.add_submissions([idempotent("g1", expires=soon), idempotent("g2", expires=soon)], [order(1), order(2)])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.api.get_idempotent_many(
            [("acme-portal", "g1"), ("acme-portal", "nope"), ("acme-portal", "g2")], now=now
        )
        assert sorted(found) == [("acme-portal", "g1"), ("acme-portal", "g2")]
        assert sorted(uow.api.find_orders(["API-acme-1", "API-acme-7", "API-acme-2"])) == ["API-acme-1", "API-acme-2"]
        assert uow.api.get_idempotent_many([("acme-portal", "g1")], now=soon) == {}  # expired by then
        assert uow.api.get_idempotent_many([], now=now) == {}
        many = [("acme-portal", f"k{n}") for n in range(1_200)] + [("acme-portal", "g2")]  # over one IN list
        assert list(uow.api.get_idempotent_many(many, now=now)) == [("acme-portal", "g2")]
        assert list(uow.api.find_orders([f"API-acme-{n}" for n in range(3, 1_200)] + ["API-acme-2"])) == ["API-acme-2"]
        assert uow.api.find_orders([]) == {}
    with store.unit_of_work() as uow, pytest.raises(Exception):  # noqa: B017, PT011 - each backend's own error
        uow.api.add_submissions([], [replace(order(9), number="API-acme-1")])
    with store.unit_of_work(read_only=True) as uow:
        assert uow.api.find_order("API-acme-1") == order(1)
        assert uow.api.get_order("order-009") is None


def test_records_stored_in_bulk_read_back_whole_on_every_path(store: AnyStore) -> None:
    """The group insert (`add_submissions`) runs on the SQL driver; what it writes, one-at-a-time and group reads
    see whole, and the group reads see whole what one-at-a-time writes stored (times, headers, body, document)."""
    now = datetime.now(UTC)
    expires = now + timedelta(hours=24)
    grouped = replace(idempotent("bulk-1", expires=expires), headers={"location": "/v1/orders/ø", "n": "1"})
    single = replace(idempotent("one-1", expires=expires), body=b"\x00\xff binary", status_code=409)
    bulk_order = replace(order(31), document={"number": "API-acme-31", "notes": "ünïcode", "lines": [], "n": 1.5})
    with store.unit_of_work() as uow:
        uow.api.add_submissions([grouped], [bulk_order])
        assert uow.api.put_idempotent(single) is True
        assert uow.api.add_order(order(32)) is True
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.api.get_idempotent("acme-portal", "bulk-1", now=now) == grouped
        assert uow.api.get_order("order-031") == bulk_order
        assert uow.api.get_idempotent_many([("acme-portal", "bulk-1"), ("acme-portal", "one-1")], now=now) == {
            ("acme-portal", "bulk-1"): grouped,
            ("acme-portal", "one-1"): single,
        }
        assert uow.api.find_orders(["API-acme-31", "API-acme-32"]) == {
            "API-acme-31": bulk_order,
            "API-acme-32": order(32),
        }
    with store.unit_of_work(read_only=True) as uow, pytest.raises(Exception):  # noqa: B017, PT011 - read-only unit
        uow.api.add_submissions([idempotent("bulk-2", expires=expires)], [])


def test_a_group_larger_than_one_insert_statement_is_stored_whole(store: AnyStore) -> None:
    """The driver inserts a group as multi-row INSERTs of at most 999 parameters: 250 rows take several."""
    now = datetime.now(UTC)
    expires = now + timedelta(hours=24)
    answers = [replace(idempotent(f"many-{n}", expires=expires), body=f"body {n}".encode()) for n in range(250)]
    orders = [order(100 + n) for n in range(250)]
    with store.unit_of_work() as uow:
        uow.api.add_submissions(answers, orders)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.api.get_idempotent_many([(a.client_id, a.key) for a in answers], now=now)
        assert found == {(a.client_id, a.key): a for a in answers}
        assert uow.api.find_orders([o.number for o in orders]) == {o.number: o for o in orders}


def test_a_claimed_delivery_is_not_due_again_until_its_lease_ends_or_its_attempt_is_recorded(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.webhooks.add_subscription(subscription())
        uow.webhooks.enqueue([delivery(1), delivery(2)])
        uow.commit()
    lease_until = T0 + timedelta(minutes=2)
    with store.unit_of_work() as uow:
        claimed = uow.webhooks.claim_due(now=T0, lease_until=lease_until, limit=1)
        uow.commit()
    assert [d.id for d in claimed] == ["msg_sub-1_1"]
    with store.unit_of_work() as uow:
        other = uow.webhooks.claim_due(now=T0, lease_until=lease_until, limit=10)  # a second worker
        uow.commit()
    assert [d.id for d in other] == ["msg_sub-1_2"]
    with store.unit_of_work() as uow:
        assert uow.webhooks.claim_due(now=T0 + timedelta(minutes=1), lease_until=lease_until, limit=10) == []
        again = uow.webhooks.claim_due(now=lease_until, lease_until=lease_until + timedelta(minutes=2), limit=10)
        uow.commit()
    assert sorted(d.id for d in again) == ["msg_sub-1_1", "msg_sub-1_2"]  # their senders died: due again
