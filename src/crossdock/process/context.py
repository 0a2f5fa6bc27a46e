"""What a process function sees: `ctx.step`, `wait_for`, `sleep`, `now` and `emit`, each journaled by call order.

A run replays from the top: an operation whose seq is journaled as done returns the recorded result without running
anything; the first one that is not runs for real and journals its outcome before the function goes on. Suspending
(a wait, a timer, a retry's backoff) ends the run with a journal write; the next run replays up to that point.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson

from crossdock.events.envelope import CloudEvent
from crossdock.observability import tracing
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.store import (
    InstanceChange,
    OutboxEntry,
    ProcessInstance,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
)
from crossdock.process.definition import NonDeterminismError, ProcessDefinition, RetryPolicy, StepFailedError
from crossdock.process.journal import Clock, JournalUnavailableError, JournalWrite, JournalWriter, WaitRequest

T = TypeVar("T")
Undo = Callable[[], Awaitable[None]]
# Outbox event ids are uuid5(instance/seq/index) in this namespace: a replayed emit gets the id it had.
EVENT_NAMESPACE = uuid.UUID("3f9c1d52-8b0e-5a4e-9d6f-6c2b7a1e4d10")
_KEEP: Any = object()


# Control flow of a run. BaseException, so that a process's own `except Exception` cannot swallow them.
class Halt(BaseException):
    """The run ends here; what has to be journaled about it already is (or it must write nothing at all)."""


class Suspended(Halt):
    """The instance waits (a signal, a timer, a retry's backoff); its state is journaled."""


class Rewound(Halt):
    """A compensation replay reached the first operation that did not finish."""


class LeaseLost(Halt):
    """Another worker (or an operator's cancel) took the instance: abandon the run, write nothing more."""


class JournalDown(Halt):
    """The store refused a journal write; the run is abandoned and runs again once the lease expires."""


class NonDeterministic(Halt):
    """The code called a different operation than the journal holds at that seq."""

    def __init__(self, error: NonDeterminismError) -> None:
        super().__init__(str(error))
        self.error = error


class StepFailed(Halt):
    """A step failed for good; `row` (not yet journaled) records it."""

    def __init__(self, row: ProcessStep) -> None:
        super().__init__(row.error or "")
        self.row = row


@dataclass(slots=True)
class Compensation:
    """An undo registered with a step, kept by the step's seq."""

    name: str
    undo: Undo
    retry: RetryPolicy | None


@dataclass(slots=True)
class _RunningStep:
    seq: int
    events: list[OutboxEntry] = field(default_factory=list)


class NotJsonError(StepFailedError, ValueError):
    """A value the journal cannot hold: a step's result fails the step for good; an input or payload is refused."""


def as_json(value: Any, what: str) -> Any:
    """`value` as the journal stores it and every replay returns it; a value JSON cannot hold raises NotJsonError.

    Datetimes, dates, UUIDs and dataclasses become their JSON forms (on the first run too, so replays see the
    same); Decimals, sets, non-string keys and other objects are refused.
    """
    if value is None or type(value) in (str, int, bool):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, ValueError) as error:
        raise NotJsonError(
            f"{what} is not JSON ({error}); use plain dicts, lists, strings, numbers, booleans or None "
            "(money and quantities as strings)"
        ) from error


def describe(error: BaseException) -> str:
    """An error as the journal shows it."""
    if isinstance(error, StepFailedError):
        return error.message
    if isinstance(error, ConnectorError):
        return f"{error.kind.value}: {error}"
    return f"{type(error).__name__}: {error}"


class Run:
    """The state of one run of one instance: its record, its journal, and what is waiting to be written with the
    next journal write (`now` values, timers that ended, events emitted between steps)."""

    def __init__(
        self,
        instance: ProcessInstance,
        definition: ProcessDefinition,
        steps: list[ProcessStep],
        writer: JournalWriter,
        clock: Clock,
    ) -> None:
        self.instance = instance
        self.definition = definition
        self.journal: dict[int, ProcessStep] = {step.seq: step for step in steps}
        self.writer = writer
        self.clock = clock
        self.lost = False
        self.halt: Halt | None = None
        self.rewinding = False
        self.next_seq = 1
        self.pending_steps: list[ProcessStep] = []
        self.pending_events: list[OutboxEntry] = []
        self.emitted: dict[int, int] = {}
        self.running: _RunningStep | None = None
        self.compensations: dict[int, Compensation] = {}

    def rewind(self) -> None:
        """Start a replay that only rebuilds the compensations (see `Rewound`)."""
        self.rewinding = True
        self.halt = None
        self.next_seq = 1
        self.pending_steps, self.pending_events = [], []
        self.emitted, self.compensations = {}, {}

    def stop(self, halt: Halt) -> Halt:
        """Remember why the run ended, so a process that catches it anyway cannot go on."""
        self.halt = halt
        return halt

    def advance(self, name: str, kind: StepKind) -> tuple[int, ProcessStep | None]:
        """The next seq and its journal row; a row of another name or kind is a non-determinism error."""
        if self.halt is not None:
            raise self.halt
        if self.running is not None:
            raise self.stop(
                NonDeterministic(
                    NonDeterminismError(
                        f"{self.definition.name}: {kind.value} {name!r} was called inside step seq "
                        f"{self.running.seq}; a step's function must not call ctx operations"
                    )
                )
            )
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        row = self.journal.get(seq)
        if row is not None and (row.name, row.kind) != (name, kind):
            error = NonDeterminismError(
                f"{self.definition.name} v{self.definition.version}, instance {self.instance.id}: the journal "
                f"holds {row.kind.value} {row.name!r} at seq {seq}, but the code now calls {kind.value} {name!r} "
                f"there. The code changed under a running instance of a pinned version: put the change in a new "
                f"version and keep version {self.definition.version} registered until its instances finish."
            )
            raise self.stop(NonDeterministic(error))
        return seq, row

    def replayed(self) -> None:
        """A journaled row was replayed: what was pending before it was written with it (or before)."""
        self.pending_steps.clear()
        self.pending_events.clear()

    def change(
        self,
        state: ProcessState,
        *,
        wake_at: datetime | None = None,
        wait: tuple[str, str] | None = None,
        result: Any = _KEEP,
        error: Any = _KEEP,
        release: bool = True,
    ) -> InstanceChange:
        """An instance change that keeps the current result and error unless given."""
        return InstanceChange(
            instance_id=self.instance.id,
            state=state,
            wake_at=wake_at,
            wait_type=wait[0] if wait else None,
            wait_key=wait[1] if wait else None,
            result=self.instance.result if result is _KEEP else result,
            error=self.instance.error if error is _KEEP else error,
            release=release,
        )

    async def commit(
        self,
        steps: list[ProcessStep],
        *,
        events: list[OutboxEntry] | None = None,
        change: InstanceChange | None = None,
        wait: WaitRequest | None = None,
        exception: Any = None,
    ) -> tuple[ProcessStep, ...]:
        """Journal `steps` with everything pending, fenced by the lease; return the rows written."""
        if self.lost:
            raise self.stop(LeaseLost())
        write = JournalWrite(
            self.instance.id,
            self.instance.lease_token,
            steps=[*self.pending_steps, *steps],
            outbox=[*self.pending_events, *(events or [])],
            change=change,
            exception=exception,
            wait=wait,
        )
        self.pending_steps, self.pending_events = [], []
        try:
            outcome = await self.writer.write(write)
        except JournalUnavailableError as error:
            raise self.stop(JournalDown(str(error))) from error
        if not outcome.held:
            self.lost = True
            raise self.stop(LeaseLost())
        for row in outcome.steps:
            self.journal[row.seq] = row
        if outcome.change is not None:
            c = outcome.change
            self.instance = replace(
                self.instance,
                state=c.state,
                wake_at=c.wake_at,
                wait_type=c.wait_type,
                wait_key=c.wait_key,
                result=c.result,
                error=c.error,
                owner=None if c.release else self.instance.owner,
            )
        return outcome.steps

    async def attempt(self, seq: int, fn: Callable[[], Awaitable[Any]], what: str) -> tuple[Any, list[OutboxEntry]]:
        """Run a step's function once; return its JSON result and the events it emitted, or raise its error."""
        self.running = _RunningStep(seq)
        try:
            value = await fn()
            return as_json(value, what), self.running.events
        finally:
            self.running = None

    async def failed_attempt(
        self, row: ProcessStep, error: Exception, policy: RetryPolicy, resting: ProcessState
    ) -> ProcessStep:
        """Journal a failed attempt: back off durably and suspend (raises Suspended), or return the row failed
        for good (not yet journaled)."""
        now = self.clock()
        attempts, outages, delay = row.attempts, row.outages, 0.0
        permanent = False
        if isinstance(error, StepFailedError):
            attempts, permanent = attempts + 1, True
        elif isinstance(error, ConnectorError) and error.kind is ErrorKind.DOWNSTREAM_OUTAGE:
            # The system is down: not the step's fault, so wait for it without spending an attempt.
            outages += 1
            delay = error.retry_after_s if error.retry_after_s is not None else policy.backoff_s(outages)
        elif isinstance(error, ConnectorError) and error.kind in (ErrorKind.DATA_QUALITY, ErrorKind.CONFIGURATION):
            attempts, permanent = attempts + 1, True
        else:
            # Transient, or a bug that may be transient (a race, a timeout of our own): retry until the policy
            # gives up.
            attempts += 1
            permanent = attempts >= policy.max_attempts
            if isinstance(error, ConnectorError) and error.retry_after_s is not None:
                delay = error.retry_after_s
            else:
                delay = policy.backoff_s(attempts)
        message = describe(error)
        if permanent:
            return replace(
                row,
                status=StepStatus.FAILED,
                attempts=attempts,
                outages=outages,
                error=message,
                wake_at=None,
                finished_at=now,
            )
        wake_at = now + timedelta(seconds=delay)
        retrying = replace(
            row, status=StepStatus.RETRYING, attempts=attempts, outages=outages, error=message, wake_at=wake_at
        )
        await self.commit([retrying], change=self.change(resting, wake_at=wake_at))
        raise self.stop(Suspended())

    def event_id(self, seq: int) -> str:
        """The deterministic id of the next event emitted for `seq`."""
        index = self.emitted.get(seq, 0)
        self.emitted[seq] = index + 1
        return str(uuid.uuid5(EVENT_NAMESPACE, f"{self.instance.id}/{seq}/{index}"))


class ProcessContext:
    """The handle a process function gets: durable steps, waits, timers, time and events.

    Rules that keep replays right: call ctx operations in the same order on every run (branch only on inputs
    and journaled results), one at a time (no gather over ctx calls), and never from inside a step's function.
    Results, payloads and the input are JSON: what the first run gets is what every replay gets.
    """

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def instance_id(self) -> str:
        """This instance's id."""
        return self._run.instance.id

    @property
    def business_key(self) -> str:
        """The business key the instance was started for (an order number, a PO number)."""
        return self._run.instance.business_key

    @property
    def input(self) -> dict[str, Any]:
        """The input the instance was started with."""
        return self._run.instance.input

    @property
    def definition_version(self) -> int:
        """The definition version this instance is pinned to."""
        return self._run.instance.version

    @property
    def correlation_id(self) -> str | None:
        """The correlation id the instance was started with, for lineage and emitted events."""
        return self._run.instance.correlation_id

    async def step(
        self,
        name: str,
        fn: Callable[[], Awaitable[T]],
        *,
        compensate: Undo | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run `fn` once and journal its JSON result with the events it emitted, or return the journaled result.

        `compensate` is registered (and journaled) before `fn` runs, so a step that crashed half-way is undone
        too. Errors: `StepFailedError` and data-quality or configuration `ConnectorError`s fail the step for
        good; an outage waits without spending attempts; anything else is retried per `retry` (default: the
        definition's policy) with a durable backoff, then fails for good.
        """
        run = self._run
        seq, row = run.advance(name, StepKind.STEP)
        if row is not None:
            run.replayed()
            if row.compensable and compensate is not None:
                run.compensations[seq] = Compensation(name, compensate, retry)
            if row.status.done:
                result: T = row.result
                return result
        if run.rewinding:
            raise run.stop(Rewound())
        if row is not None and row.status is StepStatus.FAILED:
            raise run.stop(StepFailed(row))
        now = run.clock()
        row = row or ProcessStep(run.instance.id, seq, name, StepKind.STEP, StepStatus.STARTED, started_at=now)
        if compensate is not None:
            run.compensations[seq] = Compensation(name, compensate, retry)
            if not row.compensable:
                row = replace(row, compensable=True, status=StepStatus.STARTED)
                await run.commit([row])
        try:
            with tracing.span(
                f"step {name}", attributes={"crossdock.process.seq": seq, "crossdock.process.attempt": row.attempts + 1}
            ):
                value, events = await run.attempt(seq, fn, f"the result of step {name!r}")
        except Exception as error:
            policy = retry or run.definition.retry
            failed = await run.failed_attempt(row, error, policy, ProcessState.RUNNABLE)
            raise run.stop(StepFailed(failed)) from error
        done = ProcessStep(  # built directly, not by replace(): this is the hot path of every step
            row.instance_id,
            seq,
            name,
            StepKind.STEP,
            StepStatus.COMPLETED,
            attempts=row.attempts + 1,
            outages=row.outages,
            result=value,
            compensable=row.compensable,
            started_at=row.started_at,
            finished_at=run.clock(),
        )
        await run.commit([done], events=events)
        completed: T = value
        return completed

    async def wait_for(
        self,
        event_type: str,
        correlation_key: str,
        timeout: timedelta,  # noqa: ASYNC109 - a durable deadline of days, not an in-process timeout
    ) -> dict[str, Any] | None:
        """The payload of the first signal of this type and key (one that arrived earlier counts), or None once
        `timeout` has passed. The instance suspends while it waits; days are fine."""
        run = self._run
        seq, row = run.advance(f"{event_type}@{correlation_key}", StepKind.WAIT)
        if row is not None:
            run.replayed()
            if row.status.done:
                payload: dict[str, Any] | None = row.result
                return payload
        if run.rewinding:
            raise run.stop(Rewound())
        now = run.clock()
        deadline = row.wake_at if row is not None and row.wake_at is not None else now + timeout
        waiting = ProcessStep(
            run.instance.id,
            seq,
            f"{event_type}@{correlation_key}",
            StepKind.WAIT,
            StepStatus.WAITING,
            wake_at=deadline,
            started_at=row.started_at if row is not None else now,
        )
        request = WaitRequest(
            event_type,
            correlation_key,
            deadline,
            waiting,
            run.change(ProcessState.WAITING, wake_at=deadline, wait=(event_type, correlation_key)),
        )
        written = await run.commit([], wait=request)
        settled = written[-1]
        if settled.status is StepStatus.WAITING:
            raise run.stop(Suspended())
        result: dict[str, Any] | None = settled.result
        return result

    async def sleep(self, duration: timedelta) -> None:
        """A durable timer: the instance suspends and wakes after `duration`, across restarts."""
        run = self._run
        seq, row = run.advance("sleep", StepKind.SLEEP)
        if row is not None:
            run.replayed()
            if row.status.done:
                return
        if run.rewinding:
            raise run.stop(Rewound())
        now = run.clock()
        if row is None:
            row = ProcessStep(
                run.instance.id,
                seq,
                "sleep",
                StepKind.SLEEP,
                StepStatus.SLEEPING,
                wake_at=now + duration,
                started_at=now,
            )
            if duration <= timedelta(0):
                run.pending_steps.append(replace(row, status=StepStatus.COMPLETED, finished_at=now))
                return
            await run.commit([row], change=run.change(ProcessState.SLEEPING, wake_at=row.wake_at))
            raise run.stop(Suspended())
        if row.wake_at is None or now >= row.wake_at:
            # Written with the next journal write: a crash before it only means this timer is seen to end again.
            run.pending_steps.append(replace(row, status=StepStatus.COMPLETED, finished_at=now))
            return
        await run.commit([], change=run.change(ProcessState.SLEEPING, wake_at=row.wake_at))
        raise run.stop(Suspended())

    def now(self) -> datetime:
        """The current time, journaled: every replay of this call returns the same value."""
        run = self._run
        seq, row = run.advance("now", StepKind.NOW)
        if row is not None and row.status.done:
            run.replayed()
            return datetime.fromisoformat(row.result)
        value = run.clock()
        if not run.rewinding:
            run.pending_steps.append(
                ProcessStep(
                    run.instance.id,
                    seq,
                    "now",
                    StepKind.NOW,
                    StepStatus.COMPLETED,
                    result=value.isoformat(),
                    started_at=value,
                    finished_at=value,
                )
            )
        return value

    def emit(self, event: CloudEvent) -> CloudEvent:
        """Put an event in the outbox with the running step's result (between steps: with the next journal
        write). Its id is replaced by a deterministic one; the stored event is returned."""
        run = self._run
        if run.halt is not None:
            raise run.halt
        seq = run.running.seq if run.running is not None else run.next_seq
        # Events a step emits carry its trace context, so their consumers continue the order's trace.
        stored = replace(event, id=run.event_id(seq), traceparent=event.traceparent or tracing.current_traceparent())
        entry = OutboxEntry(stored, run.instance.id, seq)
        if run.running is not None:
            run.running.events.append(entry)
        elif not run.rewinding:
            run.pending_events.append(entry)
        return stored
