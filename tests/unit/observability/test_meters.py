"""Counting what flows through the log: appends per type, consumption, retries and dead letters per group."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crossdock.events.envelope import CloudEvent
from crossdock.log.memory import MemoryEventLog
from crossdock.log.metered import MeteredEventLog
from crossdock.log.sqlite import SqliteEventLog
from crossdock.observability.meters import APPENDS, CONSUMED, DEAD_LETTERED, DELIVERIES, RETRIES, Meters, Series
from crossdock.ports.event_log import EventLog


def event(subject: str, kind: str = "customer.updated") -> CloudEvent:
    entity, verb = kind.split(".")
    return CloudEvent(type=f"crossdock.{entity}.{verb}.v1", source="/test", subject=subject, data={"id": subject})


def counts(meters: Meters, series: Series) -> dict[tuple[str, ...], int]:
    return dict(meters.samples())[series]


async def test_the_metered_log_counts_appends_consumption_retries_and_dead_letters() -> None:
    meters = Meters()
    log: EventLog = MeteredEventLog(MemoryEventLog(partitions=1), meters)
    await log.append([event("c1"), event("c2"), event("o1", "order.submitted")])
    await log.append([event("c3")])

    first, second, third, fourth = await log.fetch("flow.erp", "w1", max_events=10, wait_s=0)
    await log.ack("flow.erp", "w1", [first])
    await log.nack("flow.erp", "w1", second, error="timeout", retry_in_s=0, max_attempts=2)
    await log.release("flow.erp", "w1")
    (again, *_) = await log.fetch("flow.erp", "w1", max_events=10, wait_s=0)
    await log.nack("flow.erp", "w1", again, error="timeout", retry_in_s=0, max_attempts=2)  # its last attempt
    await log.release("flow.erp", "w1")
    (after,) = [e for e in await log.fetch("flow.erp", "w1", max_events=10, wait_s=0) if e.offset == third.offset]
    await log.dead_letter("flow.erp", "w1", after, error="bad data")

    assert counts(meters, APPENDS) == {("crossdock.customer.updated.v1",): 3, ("crossdock.order.submitted.v1",): 1}
    assert counts(meters, CONSUMED) == {("flow.erp",): 1}
    assert counts(meters, RETRIES) == {("flow.erp",): 1}
    assert counts(meters, DEAD_LETTERED) == {("flow.erp",): 2}
    assert fourth.event.subject == "c3"
    assert log.partitions == 1


def test_a_log_without_blocking_appends_still_says_so() -> None:
    log = MeteredEventLog(MemoryEventLog(), Meters())
    assert getattr(log, "append_blocking", None) is None
    assert getattr(log, "direct_appender", None) is None


async def test_a_direct_appenders_appends_are_counted(tmp_path: Path) -> None:
    meters = Meters()
    inner = SqliteEventLog(tmp_path / "log.db", partitions=1)
    await inner.open()
    log = MeteredEventLog(inner, meters)
    appender = log.direct_appender()
    try:
        await asyncio.to_thread(appender.append, [event("o1", "order.submitted"), event("o2", "order.submitted")])
    finally:
        appender.close()
        await inner.close()
    assert counts(meters, APPENDS) == {("crossdock.order.submitted.v1",): 2}


def test_delivery_outcomes_are_counted_per_flow_and_target() -> None:
    meters = Meters()
    meters.delivered("customer-crm-to-erp", "erp", {"delivered": 3, "unchanged": 0, "retried": 1})
    meters.delivered("customer-crm-to-erp", "erp", {"delivered": 2})
    assert counts(meters, DELIVERIES) == {
        ("customer-crm-to-erp", "erp", "delivered"): 5,
        ("customer-crm-to-erp", "erp", "retried"): 1,
    }
