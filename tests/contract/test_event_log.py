"""The EventLog contract: what every adapter promises (see `crossdock.ports.event_log`)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import EventLog, LoggedEvent, NackOutcome, partition_for
from tests.contract.conftest import LEASE_TTL_S, PARTITIONS, LogFactory

GROUP = "flow.customers.erp"


def make_event(subject: str, seq: int, **data: Any) -> CloudEvent:
    """A customer change for `subject`; `seq` orders changes of one subject."""
    return CloudEvent(
        type="crossdock.customer.updated.v1",
        source="test",
        subject=subject,
        data={"seq": seq, **data},
    )


async def drain(log: EventLog, group: str, consumer: str = "c1", *, ack: bool = True) -> list[LoggedEvent]:
    """Fetch (and ack) until a fetch comes back empty."""
    seen: list[LoggedEvent] = []
    while True:
        batch = await log.fetch(group, consumer, max_events=200, wait_s=0.3)
        if not batch:
            return seen
        seen.extend(batch)
        if ack:
            await log.ack(group, consumer, batch)


async def test_append_returns_increasing_offsets_and_hash_partitions(event_log: EventLog) -> None:
    events = [make_event(f"cust-{i % 7}", i) for i in range(30)]
    results = await event_log.append(events)
    assert [r.event_id for r in results] == [e.id for e in events]
    offsets = [r.offset for r in results]
    assert offsets == sorted(offsets)
    assert len(set(offsets)) == len(offsets)
    assert all(not r.duplicate for r in results)
    assert [r.partition for r in results] == [partition_for(e.subject, PARTITIONS) for e in events]
    assert event_log.partitions == PARTITIONS


async def test_append_of_a_known_id_is_not_stored_twice(event_log: EventLog) -> None:
    first = make_event("cust-1", 1)
    [original] = await event_log.append([first])
    again = await event_log.append([first, make_event("cust-1", 2)])
    assert again[0].duplicate
    assert again[0].offset == original.offset
    assert not again[1].duplicate
    stored = await event_log.read(None, 0, 100)
    assert [logged.event.id for logged in stored].count(first.id) == 1


async def test_a_thread_appends_without_the_event_loop_where_the_adapter_allows_it(event_log: EventLog) -> None:
    blocking = getattr(event_log, "append_blocking", None)
    if blocking is None:
        pytest.skip("this adapter appends only from its event loop")
    first = make_event("cust-1", 1)
    results = await asyncio.to_thread(blocking, [first, make_event("cust-2", 2)])
    again = await asyncio.to_thread(blocking, [first])
    assert [r.duplicate for r in results] == [False, False]
    assert again[0].duplicate
    assert again[0].offset == results[0].offset
    assert sorted(logged.event.id for logged in await drain(event_log, GROUP)) == sorted(e.event_id for e in results)


async def test_a_direct_appender_appends_on_its_thread_beside_the_logs_own_appends(event_log: EventLog) -> None:
    direct = getattr(event_log, "direct_appender", None)
    if direct is None:
        pytest.skip("this adapter has no direct appender")
    appender = direct()
    first, second = make_event("cust-1", 1), make_event("cust-2", 2)
    try:
        results = await asyncio.to_thread(appender.append, [first, second])
        [logged_by_log] = await event_log.append([make_event("cust-1", 3)])
        again = await asyncio.to_thread(appender.append, [first, make_event("cust-1", 4)])
    finally:
        appender.close()  # not on the thread that opened its connection, as the intake process closes it
    assert [r.duplicate for r in results] == [False, False]
    assert again[0].duplicate
    assert again[0].offset == results[0].offset
    assert not again[1].duplicate
    assert results[1].offset < logged_by_log.offset < again[1].offset  # one sequence of offsets, shared
    seen = await drain(event_log, GROUP)
    assert [logged.event.data["seq"] for logged in seen if logged.event.subject == "cust-1"] == [1, 3, 4]
    assert len(seen) == 4


async def test_read_returns_events_with_their_content(event_log: EventLog) -> None:
    event = CloudEvent(
        type="crossdock.customer.updated.v1",
        source="crm",
        subject="cust-9",
        data={"name": "Acme Supply", "credit_limit": {"amount": "1000.00", "currency": "USD"}},
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        correlationid="corr-1",
        businesskeys={"customer_number": "C-9"},
    )
    [result] = await event_log.append([event])
    [logged] = await event_log.read(result.partition, result.offset, 10)
    assert logged.event == event
    assert logged.offset == result.offset


async def test_a_group_gets_every_event_once_in_order_per_subject(event_log: EventLog) -> None:
    rng = random.Random(7)
    events = [make_event(f"cust-{rng.randrange(20)}", i) for i in range(300)]
    await event_log.append(events)
    seen = await drain(event_log, GROUP)
    assert sorted(e.event.id for e in seen) == sorted(e.id for e in events)
    by_subject: dict[str, list[int]] = {}
    for logged in seen:
        by_subject.setdefault(logged.event.subject, []).append(logged.event.data["seq"])
    for seqs in by_subject.values():
        assert seqs == sorted(seqs)
    assert await drain(event_log, GROUP) == []


async def test_groups_are_independent(event_log: EventLog) -> None:
    await event_log.append([make_event("cust-1", i) for i in range(10)])
    assert len(await drain(event_log, "group-a")) == 10
    assert len(await drain(event_log, "group-b")) == 10
    assert {"group-a", "group-b"} <= set(await event_log.groups())


async def test_unacked_events_come_again_to_a_new_instance(log_factory: LogFactory) -> None:
    first = await log_factory()
    await first.append([make_event("cust-1", i) for i in range(5)])
    batch = await first.fetch(GROUP, "c1", max_events=10, wait_s=0.5)
    await first.ack(GROUP, "c1", batch[:2])
    await first.release(GROUP, "c1")
    second = await log_factory()
    rest = await drain(second, GROUP, "c2")
    assert [e.event.data["seq"] for e in rest] == [2, 3, 4]


async def test_nack_retries_the_same_event_first_and_holds_its_partition(event_log: EventLog) -> None:
    subject = "cust-1"
    other = next(
        f"cust-{i}"
        for i in range(2, 100)
        if partition_for(f"cust-{i}", PARTITIONS) != partition_for(subject, PARTITIONS)
    )
    await event_log.append([make_event(subject, 0), make_event(subject, 1)])
    batch = await event_log.fetch(GROUP, "c1", max_events=10, wait_s=0.5)
    assert [e.event.data["seq"] for e in batch] == [0, 1]
    outcome = await event_log.nack(GROUP, "c1", batch[0], error="ERP timed out", retry_in_s=0.6, max_attempts=3)
    assert outcome is NackOutcome.RETRY
    await event_log.append([make_event(other, 0)])
    meanwhile = await event_log.fetch(GROUP, "c1", max_events=10, wait_s=0.3)
    assert [e.event.subject for e in meanwhile] == [other], "other partitions go on; the paused one waits"
    await event_log.ack(GROUP, "c1", meanwhile)
    await asyncio.sleep(0.7)
    retried = await event_log.fetch(GROUP, "c1", max_events=10, wait_s=0.5)
    assert [(e.event.data["seq"], e.attempt) for e in retried] == [(0, 2), (1, 1)]


async def test_after_max_attempts_the_event_is_dead_lettered_and_the_partition_goes_on(
    event_log: EventLog,
) -> None:
    await event_log.append([make_event("cust-1", 0), make_event("cust-1", 1)])
    outcomes = []
    for _ in range(3):
        batch = await event_log.fetch(GROUP, "c1", max_events=1, wait_s=1.0)
        assert batch
        assert batch[0].event.data["seq"] == 0
        outcomes.append(
            await event_log.nack(
                GROUP, "c1", batch[0], error="REQUIRED_FIELD_MISSING: Name", retry_in_s=0.05, max_attempts=3
            )
        )
        await asyncio.sleep(0.1)
    assert outcomes == [NackOutcome.RETRY, NackOutcome.RETRY, NackOutcome.DEAD_LETTERED]
    rest = await drain(event_log, GROUP)
    assert [e.event.data["seq"] for e in rest] == [1]
    [dead] = await event_log.dead_letters(GROUP)
    assert dead.event.data["seq"] == 0
    assert dead.attempts == 3
    assert "REQUIRED_FIELD_MISSING" in dead.error
    assert dead.group == GROUP


async def test_dead_letters_can_be_redelivered_once(event_log: EventLog) -> None:
    await event_log.append([make_event("cust-1", 0), make_event("cust-2", 0)])
    batch = await event_log.fetch(GROUP, "c1", max_events=10, wait_s=0.5)
    poisoned = next(e for e in batch if e.event.subject == "cust-1")
    fine = [e for e in batch if e is not poisoned]
    await event_log.dead_letter(GROUP, "c1", poisoned, error="mapping failed: spec.yaml:12")
    await event_log.ack(GROUP, "c1", fine)
    assert await drain(event_log, GROUP) == []
    [dead] = await event_log.dead_letters(GROUP)
    assert await event_log.dead_letters("another-group") == []
    assert await event_log.redeliver([dead.id]) == 1
    again = await drain(event_log, GROUP)
    assert [e.event.id for e in again] == [poisoned.event.id]
    assert await event_log.dead_letters(GROUP) == []
    assert await drain(event_log, GROUP) == []


async def test_seek_replays_from_an_offset_and_from_a_time(event_log: EventLog) -> None:
    first = await event_log.append([make_event(f"cust-{i}", i) for i in range(5)])
    await asyncio.sleep(1.1)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await event_log.append([make_event(f"cust-{i}", 10 + i) for i in range(5)])
    assert len(await drain(event_log, GROUP)) == 10
    await event_log.seek(GROUP, from_offset=first[3].offset)
    replayed = await drain(event_log, GROUP)
    assert sorted(e.event.data["seq"] for e in replayed) == [3, 4, 10, 11, 12, 13, 14]
    await event_log.seek(GROUP, from_time=cutoff)
    replayed = await drain(event_log, GROUP)
    assert sorted(e.event.data["seq"] for e in replayed) == [10, 11, 12, 13, 14]


async def test_lag_counts_what_the_group_has_not_acked(event_log: EventLog) -> None:
    events = [make_event(f"cust-{i}", i) for i in range(12)]
    await event_log.append(events)
    lag = await event_log.lag(GROUP)
    assert sum(lag.values()) == 12
    assert set(lag) <= set(range(PARTITIONS))
    await drain(event_log, GROUP)
    assert sum((await event_log.lag(GROUP)).values()) == 0


async def test_two_consumers_split_partitions_and_never_share_an_event(log_factory: LogFactory) -> None:
    one, two = await log_factory(), await log_factory()
    await one.append([make_event(f"cust-{i}", i) for i in range(200)])
    seen: dict[str, list[LoggedEvent]] = {"a": [], "b": []}

    async def consume(log: EventLog, name: str) -> None:
        idle = 0
        while idle < 3:
            batch = await log.fetch(GROUP, name, max_events=20, wait_s=0.2)
            if not batch:
                idle += 1
                continue
            idle = 0
            seen[name].extend(batch)
            await log.ack(GROUP, name, batch)

    await asyncio.gather(consume(one, "a"), consume(two, "b"))
    ids_a = {e.event.id for e in seen["a"]}
    ids_b = {e.event.id for e in seen["b"]}
    assert len(ids_a) + len(ids_b) == 200
    assert not ids_a & ids_b
    parts_a = {e.partition for e in seen["a"]}
    parts_b = {e.partition for e in seen["b"]}
    assert not parts_a & parts_b, "a partition belongs to one consumer at a time"


async def test_a_dead_consumers_partitions_move_on_after_the_lease(log_factory: LogFactory) -> None:
    crashed, survivor = await log_factory(), await log_factory()
    await crashed.append([make_event("cust-1", i) for i in range(6)])
    batch = await crashed.fetch(GROUP, "crashed", max_events=3, wait_s=0.5)
    await crashed.ack(GROUP, "crashed", batch[:1])
    # The crashed consumer never releases or acks again; its lease must run out.
    assert await survivor.fetch(GROUP, "survivor", max_events=10, wait_s=0.1) == []
    await asyncio.sleep(LEASE_TTL_S * 1.5)
    rest = await drain(survivor, GROUP, "survivor")
    assert [e.event.data["seq"] for e in rest] == [1, 2, 3, 4, 5]


async def test_read_across_partitions_is_in_offset_order(event_log: EventLog) -> None:
    results = await event_log.append([make_event(f"cust-{i}", i) for i in range(20)])
    everything = await event_log.read(None, 0, 100)
    assert [e.offset for e in everything] == [r.offset for r in results]
    tail = await event_log.read(None, results[15].offset, 100)
    assert [e.event.data["seq"] for e in tail] == [15, 16, 17, 18, 19]
    assert len(await event_log.read(None, 0, 5)) == 5


@pytest.mark.parametrize("batch_size", [1, 250])
async def test_concurrent_appends_keep_every_event(event_log: EventLog, batch_size: int) -> None:
    async def producer(n: int) -> None:
        for start in range(0, 500, batch_size):
            await event_log.append(
                [make_event(f"p{n}-{i % 5}", start + i) for i in range(batch_size) if start + i < 500]
            )

    await asyncio.gather(*(producer(n) for n in range(4)))
    seen = await drain(event_log, GROUP)
    assert len(seen) == 2000
    by_subject: dict[str, list[int]] = {}
    for logged in seen:
        by_subject.setdefault(logged.event.subject, []).append(logged.event.data["seq"])
    assert all(seqs == sorted(seqs) for seqs in by_subject.values())


async def test_a_nack_that_does_not_count_never_dead_letters(event_log: EventLog) -> None:
    await event_log.append([make_event("cust-1", 0)])
    for _ in range(4):
        batch = await event_log.fetch(GROUP, "c1", max_events=1, wait_s=1.0)
        assert [(e.event.data["seq"], e.attempt) for e in batch] == [(0, 1)]
        outcome = await event_log.nack(
            GROUP,
            "c1",
            batch[0],
            error="ERP is down: circuit open",
            retry_in_s=0.05,
            max_attempts=2,
            count_attempt=False,
        )
        assert outcome is NackOutcome.RETRY
        await asyncio.sleep(0.1)
    assert await event_log.dead_letters(GROUP) == []
    [last] = await event_log.fetch(GROUP, "c1", max_events=1, wait_s=1.0)
    assert (
        await event_log.nack(GROUP, "c1", last, error="UNABLE_TO_LOCK_ROW", retry_in_s=0.05, max_attempts=2)
        is NackOutcome.RETRY
    )
    await asyncio.sleep(0.1)
    [counted] = await event_log.fetch(GROUP, "c1", max_events=1, wait_s=1.0)
    assert counted.attempt == 2
