"""Running processes: journaled steps, replay after a crash, one live instance per key, pinned versions."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from crossdock.ports.store import Store
from crossdock.process import (
    ProcessContext,
    ProcessDefinition,
    ProcessState,
    StepStatus,
    UnknownDefinitionError,
)
from tests.unit.process.conftest import Clock, Crash, EngineFactory


class Effects:
    """What the steps did, counted per step name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.crash_at: str | None = None

    def step(self, name: str, result: Any = None) -> Any:
        async def effect() -> Any:
            self.calls[name] += 1
            if name == self.crash_at:
                self.crash_at = None
                raise Crash
            return result if result is not None else {"done": name}

        return effect


def three_steps(effects: Effects, version: int = 1) -> ProcessDefinition:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> dict[str, Any]:
        credit = await ctx.step("check_credit", effects.step("check_credit", {"ok": True}))
        sale = await ctx.step("create_sale", effects.step("create_sale", {"sale": f"S-{order['number']}"}))
        await ctx.step("confirm_sale", effects.step("confirm_sale"))
        return {"credit": credit, "sale": sale, "version": ctx.definition_version}

    return ProcessDefinition("quote_to_order", version, run)


async def test_a_process_runs_its_steps_once_and_completes_with_its_result(make_engine: EngineFactory) -> None:
    effects = Effects()
    engine = make_engine([three_steps(effects)])
    instance_id = engine.start("quote_to_order", business_key="SO-1001", input={"number": 1001})

    assert await engine.run_due() == 1
    assert await engine.run_due() == 0

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.result == {"credit": {"ok": True}, "sale": {"sale": "S-1001"}, "version": 1}
    assert [(s.seq, s.name, s.status, s.attempts) for s in view.steps] == [
        (1, "check_credit", StepStatus.COMPLETED, 1),
        (2, "create_sale", StepStatus.COMPLETED, 1),
        (3, "confirm_sale", StepStatus.COMPLETED, 1),
    ]
    assert effects.calls == {"check_credit": 1, "create_sale": 1, "confirm_sale": 1}


async def test_after_a_crash_another_worker_replays_without_running_journaled_steps_again(
    make_engine: EngineFactory, clock: Clock
) -> None:
    effects = Effects()
    effects.crash_at = "create_sale"
    first = make_engine([three_steps(effects)], owner="worker-1", lease_s=30)
    instance_id = first.start("quote_to_order", business_key="SO-1002", input={"number": 1002})
    with pytest.raises(Crash):
        await first.run_due()
    first.close()

    second = make_engine([three_steps(effects)], owner="worker-2", lease_s=30)
    assert await second.run_due() == 0, "the dead worker's lease still holds the instance"
    clock.advance(31)
    assert await second.run_due() == 1

    view = second.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert effects.calls == {"check_credit": 1, "create_sale": 2, "confirm_sale": 1}


async def test_starting_again_returns_the_live_instance_and_a_finished_one_unless_restarted(
    make_engine: EngineFactory,
) -> None:
    effects = Effects()
    engine = make_engine([three_steps(effects)])
    first = engine.start("quote_to_order", business_key="SO-1003", input={"number": 1003})
    assert engine.start("quote_to_order", business_key="SO-1003", input={"number": 9}) == first
    await engine.run_due()

    assert engine.start("quote_to_order", business_key="SO-1003", input={"number": 1003}) == first
    again = engine.start("quote_to_order", business_key="SO-1003", input={"number": 1003}, restart_finished=True)
    assert again != first
    assert engine.start("quote_to_order", business_key="SO-1003", restart_finished=True) == again
    found = engine.find("quote_to_order", "SO-1003")
    assert found is not None
    assert found.id == again


async def test_concurrent_starts_for_one_key_make_one_live_instance(make_engine: EngineFactory, store: Store) -> None:
    engines = [make_engine([three_steps(Effects())], owner=f"worker-{n}") for n in range(4)]
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def start(n: int) -> None:
        barrier.wait()
        ids.append(engines[n % 4].start("quote_to_order", business_key="SO-1004", input={"number": 1004}))

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 1
    with store.unit_of_work(read_only=True) as uow:
        assert len(uow.processes.list(business_key="SO-1004")) == 1


async def test_async_starts_share_commits_and_stay_idempotent(make_engine: EngineFactory) -> None:
    engine = make_engine([three_steps(Effects())])
    keys = [f"SO-{n % 20}" for n in range(60)]
    ids = await asyncio.gather(*(engine.start_async("quote_to_order", business_key=key) for key in keys))
    by_key: dict[str, set[str]] = {}
    for key, ident in zip(keys, ids, strict=True):
        by_key.setdefault(key, set()).add(ident)
    assert len(by_key) == 20
    assert all(len(idents) == 1 for idents in by_key.values())
    assert len(set(ids)) == 20


async def test_an_unknown_definition_or_non_json_input_is_refused(make_engine: EngineFactory) -> None:
    engine = make_engine([three_steps(Effects())])
    with pytest.raises(UnknownDefinitionError, match="quote_to_order"):
        engine.start("order_to_cash", business_key="SO-1")
    with pytest.raises(ValueError, match="not JSON"):
        engine.start("quote_to_order", business_key="SO-1", input={"amount": object()})


async def test_an_instance_keeps_its_pinned_version_and_new_ones_take_the_newest(
    make_engine: EngineFactory, clock: Clock
) -> None:
    effects = Effects()

    async def waits_then_finishes(ctx: ProcessContext, order: dict[str, Any]) -> dict[str, Any]:
        await ctx.sleep(timedelta(hours=1))
        return {"version": ctx.definition_version}

    v1 = ProcessDefinition("quote_to_order", 1, waits_then_finishes)
    old = make_engine([v1])
    pinned = old.start("quote_to_order", business_key="SO-1005")
    await old.run_due()

    v2 = three_steps(effects, version=2)
    only_v2 = make_engine([v2], owner="worker-2")
    clock.advance(3600)
    assert await only_v2.run_due() == 0
    view = only_v2.show(pinned)
    assert view is not None
    assert view.state is ProcessState.SLEEPING
    assert view.note is not None
    assert "version 1 is no longer registered" in view.note

    both = make_engine([v1, v2], owner="worker-3")
    newer = both.start("quote_to_order", business_key="SO-1006", input={"number": 1006})
    assert await both.run_due() == 2
    pinned_view, newer_view = both.show(pinned), both.show(newer)
    assert pinned_view is not None
    assert newer_view is not None
    assert pinned_view.result == {"version": 1}
    assert newer_view.version == 2
    assert newer_view.result is not None
    assert newer_view.result["version"] == 2


async def test_a_replay_that_calls_another_step_fails_naming_both(make_engine: EngineFactory, clock: Clock) -> None:
    async def before(ctx: ProcessContext, order: dict[str, Any]) -> None:
        await ctx.step("reserve_stock", Effects().step("reserve_stock"))
        await ctx.sleep(timedelta(minutes=5))

    async def after(ctx: ProcessContext, order: dict[str, Any]) -> None:
        await ctx.step("check_credit", Effects().step("check_credit"))
        await ctx.sleep(timedelta(minutes=5))

    first = make_engine([ProcessDefinition("quote_to_order", 1, before)])
    instance_id = first.start("quote_to_order", business_key="SO-1007")
    await first.run_due()
    changed = make_engine([ProcessDefinition("quote_to_order", 1, after)], owner="worker-2")
    clock.advance(301)
    await changed.run_due()

    view = changed.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.FAILED
    assert view.error is not None
    assert "'reserve_stock'" in view.error
    assert "'check_credit'" in view.error


async def test_now_and_events_between_steps_replay_as_journaled(make_engine: EngineFactory, clock: Clock) -> None:
    seen: list[Any] = []
    effects = Effects()
    effects.crash_at = "second"

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        stamp = ctx.now()
        seen.append(stamp)
        await ctx.step("first", effects.step("first"))
        await ctx.step("second", effects.step("second"))

    first = make_engine([ProcessDefinition("p", 1, run)])
    instance_id = first.start("p", business_key="K-1")
    with pytest.raises(Crash):
        await first.run_due()
    clock.advance(60)
    second = make_engine([ProcessDefinition("p", 1, run)], owner="worker-2")
    await second.run_due()

    assert seen[0] == seen[1]
    view = second.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert [s.name for s in view.steps] == ["now", "first", "second"]
