"""Waiting for partners' answers (signals), timeouts, and durable timers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crossdock.ports.store import Store
from crossdock.process import ProcessContext, ProcessDefinition, ProcessState, StepStatus
from tests.unit.process.conftest import Clock, EngineFactory

ACK = "crossdock.po_acknowledgement.received.v1"


def waits_for_ack(results: list[Any]) -> ProcessDefinition:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> Any:
        po = await ctx.step("issue_po", _returns({"po": order["po"]}))
        ack = await ctx.wait_for(ACK, po["po"], timedelta(days=3))
        results.append(ack)
        return {"ack": ack}

    return ProcessDefinition("drop_ship", 1, run)


def _returns(value: Any) -> Any:
    async def effect() -> Any:
        return value

    return effect


async def test_a_signal_after_the_wait_wakes_the_instance(make_engine: EngineFactory) -> None:
    results: list[Any] = []
    engine = make_engine([waits_for_ack(results)])
    instance_id = engine.start("drop_ship", business_key="SO-3001", input={"po": "PO-77"})
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.WAITING
    assert view.waiting_for == (ACK, "PO-77")
    assert await engine.run_due() == 0

    assert await engine.deliver(event_type=ACK, correlation_key="PO-77", payload={"accepted": True}, event_id="e-1")
    assert not await engine.deliver(event_type=ACK, correlation_key="PO-77", payload={"other": 1}, event_id="e-1")
    assert await engine.run_due() == 1

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result == {"ack": {"accepted": True}}
    assert results == [{"accepted": True}]


async def test_a_signal_that_arrives_first_waits_in_the_mailbox(make_engine: EngineFactory, store: Store) -> None:
    results: list[Any] = []
    engine = make_engine([waits_for_ack(results)])
    await engine.deliver(event_type=ACK, correlation_key="PO-78", payload={"accepted": False}, event_id="e-2")
    await engine.deliver(event_type=ACK, correlation_key="PO-99", payload={"for": "someone else"}, event_id="e-3")
    instance_id = engine.start("drop_ship", business_key="SO-3002", input={"po": "PO-78"})
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert results == [{"accepted": False}]
    with store.unit_of_work(read_only=True) as uow:
        consumed = uow.processes.signals(consumed_by=instance_id)
    assert [(s.event_id, s.consumed_seq) for s in consumed] == [("e-2", 2)]


async def test_a_wait_times_out_with_none(make_engine: EngineFactory, clock: Clock) -> None:
    results: list[Any] = []
    engine = make_engine([waits_for_ack(results)])
    instance_id = engine.start("drop_ship", business_key="SO-3003", input={"po": "PO-79"})
    await engine.run_due()
    clock.advance(timedelta(days=3).total_seconds() - 1)
    assert await engine.run_due() == 0
    clock.advance(1)
    assert await engine.run_due() == 1

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result == {"ack": None}
    assert view.steps[1].status is StepStatus.TIMED_OUT
    # A late answer stays in the mailbox; it does not change a finished wait.
    await engine.deliver(event_type=ACK, correlation_key="PO-79", payload={"late": True}, event_id="e-4")
    assert await engine.run_due() == 0


async def test_a_sleep_is_durable_and_wakes_on_time(make_engine: EngineFactory, clock: Clock) -> None:
    ran: list[str] = []

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        ran.append("before")
        await ctx.sleep(timedelta(hours=4))
        ran.append("after")

    engine = make_engine([ProcessDefinition("recheck", 1, run)])
    instance_id = engine.start("recheck", business_key="SO-3004")
    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.SLEEPING
    assert view.wake_at == clock.now + timedelta(hours=4)

    clock.advance(3 * 3600)
    other = make_engine([ProcessDefinition("recheck", 1, run)], owner="worker-2")
    assert await other.run_due() == 0
    clock.advance(3600)
    assert await other.run_due() == 1
    view = other.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert ran == ["before", "before", "after"]
    assert view.steps[0].status is StepStatus.COMPLETED
