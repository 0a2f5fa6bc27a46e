"""Inbound webhooks: verified, then de-duplicated per (source, webhook-id), with a stable event id per webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crossdock.store import MemoryStore
from crossdock.webhooks.inbound import InboundPayloadError, inbound_event_id, receive
from crossdock.webhooks.signing import FailureReason, WebhookVerificationError, headers_for, new_secret
from tests.unit.webhooks.support import FakeClock

BODY = b'{"type":"shipment.delivered","timestamp":"2025-03-01T11:59:00Z","data":{"pro":"PRO-881"}}'


def test_a_new_webhook_is_accepted_and_its_retry_is_recognised(clock: FakeClock) -> None:
    store, secret = MemoryStore(), new_secret()
    headers = headers_for(secret, "msg_1", clock(), BODY)

    first = receive(store, secret, "carrier", headers, BODY, now=clock())
    clock.advance(seconds=30)
    retry = receive(store, secret, "carrier", headers_for(secret, "msg_1", clock(), BODY), BODY, now=clock())

    assert (first.new, retry.new) == (True, False)
    assert first.payload == {
        "type": "shipment.delivered",
        "timestamp": "2025-03-01T11:59:00Z",
        "data": {"pro": "PRO-881"},
    }
    assert first.webhook_id == retry.webhook_id == "msg_1"
    # The retry is logged under the same event id, so appending it again is dropped by the log.
    assert first.event_id == retry.event_id == inbound_event_id("carrier", "msg_1")


def test_ids_are_only_unique_per_source(clock: FakeClock) -> None:
    store, secret = MemoryStore(), new_secret()
    headers = headers_for(secret, "msg_1", clock(), BODY)
    carrier = receive(store, secret, "carrier", headers, BODY, now=clock())
    supplier = receive(store, secret, "supplier", headers, BODY, now=clock())
    assert (carrier.new, supplier.new) == (True, True)
    assert carrier.event_id != supplier.event_id


def test_a_webhook_failing_verification_is_not_remembered(clock: FakeClock) -> None:
    store, secret = MemoryStore(), new_secret()
    headers = headers_for(secret, "msg_1", clock(), BODY)
    with pytest.raises(WebhookVerificationError) as caught:
        receive(store, secret, "carrier", headers, BODY.replace(b"881", b"882"), now=clock())
    assert caught.value.reason is FailureReason.NO_MATCHING_SIGNATURE
    assert receive(store, secret, "carrier", headers, BODY, now=clock()).new


def test_the_tolerance_is_five_minutes(clock: FakeClock) -> None:
    store, secret = MemoryStore(), new_secret()
    headers = headers_for(secret, "msg_1", clock() - timedelta(minutes=5, seconds=1), BODY)
    with pytest.raises(WebhookVerificationError) as caught:
        receive(store, secret, "carrier", headers, BODY, now=clock())
    assert caught.value.reason is FailureReason.TIMESTAMP_TOO_OLD


def test_either_secret_of_a_rotation_is_accepted(clock: FakeClock) -> None:
    store, old, new = MemoryStore(), new_secret(), new_secret()
    for n, sender_secret in enumerate((old, new)):
        headers = headers_for(sender_secret, f"msg_{n}", clock(), BODY)
        assert receive(store, [new, old], "carrier", headers, BODY, now=clock()).new


def test_a_signed_body_that_is_not_json_is_refused_and_not_remembered(clock: FakeClock) -> None:
    store, secret = MemoryStore(), new_secret()
    headers = headers_for(secret, "msg_1", clock(), b"PRO-881 delivered")
    with pytest.raises(InboundPayloadError, match="not JSON"):
        receive(store, secret, "carrier", headers, b"PRO-881 delivered", now=clock())
    assert receive(store, secret, "carrier", headers_for(secret, "msg_1", clock(), BODY), BODY, now=clock()).new


def test_overlong_ids_are_refused(clock: FakeClock) -> None:
    secret = new_secret()
    headers = headers_for(secret, "msg_" + "x" * 300, clock(), BODY)
    with pytest.raises(InboundPayloadError, match="256"):
        receive(MemoryStore(), secret, "carrier", headers, BODY, now=clock())
