"""Running one claimed instance: forward from the top with replay, and compensation in reverse when it failed.

Compensations are closures of the process function, so they cannot be stored: after a failure (or a crash during
compensation, or a cancel) the function is replayed once more in *rewind* mode, where journaled operations return
their results and register their compensations, and the first unfinished one stops the replay. Each compensation
is journaled as its own step (`compensate:<name>`, at seq 2 * last - step + 1, so they sort in the order they run),
which makes a crash during compensation resume without undoing anything twice.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from datetime import datetime

from crossdock.observability import tracing
from crossdock.ports.store import (
    BusinessException,
    ExceptionClass,
    ProcessInstance,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
)
from crossdock.process.context import (
    JournalDown,
    LeaseLost,
    NonDeterministic,
    ProcessContext,
    Rewound,
    Run,
    StepFailed,
    Suspended,
    as_json,
    describe,
)
from crossdock.process.definition import Definitions
from crossdock.process.journal import Clock, JournalWriter

logger = logging.getLogger(__name__)
OPERATIONS_QUEUE = "operations"
_THEN = "; then "


class Runner:
    """Runs claimed instances of the registered definitions."""

    def __init__(self, definitions: Definitions, writer: JournalWriter, clock: Clock) -> None:
        self._definitions = definitions
        self._writer = writer
        self._clock = clock
        self.active: dict[str, Run] = {}  # instance id -> its run, for lease renewal

    async def run_instance(self, instance: ProcessInstance, steps: list[ProcessStep]) -> None:
        """Run a claimed instance until it completes, suspends, fails or loses its lease."""
        definition = self._definitions.get(instance.definition, instance.version)
        if definition is None:  # claims only take registered versions; a race with a redeploy ends here
            return
        run = Run(instance, definition, steps, self._writer, self._clock)
        self.active[instance.id] = run
        # Every run of the instance, days apart or on another worker, joins the trace it was started in.
        with tracing.span(
            f"process {instance.definition}",
            parent=tracing.context_from_traceparent(instance.traceparent),
            attributes={
                "crossdock.process.instance_id": instance.id,
                "crossdock.process.definition": instance.definition,
                "crossdock.process.version": instance.version,
                "crossdock.process.resumed_from": instance.state.value,
                tracing.BUSINESS_KEY: instance.business_key,
            },
        ) as current:
            try:
                if instance.state is ProcessState.COMPENSATING:
                    await self._compensate(run)
                else:
                    await self._forward(run)
            except LeaseLost:
                logger.info("process %s: lease lost (taken over or cancelled); run abandoned", instance.id)
            except JournalDown as error:
                tracing.mark_error(current, f"journal write failed: {error}")
                logger.warning(
                    "process %s: journal write failed, run abandoned until the lease expires: %s", instance.id, error
                )
            finally:
                self.active.pop(instance.id, None)

    async def _forward(self, run: Run) -> None:
        ctx = ProcessContext(run)
        try:
            value = await run.definition.run(ctx, copy.deepcopy(run.instance.input))
            result = as_json(value, f"the result of process {run.definition.name}")
        except Suspended:
            return
        except NonDeterministic as halt:
            run.halt = None
            await run.commit([], change=run.change(ProcessState.FAILED, error=str(halt.error)))
            return
        except StepFailed as failed:
            run.halt = None
            await self._fail(run, failed.row, f"step {failed.row.name!r} failed for good: {failed.row.error}")
            return
        except Exception as error:  # noqa: BLE001 - an error outside any step fails the process for good
            run.halt = None
            await self._fail(run, None, f"{run.definition.name} raised {describe(error)} outside any step")
            return
        await run.commit([], change=run.change(ProcessState.COMPLETED, result=result, error=None))

    async def _fail(self, run: Run, failed: ProcessStep | None, message: str) -> None:
        steps = [failed] if failed is not None else []
        if run.definition.on_failure == "hold":
            await run.commit(steps, change=run.change(ProcessState.FAILED, error=message))
            return
        rows = [*run.journal.values(), *steps]
        if not any(row.compensable for row in rows):
            await run.commit(steps, change=run.change(ProcessState.COMPENSATED, error=message))
            return
        # Keep the lease: the compensations run now, in this run. Due at once, so that if this worker dies, the
        # next one takes them up as soon as the lease expires.
        change = run.change(ProcessState.COMPENSATING, wake_at=self._clock(), error=message, release=False)
        await run.commit(steps, change=change)
        await self._compensate(run)

    async def _compensate(self, run: Run) -> None:
        problem = await self._rebuild_compensations(run)
        if problem is not None:
            await self._give_up(run, None, problem)
            return
        forward = [row for row in run.journal.values() if row.kind is not StepKind.COMPENSATION]
        last = max((row.seq for row in forward), default=0)
        for seq in sorted(run.compensations, reverse=True):
            compensation = run.compensations[seq]
            name = f"compensate:{compensation.name}"
            comp_seq = 2 * last - seq + 1
            row = run.journal.get(comp_seq)
            if row is not None and row.status.done:
                continue
            if row is not None and (row.name, row.compensates) != (name, seq):
                problem = (
                    f"the journal holds {row.name!r} at seq {comp_seq} where {name!r} (undoing seq {seq}) belongs; "
                    "the journal was changed by hand or by an older engine"
                )
                await self._give_up(run, None, problem)
                return
            if row is None or row.status is StepStatus.FAILED:
                row = ProcessStep(
                    run.instance.id,
                    comp_seq,
                    name,
                    StepKind.COMPENSATION,
                    StepStatus.STARTED,
                    compensates=seq,
                    started_at=self._clock(),
                )
            try:
                with tracing.span(f"step {name}", attributes={"crossdock.process.seq": comp_seq}):
                    _, events = await run.attempt(comp_seq, compensation.undo, f"the result of {name!r}")
            except Exception as error:  # noqa: BLE001 - classified: retried, waited for, or failed for good
                policy = compensation.retry or run.definition.retry
                try:
                    failed = await run.failed_attempt(row, error, policy, ProcessState.COMPENSATING)
                except Suspended:
                    return
                await self._give_up(run, failed, f"{name} failed for good: {failed.error}")
                return
            done = _finished(row, self._clock())
            await run.commit([done], events=events)
        final = ProcessState.CANCELLED if run.instance.cancel_reason is not None else ProcessState.COMPENSATED
        await run.commit([], change=run.change(final))

    async def _rebuild_compensations(self, run: Run) -> str | None:
        """Replay in rewind mode to collect the compensations; a reason it cannot be trusted, or None."""
        run.rewind()
        try:
            await run.definition.run(ProcessContext(run), copy.deepcopy(run.instance.input))
        except Rewound:
            pass
        except NonDeterministic as halt:
            return str(halt.error)
        except (Suspended, StepFailed):  # cannot happen while rewinding; nothing new runs
            return "the compensation replay tried to run a step; this is a bug in the engine"
        except Exception:  # noqa: BLE001, S110 - the failure that started the compensation, raised again
            pass
        finally:
            run.halt = None
        forward = [row for row in run.journal.values() if row.kind is not StepKind.COMPENSATION]
        missing = [row for row in forward if row.compensable and row.seq not in run.compensations]
        if missing:
            listed = ", ".join(f"{row.name!r} (seq {row.seq})" for row in missing)
            return (
                f"the replay did not register the compensation of {listed}: the code no longer passes "
                "`compensate=` where the journal says it did"
            )
        return None

    async def _give_up(self, run: Run, failed: ProcessStep | None, problem: str) -> None:
        """Compensation failed for good: journal it, and put it in front of a person in one transaction."""
        instance = run.instance
        now = self._clock()
        message = f"compensation failed: {problem}"
        step = failed.name if failed is not None else None
        exception = BusinessException(
            exception_class=ExceptionClass.COMPENSATION_FAILURE,
            reason=(
                f"{instance.definition} {instance.business_key}: {message}. The business transaction is half "
                f"undone: finish the undo by hand and skip it (crossdock processes skip {instance.id}), or fix "
                f"the cause and retry it (crossdock processes retry {instance.id})."
            ),
            owner_queue=OPERATIONS_QUEUE,
            subject=instance.business_key,
            correlation_id=instance.correlation_id,
            details={
                "instance_id": instance.id,
                "definition": instance.definition,
                "version": instance.version,
                "business_key": instance.business_key,
                "step": step,
                "seq": failed.seq if failed is not None else None,
                "error": failed.error if failed is not None else problem,
            },
            dedupe_key=f"process:{instance.id}:compensation:{_stamp(failed, now)}",
        )
        await run.commit(
            [failed] if failed is not None else [],
            change=run.change(ProcessState.COMPENSATION_FAILED, error=_first_error(instance, message)),
            exception=exception,
        )


def _finished(row: ProcessStep, now: datetime) -> ProcessStep:
    """A compensation row that finished."""
    return replace(
        row,
        status=StepStatus.COMPLETED,
        attempts=row.attempts + 1,
        result=None,
        error=None,
        wake_at=None,
        finished_at=now,
    )


def _stamp(failed: ProcessStep | None, now: datetime) -> str:
    moment = failed.finished_at if failed is not None and failed.finished_at is not None else now
    seq = failed.seq if failed is not None else 0
    return f"{seq}:{moment.isoformat()}"


def _first_error(instance: ProcessInstance, message: str) -> str:
    # Keep why the process failed in the first place; the latest compensation failure follows it.
    first = (instance.error or "").split(f"{_THEN}compensation failed")[0]
    return f"{first}{_THEN}{message}" if first else message
