"""Invariant 1 on NATS: every append JetStream acknowledged survives kill -9 of the server, and re-sending is harmless.

The server is the wheel's nats-server with `sync_interval: always` (tests/support/nats_server.py); it is killed with
SIGKILL while a producer is appending, then started again on the same port and store directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossdock.events.envelope import CloudEvent
from crossdock.log.nats import NatsEventLog
from crossdock.ports.event_log import AppendResult
from crossdock.sandbox.nats_server import NatsServerProcess, nats_server_binary, nats_server_process

pytestmark = [pytest.mark.nats, pytest.mark.fault]

STREAM = "DURABILITY"
PARTITIONS = 4


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A durable server of our own: this test kills it, so it never uses CROSSDOCK_TEST_NATS_URL."""
    try:
        nats_server_binary()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    with nats_server_process(tmp_path / "nats") as running:
        yield running


def make_event(n: int) -> CloudEvent:
    """An order change; subjects repeat so partitions hold several per subject."""
    return CloudEvent(type="crossdock.order.updated.v1", source="erp", subject=f"order-{n % 50}", data={"n": n})


async def produce_until_killed(log: NatsEventLog, acked: list[tuple[CloudEvent, AppendResult]]) -> None:
    """Append batches of mixed sizes until an append fails; record only what came back acknowledged."""
    rng = random.Random(42)
    n = 0
    while True:
        size = rng.choice([1, 7, 100, 250, 500])
        batch = [make_event(n + i) for i in range(size)]
        n += size
        try:
            results = await log.append(batch)
        except Exception:  # the server died under this append: it was never acknowledged
            return
        acked.extend(zip(batch, results, strict=True))


async def test_acknowledged_appends_survive_kill_9_and_resending_stores_nothing_twice(
    server: NatsServerProcess,
) -> None:
    log = await NatsEventLog.open(server.url, stream=STREAM, partitions=PARTITIONS, timeout_s=3.0)
    acked: list[tuple[CloudEvent, AppendResult]] = []
    producer = asyncio.create_task(produce_until_killed(log, acked))
    while len(acked) < 3000 and not producer.done():
        await asyncio.sleep(0.01)
    server.kill()  # SIGKILL while appends are in flight
    await asyncio.wait_for(producer, 30)
    with contextlib.suppress(Exception):
        await log.close()
    assert len(acked) >= 3000

    server.start()  # same port, same store directory
    reopened = await NatsEventLog.open(server.url, stream=STREAM, partitions=PARTITIONS)
    try:
        stored = await reopened.read(None, 0, len(acked) + 10_000)
        by_offset = {logged.offset: logged.event for logged in stored}
        lost = [event.id for event, result in acked if by_offset.get(result.offset) != event]
        assert lost == [], f"{len(lost)} acknowledged events are gone after kill -9"
        assert len({logged.event.id for logged in stored}) == len(stored), "an event is stored twice"

        again = await reopened.append([event for event, _ in acked])
        assert all(result.duplicate for result in again)
        assert [result.offset for result in again] == [result.offset for _, result in acked]
        assert len(await reopened.read(None, 0, len(acked) + 10_000)) == len(stored)
    finally:
        await reopened.close()


async def test_group_positions_and_a_pending_retry_survive_kill_9(server: NatsServerProcess) -> None:
    group = "flow.orders.wms"
    log = await NatsEventLog.open(server.url, stream="GROUPS", partitions=PARTITIONS, lease_ttl_s=1.0, timeout_s=3.0)
    events = [make_event(n) for n in range(200)]
    await log.append(events)
    batch = await log.fetch(group, "w1", max_events=100, wait_s=1.0)
    failing = batch[0]
    await log.nack(group, "w1", failing, error="WMS timed out", retry_in_s=1.5, max_attempts=5)
    nacked_at = asyncio.get_running_loop().time()
    # Events after the failing one in its partition come again after it; acking them now is ignored.
    await log.ack(group, "w1", batch[1:])
    done_before = {e.event.id for e in batch[1:] if e.partition != failing.partition}

    server.kill()
    server.start()
    with contextlib.suppress(Exception):
        await log.close()

    reopened = await NatsEventLog.open(server.url, stream="GROUPS", partitions=PARTITIONS, lease_ttl_s=1.0)
    after = []
    retried_at = None
    try:
        idle = 0
        while idle < 3:
            got = await reopened.fetch(group, "w2", max_events=100, wait_s=1.0)
            idle = 0 if got else idle + 1
            if any(e.event.id == failing.event.id for e in got):
                retried_at = asyncio.get_running_loop().time()
            after.extend(got)
            await reopened.ack(group, "w2", got)
    finally:
        await reopened.close()

    # Nothing is lost: what was acked before the crash plus what came after is every event.
    assert done_before | {e.event.id for e in after} == {e.id for e in events}
    # The retry kept its attempt count and its pause across the crash.
    [retried] = [e for e in after if e.event.id == failing.event.id]
    assert retried.attempt == 2
    by_subject: dict[str, list[int]] = {}
    for logged in after:
        by_subject.setdefault(logged.event.subject, []).append(logged.event.data["n"])
    assert all(ns == sorted(ns) for ns in by_subject.values()), "order per subject after the crash"
    assert retried_at is not None
    assert retried_at - nacked_at >= 1.5, "the pause outlived the crash"
