"""Webhooks to a real HTTP receiver on loopback (uvicorn in a thread) that verifies every signature it gets.

Time is a fake clock shared by the dispatcher and the receiver, so hours of retries take milliseconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from crossdock.log.memory import MemoryEventLog
from crossdock.log.sqlite import SqliteEventLog
from crossdock.ports.api import DeliveryState, SubscriptionState, WebhookDelivery, WebhookSubscription
from crossdock.ports.egress import EgressPolicy
from crossdock.ports.event_log import EventLog, LoggedEvent
from crossdock.ports.store import Store
from crossdock.webhooks.dispatcher import GROUP, WebhookDispatcher
from crossdock.webhooks.schedule import RetrySchedule
from crossdock.webhooks.signing import WebhookVerificationError, verify
from crossdock.webhooks.subscriptions import subscribe
from tests.support.stores import contract_store
from tests.unit.webhooks.support import START, FakeClock, order_event

LOOPBACK = EgressPolicy(allowed_hosts=["127.0.0.1"])


@dataclass
class Receiver:
    """What the receiving app knows and saw: a secret per hook, scripted statuses, verified requests."""

    base_url: str
    clock: Callable[[], datetime] = lambda: START
    secrets: dict[str, str] = field(default_factory=dict)
    script: dict[str, list[int]] = field(default_factory=dict)
    received: list[tuple[str, str, int, Any]] = field(default_factory=list)  # hook, webhook-id, timestamp, JSON
    refused: list[str] = field(default_factory=list)

    def on(self, hook: str) -> list[tuple[str, str, int, Any]]:
        return [request for request in self.received if request[0] == hook]


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/hooks/{hook}")
    async def take(hook: str, request: Request) -> Response:
        body = await request.body()
        try:
            verified = verify(receiver.secrets[hook], request.headers, body, now=receiver.clock())
        except (KeyError, WebhookVerificationError) as exc:
            receiver.refused.append(f"{hook}: {exc}")
            return Response(status_code=401)
        receiver.received.append((hook, verified.id, verified.timestamp, orjson.loads(body)))
        planned = receiver.script.get(hook, [200])
        return Response(status_code=planned.pop(0) if len(planned) > 1 else planned[0])

    return app


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    receiver = Receiver(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(receiver_app(receiver), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start within 10 s"
        time.sleep(0.01)
    yield receiver
    server.should_exit = True
    thread.join(timeout=5)
    listener.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def receiver(receiver_server: Receiver, clock: FakeClock) -> Receiver:
    receiver_server.clock = clock
    for kept in (receiver_server.secrets, receiver_server.script, receiver_server.received, receiver_server.refused):
        kept.clear()
    return receiver_server


@pytest.fixture(params=["memory", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[EventLog, Store]]:
    """A log and a store: both in memory, or both in SQLite files."""
    with contract_store(request.param, tmp_path, lambda: "") as store:
        if request.param == "memory":
            log: EventLog = MemoryEventLog(partitions=4)
        else:
            sqlite_log = SqliteEventLog(tmp_path / "log.db", partitions=4)
            await sqlite_log.open()
            log = sqlite_log
        yield log, store
        await log.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:  # no proxy from the environment for loopback
        yield client


def dispatcher(
    log: EventLog, store: Store, http: httpx.AsyncClient, clock: FakeClock, consumer: str = "w1"
) -> WebhookDispatcher:
    return WebhookDispatcher(
        log, store, http, LOOPBACK, consumer=consumer, clock=clock, schedule=RetrySchedule(jitter=0)
    )


def hook(store: Store, receiver: Receiver, name: str, event_types: Sequence[str], partner: str) -> WebhookSubscription:
    subscription, secret = subscribe(
        store, LOOPBACK, partner_id=partner, url=f"{receiver.base_url}/hooks/{name}", event_types=event_types
    )
    receiver.secrets[name] = secret
    return subscription


def stored(store: Store, subscription: WebhookSubscription) -> tuple[WebhookSubscription, list[WebhookDelivery]]:
    with store.unit_of_work(read_only=True) as uow:
        found = uow.webhooks.get_subscription(subscription.id)
        deliveries = uow.webhooks.list_deliveries(subscription_id=subscription.id)
    assert found is not None
    return found, deliveries


async def test_500_twice_then_200_is_retried_on_the_clock_and_delivered_once(
    backend: tuple[EventLog, Store], http: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    log, store = backend
    subscription = hook(store, receiver, "acme", ["crossdock.order.shipped.v1"], "acme")
    receiver.script["acme"] = [500, 500, 200]
    event = order_event(partner="acme", number="SO-4711")
    await log.append([event])
    webhooks = dispatcher(log, store, http, clock)

    first = await webhooks.run_pass()
    assert (first.fanned_out, first.retried) == (1, 1)
    assert (await webhooks.run_pass()).total == 0  # the retry waits 5 s on the clock, not on the wall
    clock.advance(seconds=5)
    assert (await webhooks.run_pass()).retried == 1
    clock.advance(minutes=5)
    assert (await webhooks.run_pass()).delivered == 1
    clock.advance(days=2)
    assert (await webhooks.run_pass()).total == 0

    assert receiver.refused == []
    attempts = receiver.on("acme")
    assert len(attempts) == 3
    assert len({webhook_id for _, webhook_id, _, _ in attempts}) == 1  # one webhook-id on every attempt
    assert [timestamp - attempts[0][2] for _, _, timestamp, _ in attempts] == [0, 5, 305]
    assert attempts[-1][3] == {"type": event.type, "timestamp": event.time, "data": {"number": "SO-4711"}}
    _, [delivery] = stored(store, subscription)
    assert (delivery.state, delivery.attempts, delivery.last_status) == (DeliveryState.DELIVERED, 3, 200)


async def test_410_disables_the_subscription_and_later_events_are_not_sent(
    http: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    with contract_store("memory", Path(), lambda: "") as store:
        log = MemoryEventLog(partitions=4)
        gone = hook(store, receiver, "gone", ["crossdock.order.*"], "acme")
        kept = hook(store, receiver, "kept", ["crossdock.order.*"], "acme")
        receiver.script["gone"] = [410]
        webhooks = dispatcher(log, store, http, clock)
        await log.append([order_event(partner="acme", number="1")])

        report = await webhooks.run_pass()
        assert (report.disabled, report.delivered) == (1, 1)
        subscription, [delivery] = stored(store, gone)
        assert subscription.state is SubscriptionState.DISABLED
        assert delivery.state is DeliveryState.CANCELLED
        assert delivery.last_status == 410

        await log.append([order_event(partner="acme", number="2")])
        clock.advance(days=1)
        report = await webhooks.run_pass()
        assert (report.fanned_out, report.delivered) == (1, 1)
        assert len(receiver.on("gone")) == 1
        assert len(receiver.on("kept")) == 2
        assert stored(store, kept)[0].state is SubscriptionState.ACTIVE
        assert receiver.refused == []


class DiesBeforeAck:
    """The log as a worker sees it that is killed after committing its deliveries and before acking the batch."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        raise ConnectionResetError("killed before the ack")


async def test_a_crash_between_enqueue_and_ack_sends_each_webhook_once(
    backend: tuple[EventLog, Store], http: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    log, store = backend
    subscription = hook(store, receiver, "acme", ["crossdock.order.*"], "acme")
    await log.append([order_event(partner="acme", number=str(n)) for n in range(10)])

    doomed = WebhookDispatcher(
        DiesBeforeAck(log),  # forwards every other call to the real log
        store,
        http,
        LOOPBACK,
        consumer="w1",
        clock=clock,
    )
    with pytest.raises(ConnectionResetError):
        await doomed.fan_out_once()
    await log.release(GROUP, "w1")  # its lease ends; the unacked batch goes to the next worker

    survivor = dispatcher(log, store, http, clock, consumer="w2")
    report = await survivor.run_pass()

    assert (report.events, report.fanned_out, report.delivered) == (10, 0, 10)
    assert len(receiver.on("acme")) == 10
    assert len({webhook_id for _, webhook_id, _, _ in receiver.on("acme")}) == 10
    assert len(stored(store, subscription)[1]) == 10
    assert (await survivor.run_pass()).total == 0
    assert receiver.refused == []
