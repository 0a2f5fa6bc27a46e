"""The webhook dispatcher over the in-memory log and store, with receivers behind httpx's MockTransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta

import httpx
import orjson
import pytest

from crossdock.events.envelope import CloudEvent
from crossdock.log.memory import MemoryEventLog, MemoryLogState
from crossdock.ports.api import DeliveryState, SubscriptionState, WebhookDelivery, WebhookSubscription
from crossdock.ports.egress import EgressPolicy
from crossdock.ports.event_log import LoggedEvent
from crossdock.store import MemoryStore
from crossdock.sync.worker import BackgroundService
from crossdock.webhooks.dispatcher import GROUP, WebhookDispatcher, delivery_id
from crossdock.webhooks.schedule import DEFAULT_DELAYS, RetrySchedule
from crossdock.webhooks.subscriptions import subscribe
from tests.unit.webhooks.support import FakeClock, ScriptedReceiver, order_event

HOST = "hooks.example"
ALLOWED = EgressPolicy(allowed_hosts=[HOST])  # allow-listed, so no test resolves a name


class Rig:
    """A log, a store, a scripted receiver and a dispatcher over them."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.log = MemoryEventLog(partitions=4)
        self.store = MemoryStore()
        self.receiver = ScriptedReceiver(clock)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.receiver))
        self.dispatcher = self.make_dispatcher()

    def make_dispatcher(
        self, *, egress: EgressPolicy = ALLOWED, concurrency: int = 32, per_subscription: int = 4
    ) -> WebhookDispatcher:
        return WebhookDispatcher(
            self.log,
            self.store,
            self.http,
            egress,
            consumer="worker-1",
            clock=self.clock,
            schedule=RetrySchedule(jitter=0),
            concurrency=concurrency,
            per_subscription=per_subscription,
        )

    def subscribe(self, path: str, event_types: Sequence[str], *, partner: str | None) -> WebhookSubscription:
        subscription, secret = subscribe(
            self.store, ALLOWED, partner_id=partner, url=f"https://{HOST}{path}", event_types=event_types
        )
        self.receiver.secrets[path] = secret
        return subscription

    async def publish(self, *events: CloudEvent) -> None:
        await self.log.append(events)

    def deliveries(self, subscription: WebhookSubscription | None = None) -> list[WebhookDelivery]:
        with self.store.unit_of_work(read_only=True) as uow:
            found = uow.webhooks.list_deliveries(subscription_id=subscription.id if subscription else None, limit=1000)
        return sorted(found, key=lambda delivery: delivery.id)

    def subscription(self, subscription: WebhookSubscription) -> WebhookSubscription:
        with self.store.unit_of_work(read_only=True) as uow:
            stored = uow.webhooks.get_subscription(subscription.id)
        assert stored is not None
        return stored


@pytest.fixture
async def rig(clock: FakeClock) -> AsyncIterator[Rig]:
    built = Rig(clock)
    yield built
    await built.http.aclose()
    await built.log.close()


async def test_fan_out_routes_events_by_type_and_partner(rig: Rig) -> None:
    acme_orders = rig.subscribe("/acme/orders", ["crossdock.order.*"], partner="acme")
    acme_invoices = rig.subscribe("/acme/invoices", ["crossdock.invoice.posted.v1"], partner="acme")
    globex = rig.subscribe("/globex", ["crossdock.order.shipped.v1"], partner="globex")
    internal = rig.subscribe("/internal", ["*"], partner=None)
    acme_shipped = order_event(partner="acme", number="A1")
    globex_shipped = order_event(partner="globex", number="G1")
    unowned_invoice = order_event("crossdock.invoice.posted.v1", number="I1")
    acme_customer = order_event("crossdock.customer.updated.v1", partner="acme", number="C1")
    await rig.publish(acme_shipped, globex_shipped, unowned_invoice, acme_customer)

    report = await rig.dispatcher.fan_out_once()

    assert (report.events, report.fanned_out) == (4, 6)
    assert {d.event_id for d in rig.deliveries(acme_orders)} == {acme_shipped.id}
    assert rig.deliveries(acme_invoices) == []  # an event that concerns no partner goes to internal ones only
    assert {d.event_id for d in rig.deliveries(globex)} == {globex_shipped.id}
    assert {d.event_id for d in rig.deliveries(internal)} == {
        acme_shipped.id,
        globex_shipped.id,
        unowned_invoice.id,
        acme_customer.id,
    }
    delivery = rig.deliveries(acme_orders)[0]
    assert delivery.id == delivery_id(acme_orders.id, acme_shipped.id)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (DeliveryState.PENDING, 0, rig.clock())
    assert orjson.loads(delivery.payload) == {
        "type": "crossdock.order.shipped.v1",
        "timestamp": acme_shipped.time,
        "data": {"number": "A1"},
    }
    assert await rig.log.lag(GROUP) == dict.fromkeys(range(4), 0)


class CrashBeforeAck(MemoryEventLog):
    """A log whose consumer dies between committing its deliveries and acking the batch."""

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        raise ConnectionResetError("worker killed before the ack")


async def test_a_crash_between_enqueue_and_ack_enqueues_nothing_twice(rig: Rig) -> None:
    subscription = rig.subscribe("/acme", ["*"], partner="acme")
    shared = MemoryLogState()
    crashing, healthy = CrashBeforeAck(shared, partitions=4), MemoryEventLog(shared, partitions=4)
    await healthy.append([order_event(partner="acme", number=str(n)) for n in range(5)])
    first = WebhookDispatcher(crashing, rig.store, rig.http, ALLOWED, consumer="worker-1", clock=rig.clock)
    with pytest.raises(ConnectionResetError):
        await first.fan_out_once()
    assert len(rig.deliveries(subscription)) == 5

    # The dead consumer's lease ends and another worker reads the same events over the same store.
    await crashing.release(GROUP, "worker-1")
    second = WebhookDispatcher(healthy, rig.store, rig.http, ALLOWED, consumer="worker-2", clock=rig.clock)
    report = await second.fan_out_once()
    assert (report.events, report.fanned_out) == (5, 0)
    assert len(rig.deliveries(subscription)) == 5

    report = await second.deliver_due_once()
    assert report.delivered == 5
    assert len(rig.receiver.on("/acme")) == 5


async def test_a_delivery_is_signed_and_sent_once(rig: Rig) -> None:
    subscription = rig.subscribe("/acme", ["crossdock.order.shipped.v1"], partner="acme")
    event = order_event(partner="acme")
    await rig.publish(event)

    report = await rig.dispatcher.run_pass()
    assert (report.events, report.fanned_out, report.delivered) == (1, 1, 1)
    [request] = rig.receiver.on("/acme")  # its signature was verified on receipt
    assert request.webhook_id == delivery_id(subscription.id, event.id)
    assert request.timestamp == int(rig.clock().timestamp())
    assert request.content_type == "application/json"
    assert orjson.loads(request.body)["data"] == {"number": "SO-1"}
    [delivery] = rig.deliveries(subscription)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.DELIVERED, 1, 200)
    assert delivery.delivered_at == rig.clock()

    rig.clock.advance(days=3)
    assert (await rig.dispatcher.run_pass()).total == 0
    assert len(rig.receiver.received) == 1


async def test_failures_are_retried_over_hours_with_the_same_id_then_failed(rig: Rig) -> None:
    subscription = rig.subscribe("/down", ["*"], partner=None)
    rig.receiver.script["/down"] = [500]
    await rig.publish(order_event())
    await rig.dispatcher.fan_out_once()

    for delay in DEFAULT_DELAYS:
        report = await rig.dispatcher.deliver_due_once()
        assert report.retried == 1
        [delivery] = rig.deliveries(subscription)
        assert delivery.next_attempt_at == rig.clock() + delay
        assert (delivery.last_status, delivery.last_error) == (500, "500 Internal Server Error: scripted")
        rig.clock.advance(seconds=delay.total_seconds() - 1)
        assert (await rig.dispatcher.deliver_due_once()).total == 0  # not due a second early
        rig.clock.advance(seconds=1)
    report = await rig.dispatcher.deliver_due_once()

    assert report.failed == 1
    [delivery] = rig.deliveries(subscription)
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (DeliveryState.FAILED, 8, None)
    attempts = rig.receiver.on("/down")
    assert len(attempts) == 8
    assert {attempt.webhook_id for attempt in attempts} == {delivery.id}
    assert len({attempt.timestamp for attempt in attempts}) == 8  # each attempt is signed afresh
    assert rig.subscription(subscription).state is SubscriptionState.ACTIVE


async def test_429_and_503_wait_as_long_as_retry_after_asks(rig: Rig) -> None:
    subscription = rig.subscribe("/busy", ["*"], partner=None)
    rig.receiver.script["/busy"] = [
        httpx.Response(429, headers={"retry-after": "120"}),
        httpx.Response(503, headers={"retry-after": "Sun, 02 Mar 2025 18:00:00 GMT"}),
        200,
    ]
    await rig.publish(order_event())
    await rig.dispatcher.fan_out_once()

    await rig.dispatcher.deliver_due_once()
    [delivery] = rig.deliveries(subscription)
    assert delivery.next_attempt_at == rig.clock() + timedelta(seconds=120)  # not the schedule's 5 s
    rig.clock.advance(seconds=120)
    await rig.dispatcher.deliver_due_once()
    [delivery] = rig.deliveries(subscription)
    assert delivery.next_attempt_at == rig.clock() + timedelta(hours=6)  # capped: not tomorrow 18:00
    rig.clock.advance(hours=6)
    assert (await rig.dispatcher.deliver_due_once()).delivered == 1


async def test_410_disables_the_subscription_and_cancels_what_is_pending(rig: Rig) -> None:
    gone = rig.subscribe("/gone", ["*"], partner="acme")
    other = rig.subscribe("/other", ["*"], partner="acme")
    rig.receiver.script["/gone"] = [410]
    await rig.publish(*(order_event(partner="acme", number=str(n)) for n in range(3)))
    await rig.dispatcher.fan_out_once()
    dispatcher = rig.make_dispatcher(per_subscription=1)  # one at a time: the first 410 stops the others

    report = await dispatcher.deliver_due_once()

    assert (report.disabled, report.cancelled, report.delivered) == (1, 3, 3)
    assert len(rig.receiver.on("/gone")) == 1
    stored = rig.subscription(gone)
    assert stored.state is SubscriptionState.DISABLED
    assert stored.disabled_reason is not None
    assert "410" in stored.disabled_reason
    assert {d.state for d in rig.deliveries(gone)} == {DeliveryState.CANCELLED}
    assert rig.subscription(other).state is SubscriptionState.ACTIVE

    await rig.publish(order_event(partner="acme", number="later"))
    report = await dispatcher.run_pass()
    assert (report.fanned_out, report.delivered) == (1, 1)  # only to the other subscription
    assert len(rig.receiver.on("/gone")) == 1


async def test_deliveries_of_a_subscription_disabled_meanwhile_are_cancelled(rig: Rig) -> None:
    subscription = rig.subscribe("/acme", ["*"], partner="acme")
    await rig.publish(order_event(partner="acme"))
    await rig.dispatcher.fan_out_once()
    with rig.store.unit_of_work() as uow:
        uow.webhooks.update_subscription(replace(subscription, state=SubscriptionState.DISABLED))
        uow.commit()

    report = await rig.dispatcher.deliver_due_once()

    assert report.cancelled == 1
    assert rig.receiver.received == []
    assert [d.state for d in rig.deliveries(subscription)] == [DeliveryState.CANCELLED]


async def test_redirects_are_not_followed(rig: Rig) -> None:
    subscription = rig.subscribe("/moved", ["*"], partner=None)
    rig.receiver.script["/moved"] = [httpx.Response(301, headers={"location": "http://169.254.169.254/"})]
    await rig.publish(order_event())

    report = await rig.dispatcher.run_pass()

    assert report.retried == 1
    assert len(rig.receiver.received) == 1
    [delivery] = rig.deliveries(subscription)
    assert delivery.last_status == 301
    assert delivery.last_error is not None
    assert "register the final URL" in delivery.last_error


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("connection refused"), "could not reach the receiver: ConnectError"),
        (httpx.ReadTimeout("read timed out"), "no answer within 15 s"),
    ],
)
async def test_connection_errors_and_timeouts_are_retried(rig: Rig, failure: Exception, expected: str) -> None:
    subscription = rig.subscribe("/flaky", ["*"], partner=None)
    rig.receiver.script["/flaky"] = [failure, 204]
    await rig.publish(order_event())

    assert (await rig.dispatcher.run_pass()).retried == 1
    [delivery] = rig.deliveries(subscription)
    assert delivery.last_status is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith(expected)
    rig.clock.advance(seconds=5)
    assert (await rig.dispatcher.run_pass()).delivered == 1


async def test_a_url_refused_at_send_time_fails_without_a_request(rig: Rig) -> None:
    subscription = rig.subscribe("/hook", ["*"], partner="acme")
    with rig.store.unit_of_work() as uow:  # say the partner's name now resolves to the metadata service
        uow.webhooks.update_subscription(replace(subscription, url="http://169.254.169.254/latest/meta-data"))
        uow.commit()
    await rig.publish(order_event(partner="acme"))
    dispatcher = rig.make_dispatcher(egress=EgressPolicy())

    report = await dispatcher.run_pass()

    assert report.failed == 1
    assert rig.receiver.received == []
    [delivery] = rig.deliveries(subscription)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempts == 0
    assert delivery.last_error is not None
    assert "link-local" in delivery.last_error
    assert rig.subscription(subscription).state is SubscriptionState.ACTIVE


async def test_a_webhook_goes_to_the_address_its_check_resolved(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the request must not resolve the name again after the check (it could point inside by then).
    subscription = rig.subscribe("/hook", ["*"], partner="acme")
    with rig.store.unit_of_work() as uow:
        uow.webhooks.update_subscription(replace(subscription, url="https://hooks.acme.example/hook"))
        uow.commit()
    monkeypatch.setattr(
        "crossdock.ports.egress.socket.getaddrinfo",
        lambda host, port, *a, **k: [(2, 1, 6, "", ("93.184.215.14", port))],
    )
    seen: list[httpx.Request] = []
    receiver = rig.receiver

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return receiver(request)

    rig.http = httpx.AsyncClient(transport=httpx.MockTransport(capture))
    await rig.publish(order_event(partner="acme"))

    report = await rig.make_dispatcher(egress=EgressPolicy()).run_pass()

    assert report.delivered == 1
    [request] = seen
    assert (request.url.host, request.headers["host"]) == ("93.184.215.14", "hooks.acme.example")
    assert request.extensions["sni_hostname"] == "hooks.acme.example"


async def test_sends_overlap_but_never_more_than_allowed_per_endpoint(rig: Rig) -> None:
    in_flight: dict[str, int] = {"all": 0}
    peaks: dict[str, int] = {}

    async def slow_receiver(request: httpx.Request) -> httpx.Response:
        for key in (request.url.path, "all"):
            in_flight[key] = in_flight.get(key, 0) + 1
            peaks[key] = max(peaks.get(key, 0), in_flight[key])
        await asyncio.sleep(0.01)
        for key in (request.url.path, "all"):
            in_flight[key] -= 1
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow_receiver)) as http:
        rig.http = http
        rig.subscribe("/a", ["*"], partner=None)
        rig.subscribe("/b", ["*"], partner=None)
        await rig.publish(*(order_event(number=str(n)) for n in range(6)))

        report = await rig.make_dispatcher(concurrency=3, per_subscription=2).run_pass()

    assert report.delivered == 12
    assert peaks == {"/a": 2, "/b": 2, "all": 3}


async def test_it_is_a_worker_background_service(rig: Rig) -> None:
    service: BackgroundService = rig.dispatcher
    assert service.name == "webhooks"
    rig.subscribe("/acme", ["*"], partner=None)
    await rig.publish(order_event())
    assert await service.run_once() == 2  # one event read, one delivery sent
    assert await service.run_once() == 0


async def test_a_damaged_secret_fails_its_delivery_and_not_the_others(rig: Rig) -> None:
    damaged = rig.subscribe("/damaged", ["*"], partner=None)
    healthy = rig.subscribe("/healthy", ["*"], partner=None)
    with rig.store.unit_of_work() as uow:
        uow.webhooks.update_subscription(replace(damaged, secret="whsec_not base64!"))
        uow.commit()
    await rig.publish(order_event())

    report = await rig.dispatcher.run_pass()

    assert (report.failed, report.delivered) == (1, 1)
    [delivery] = rig.deliveries(damaged)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.last_error is not None
    assert "rotate the subscription's secret" in delivery.last_error
    assert [d.state for d in rig.deliveries(healthy)] == [DeliveryState.DELIVERED]
