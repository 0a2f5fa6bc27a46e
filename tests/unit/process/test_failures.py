"""Failing steps: durable retries, outages, failures for good, compensation in reverse, and its own failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.store import ExceptionClass, Store
from crossdock.process import (
    ProcessContext,
    ProcessDefinition,
    ProcessState,
    RetryPolicy,
    StepFailedError,
    StepKind,
    StepStatus,
)
from tests.unit.process.conftest import FAST, Clock, Crash, EngineFactory


class Script:
    """Steps that fail as scripted (a list of exceptions per step, consumed in order) and a log of what ran."""

    def __init__(self, failures: dict[str, list[BaseException]] | None = None) -> None:
        self.failures = failures or {}
        self.log: list[str] = []

    def step(self, name: str) -> Any:
        async def effect() -> dict[str, str]:
            self.log.append(name)
            planned = self.failures.get(name)
            if planned:
                raise planned.pop(0)
            return {"done": name}

        return effect

    def undo(self, name: str) -> Any:
        return self.step(f"undo:{name}")


def saga(script: Script, *, on_failure: str = "compensate", retry: RetryPolicy = FAST) -> ProcessDefinition:
    async def run(ctx: ProcessContext, order: dict[str, Any]) -> str:
        await ctx.step("check_credit", script.step("check_credit"))
        await ctx.step("reserve_stock", script.step("reserve_stock"), compensate=script.undo("reserve_stock"))
        await ctx.step("create_sale", script.step("create_sale"), compensate=script.undo("create_sale"))
        await ctx.step("issue_po", script.step("issue_po"), compensate=script.undo("issue_po"))
        return "done"

    return ProcessDefinition("quote_to_order", 1, run, retry=retry, on_failure=on_failure)  # type: ignore[arg-type]


FAST_BACKOFF = [timedelta(seconds=FAST.backoff_s(n)) for n in (1, 2, 3)]


def transient(message: str = "timeout") -> ConnectorError:
    return ConnectorError(ErrorKind.TRANSIENT, message)


async def test_a_transient_error_backs_off_durably_and_the_step_succeeds_later(
    make_engine: EngineFactory, clock: Clock
) -> None:
    script = Script({"create_sale": [transient(), transient()]})
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2001")

    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.RUNNABLE
    retrying = view.steps[2]
    assert (retrying.name, retrying.status, retrying.attempts) == ("create_sale", StepStatus.RETRYING, 1)
    assert view.wake_at == clock.now + FAST_BACKOFF[0]
    assert await engine.run_due() == 0, "not due before the backoff has passed"

    clock.advance(1)
    await engine.run_due()
    clock.advance(2)
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.steps[2].attempts == 3
    assert script.log.count("create_sale") == 3
    assert script.log.count("check_credit") == 1


async def test_a_step_that_keeps_failing_fails_for_good_and_the_started_steps_are_undone_in_reverse(
    make_engine: EngineFactory, clock: Clock
) -> None:
    script = Script({"issue_po": [transient(), transient(), transient()]})
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2002")
    for _ in range(3):
        await engine.run_due()
        clock.advance(10)

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    assert view.error is not None
    assert "issue_po" in view.error
    # The failing step registered its compensation before it ran, so it is undone too (it may have half-happened).
    assert [entry for entry in script.log if entry.startswith("undo:")] == [
        "undo:issue_po",
        "undo:create_sale",
        "undo:reserve_stock",
    ]
    compensations = [s for s in view.steps if s.kind is StepKind.COMPENSATION]
    assert [s.name for s in compensations] == [
        "compensate:issue_po",
        "compensate:create_sale",
        "compensate:reserve_stock",
    ]
    assert all(s.status is StepStatus.COMPLETED for s in compensations)


@pytest.mark.parametrize(
    "error",
    [
        StepFailedError("credit refused"),
        ConnectorError(ErrorKind.DATA_QUALITY, "ship-to has no postal code"),
        ConnectorError(ErrorKind.CONFIGURATION, "the API user may not create sales"),
    ],
)
async def test_errors_no_retry_can_fix_fail_the_step_at_once(make_engine: EngineFactory, error: Exception) -> None:
    script = Script({"create_sale": [error]})
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2003")
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    assert script.log.count("create_sale") == 1
    failed = view.steps[2]
    assert (failed.status, failed.attempts) == (StepStatus.FAILED, 1)
    assert str(error) in (failed.error or "")
    assert script.log[-2:] == ["undo:create_sale", "undo:reserve_stock"]


async def test_an_outage_waits_without_spending_attempts(make_engine: EngineFactory, clock: Clock) -> None:
    outages = [ConnectorError(ErrorKind.DOWNSTREAM_OUTAGE, "ERP down", retry_after_s=120) for _ in range(5)]
    script = Script({"create_sale": outages})
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2004")
    for _ in range(6):
        await engine.run_due()
        view = engine.show(instance_id)
        assert view is not None
        if view.state is ProcessState.COMPLETED:
            break
        assert view.wake_at == clock.now + timedelta(seconds=120), "the system's Retry-After sets the wait"
        clock.advance(120)

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPLETED
    assert view.steps[2].attempts == 1
    assert script.log.count("create_sale") == 6


async def test_a_bug_counts_attempts_then_fails_for_good(make_engine: EngineFactory, clock: Clock) -> None:
    script = Script({"check_credit": [KeyError("terms"), KeyError("terms"), KeyError("terms")]})
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2005")
    for _ in range(3):
        await engine.run_due()
        clock.advance(10)
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED, "nothing was started that needs undoing"
    assert view.steps[0].attempts == 3
    assert "KeyError" in (view.steps[0].error or "")
    assert not [entry for entry in script.log if entry.startswith("undo:")]


async def test_an_error_outside_any_step_fails_the_process_and_compensates(make_engine: EngineFactory) -> None:
    script = Script()

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> None:
        await ctx.step("reserve_stock", script.step("reserve_stock"), compensate=script.undo("reserve_stock"))
        raise ValueError("no ship-to address")

    engine = make_engine([ProcessDefinition("quote_to_order", 1, run)])
    instance_id = engine.start("quote_to_order", business_key="SO-2006")
    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    assert "no ship-to address" in (view.error or "")
    assert script.log == ["reserve_stock", "undo:reserve_stock"]


async def test_a_crash_during_compensation_resumes_without_undoing_anything_twice(
    make_engine: EngineFactory, clock: Clock
) -> None:
    script = Script({"issue_po": [StepFailedError("supplier refused")], "undo:reserve_stock": [Crash()]})
    first = make_engine([saga(script)])
    instance_id = first.start("quote_to_order", business_key="SO-2007")
    with pytest.raises(Crash):
        await first.run_due()
    first.close()

    clock.advance(31)
    second = make_engine([saga(script)], owner="worker-2")
    await second.run_due()

    view = second.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    undone = [entry for entry in script.log if entry.startswith("undo:")]
    assert undone == ["undo:issue_po", "undo:create_sale", "undo:reserve_stock", "undo:reserve_stock"]


async def test_a_compensation_that_fails_for_good_goes_to_a_person(
    make_engine: EngineFactory, store: Store, clock: Clock
) -> None:
    script = Script(
        {"issue_po": [StepFailedError("supplier refused")], "undo:create_sale": [StepFailedError("sale invoiced")]}
    )
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2008", correlation_id="corr-2008")
    await engine.run_due()

    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATION_FAILED
    assert "sale invoiced" in (view.error or "")
    assert "undo:reserve_stock" not in script.log, "compensation stops at the failure: a person decides"
    with store.unit_of_work(read_only=True) as uow:
        exceptions = uow.exceptions.list(exception_class=ExceptionClass.COMPENSATION_FAILURE)
    assert len(exceptions) == 1
    problem = exceptions[0]
    assert problem.owner_queue == "operations"
    assert problem.correlation_id == "corr-2008"
    assert problem.details["instance_id"] == instance_id
    assert problem.details["business_key"] == "SO-2008"
    assert problem.details["step"] == "compensate:create_sale"
    assert "sale invoiced" in problem.details["error"]

    # The person fixed it by hand: skipping the failed compensation lets the rest run.
    engine.skip(instance_id, actor="ops-anna", reason="credit note issued by hand")
    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    assert script.log[-1] == "undo:reserve_stock"


async def test_on_failure_hold_leaves_the_process_failed_for_an_operator(make_engine: EngineFactory) -> None:
    script = Script({"create_sale": [StepFailedError("price missing")]})
    engine = make_engine([saga(script, on_failure="hold")])
    instance_id = engine.start("quote_to_order", business_key="SO-2009")
    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.FAILED
    assert not [entry for entry in script.log if entry.startswith("undo:")]
    assert await engine.run_due() == 0, "a failed process waits for a person"


async def test_a_failed_compensation_can_be_retried_after_a_fix(make_engine: EngineFactory, store: Store) -> None:
    script = Script(
        {"issue_po": [StepFailedError("supplier refused")], "undo:create_sale": [StepFailedError("locked")]}
    )
    engine = make_engine([saga(script)])
    instance_id = engine.start("quote_to_order", business_key="SO-2010")
    await engine.run_due()
    assert engine.show(instance_id).state is ProcessState.COMPENSATION_FAILED  # type: ignore[union-attr]

    engine.retry(instance_id, actor="ops-anna", reason="sale unlocked")
    await engine.run_due()
    view = engine.show(instance_id)
    assert view is not None
    assert view.state is ProcessState.COMPENSATED
    undone = [entry for entry in script.log if entry.startswith("undo:")]
    assert undone == ["undo:issue_po", "undo:create_sale", "undo:create_sale", "undo:reserve_stock"]
    assert "supplier refused" in (view.error or "")
