"""Operator actions (retry, skip, cancel), lease fencing between workers, and the outbox relay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from crossdock.events.envelope import CloudEvent
from crossdock.log.memory import MemoryEventLog, MemoryLogState
from crossdock.ports.store import Store
from crossdock.process import (
    OperatorActionError,
    ProcessContext,
    ProcessDefinition,
    ProcessState,
    StepFailedError,
    StepStatus,
    UnknownInstanceError,
)
from crossdock.process.context import EVENT_NAMESPACE
from crossdock.process.journal import JournalWrite, JournalWriter
from tests.unit.process.conftest import Clock, EngineFactory


class Desk:
    """An ERP stand-in whose create_sale fails until it is fixed."""

    def __init__(self) -> None:
        self.fixed = False
        self.log: list[str] = []

    async def create_sale(self) -> dict[str, str]:
        self.log.append("create_sale")
        if not self.fixed:
            raise StepFailedError("customer is on credit hold")
        return {"sale": "S-1"}

    async def reserve(self) -> dict[str, int]:
        self.log.append("reserve")
        return {"reserved": 3}

    async def release(self) -> None:
        self.log.append("release")


def held(desk: Desk) -> ProcessDefinition:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> Any:
        await ctx.step("reserve_stock", desk.reserve, compensate=desk.release)
        sale = await ctx.step("create_sale", desk.create_sale)
        await ctx.wait_for("crossdock.shipment.dispatched.v1", order["number"], timedelta(days=1))
        return sale

    return ProcessDefinition("quote_to_order", 1, run, on_failure="hold")


async def test_retry_runs_the_failed_step_again_with_fresh_attempts(make_engine: EngineFactory) -> None:
    desk = Desk()
    engine = make_engine([held(desk)])
    instance_id = engine.start("quote_to_order", business_key="SO-4001", input={"number": "SO-4001"})
    await engine.run_due()
    failed = engine.show(instance_id)
    assert failed is not None
    assert failed.state is ProcessState.FAILED
    assert await engine.run_due() == 0

    desk.fixed = True
    engine.retry(instance_id, actor="ops-ben", reason="credit hold lifted")
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.WAITING
    assert view.steps[1].status is StepStatus.COMPLETED
    assert view.steps[1].attempts == 1
    assert desk.log == ["reserve", "create_sale", "create_sale"]
    assert [(a.action, a.actor, a.reason) for a in view.actions] == [("retry", "ops-ben", "credit hold lifted")]
    with pytest.raises(OperatorActionError, match="waiting"):
        engine.retry(instance_id)


async def test_skip_journals_the_failed_step_with_the_given_result(make_engine: EngineFactory) -> None:
    desk = Desk()
    engine = make_engine([held(desk)])
    instance_id = engine.start("quote_to_order", business_key="SO-4002", input={"number": "SO-4002"})
    await engine.run_due()
    engine.skip(instance_id, {"sale": "S-BY-HAND"}, actor="ops-ben", reason="entered in the ERP by hand")
    await engine.run_due()
    await engine.deliver(
        event_type="crossdock.shipment.dispatched.v1", correlation_key="SO-4002", payload={}, event_id="x"
    )
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result == {"sale": "S-BY-HAND"}
    assert view.steps[1].status is StepStatus.SKIPPED
    assert desk.log == ["reserve", "create_sale"]


async def test_operator_actions_explain_what_does_not_fit(make_engine: EngineFactory) -> None:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        raise RuntimeError("bad input")

    engine = make_engine([ProcessDefinition("broken", 1, run, on_failure="hold")])
    instance_id = engine.start("broken", business_key="B-1")
    with pytest.raises(OperatorActionError, match="runnable"):
        engine.retry(instance_id)
    await engine.run_due()
    with pytest.raises(OperatorActionError, match="no failed step to skip"):
        engine.skip(instance_id)
    with pytest.raises(UnknownInstanceError):
        engine.retry("no-such-id")
    assert engine.cancel(instance_id, reason="bad order", actor="ops") is ProcessState.CANCELLED
    with pytest.raises(OperatorActionError, match="already cancelled"):
        engine.cancel(instance_id, reason="again")


async def test_cancel_drops_a_wait_and_compensates_in_reverse(make_engine: EngineFactory) -> None:
    desk = Desk()
    desk.fixed = True
    engine = make_engine([held(desk)])
    instance_id = engine.start("quote_to_order", business_key="SO-4003", input={"number": "SO-4003"})
    await engine.run_due()
    assert engine.show(instance_id).state is ProcessState.WAITING  # type: ignore[union-attr]

    assert engine.cancel(instance_id, reason="customer withdrew", actor="ops-cleo") is ProcessState.COMPENSATING
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.CANCELLED
    assert view.cancel_reason == "customer withdrew"
    assert view.waiting_for is None
    assert desk.log == ["reserve", "create_sale", "release"]
    assert view.actions[0].action == "cancel"
    # The instance is finished: a new one may start for the same order.
    assert engine.start("quote_to_order", business_key="SO-4003", restart_finished=True) != instance_id


async def test_a_worker_that_lost_its_lease_journals_nothing(make_engine: EngineFactory, clock: Clock) -> None:
    release = asyncio.Event()
    runs: list[str] = []

    async def slow() -> dict[str, str]:
        runs.append("slow")
        if len(runs) == 1:
            await release.wait()
        return {"n": str(len(runs))}

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> Any:
        return await ctx.step("call_slow_erp", slow)

    first = make_engine([ProcessDefinition("p", 1, run)], owner="worker-1", lease_s=30)
    second = make_engine([ProcessDefinition("p", 1, run)], owner="worker-2", lease_s=30)
    instance_id = first.start("p", business_key="K-1")
    held_run = asyncio.create_task(first.run_due())
    while not runs:
        await asyncio.sleep(0.001)

    assert await second.run_due() == 0, "the first worker holds the lease"
    clock.advance(31)  # the first worker stalls past its lease (a GC pause, a stuck socket)
    assert await second.run_due() == 1
    release.set()
    assert await held_run == 1

    view = second.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result == {"n": "2"}, "the stale worker's result was fenced out"
    assert [s.attempts for s in view.steps] == [1]


async def test_a_journal_write_with_a_stale_token_writes_nothing(
    make_engine: EngineFactory, store: Store, clock: Clock
) -> None:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        await ctx.sleep(timedelta(minutes=1))

    engine = make_engine([ProcessDefinition("p", 1, run)])
    instance_id = engine.start("p", business_key="K-2")
    await engine.run_due()
    with store.unit_of_work(read_only=True) as uow:
        token = uow.processes.get(instance_id).lease_token  # type: ignore[union-attr]

    writer = JournalWriter(store, lease_s=30, clock=clock)
    try:
        outcome = await writer.write(JournalWrite(instance_id, token - 1))
        assert not outcome.held
        current = await writer.write(JournalWrite(instance_id, token))
        assert current.held
    finally:
        writer.close()


async def test_emitted_events_are_published_once_with_deterministic_ids(make_engine: EngineFactory) -> None:
    async def confirm() -> dict[str, str]:
        return {"sale": "S-9"}

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        async def accept() -> dict[str, str]:
            ctx.emit(_event("accepted", order["number"]))
            ctx.emit(_event("confirmed", order["number"]))
            return await confirm()

        await ctx.step("accept_order", accept)
        ctx.emit(_event("acknowledged", order["number"]))  # between steps: journaled with the next write
        await ctx.step("confirm", confirm)

    engine = make_engine([ProcessDefinition("p", 1, run)])
    instance_id = engine.start("p", business_key="SO-4004", input={"number": "SO-4004"})
    await engine.run_due()

    log = MemoryEventLog(MemoryLogState(), partitions=4)
    assert await engine.publish_outbox(log) == 3
    assert await engine.publish_outbox(log) == 0
    events = [logged.event for logged in await log.read(None, 0, 100)]
    expected = [
        str(uuid.uuid5(EVENT_NAMESPACE, f"{instance_id}/1/0")),
        str(uuid.uuid5(EVENT_NAMESPACE, f"{instance_id}/1/1")),
        str(uuid.uuid5(EVENT_NAMESPACE, f"{instance_id}/2/0")),
    ]
    assert [e.id for e in events] == expected
    assert [e.type for e in events] == [
        "crossdock.order.accepted.v1",
        "crossdock.order.confirmed.v1",
        "crossdock.order.acknowledged.v1",
    ]
    assert events[0].data == {"number": "SO-4004"}
    assert events[0].businesskeys == {"order": "SO-4004"}


async def test_a_relay_that_died_between_append_and_mark_does_not_duplicate(
    make_engine: EngineFactory, store: Store
) -> None:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        async def accept() -> None:
            ctx.emit(_event("accepted", "SO-4005"))

        await ctx.step("accept_order", accept)

    engine = make_engine([ProcessDefinition("p", 1, run)])
    engine.start("p", business_key="SO-4005")
    await engine.run_due()
    log = MemoryEventLog(MemoryLogState(), partitions=4)
    with store.unit_of_work(read_only=True) as uow:
        pending = uow.outbox.pending()
    await log.append([entry.event for entry in pending])  # appended, then the relay died before marking

    assert await engine.publish_outbox(log) == 1
    assert len(await log.read(None, 0, 100)) == 1


def _event(verb: str, number: str) -> CloudEvent:
    return CloudEvent(
        type=f"crossdock.order.{verb}.v1",
        source="/processes/quote_to_order",
        subject=f"order-{number}",
        data={"number": number},
        businesskeys={"order": number},
    )


async def test_leases_are_renewed_while_a_long_step_runs(store: Store) -> None:
    from crossdock.process import ProcessEngine

    runs: list[str] = []

    async def slow() -> None:
        runs.append("slow")
        await asyncio.sleep(0.8)

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        await ctx.step("call_slow_erp", slow)

    # Real clocks: the lease is 0.3 s, the step takes 0.8 s; only renewals keep the second worker out.
    first = ProcessEngine(store, [ProcessDefinition("p", 1, run)], owner="worker-1", lease_s=0.3)
    second = ProcessEngine(store, [ProcessDefinition("p", 1, run)], owner="worker-2", lease_s=0.3)
    try:
        instance_id = first.start("p", business_key="K-3")
        running = asyncio.create_task(first.run_due())
        for _ in range(6):
            await asyncio.sleep(0.1)
            assert await second.run_due() == 0
        assert await running == 1
        view = first.show(instance_id)
        assert view is not None
        assert view.state is ProcessState.COMPLETED
        assert runs == ["slow"]
    finally:
        first.close()
        second.close()
