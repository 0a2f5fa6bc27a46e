"""The journal writer: one thread that owns the engine's store work and commits journal writes in groups.

Why a thread: the store is synchronous SQLAlchemy, which would block the event loop, and SQLite wants one writer.
Why groups: at full durability every commit waits for fsync, so the writes that running instances hand over in one
event-loop turn, plus whatever arrives while a commit is in flight, share the next transaction (group commit, as
`crossdock.log.threaded` does for appends). Every journal write is fenced: it commits only while its instance's
lease token is still the one its worker claimed with; a write that lost its lease writes nothing and says so.
If a group fails, each job is tried again in a transaction of its own, so one bad write fails only its own waiter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from crossdock.ports.store import (
    BusinessException,
    InstanceChange,
    OutboxEntry,
    ProcessStep,
    StepStatus,
    Store,
    UnitOfWork,
)
from crossdock.process.grouping import TurnGroups

T = TypeVar("T")
Clock = Callable[[], datetime]
logger = logging.getLogger(__name__)
_MAX_GROUP_JOBS = 2_000


@dataclass(frozen=True, slots=True)
class WaitRequest:
    """A wait_for that has no journaled answer yet; the writer settles it inside the fenced transaction:
    a matching signal completes `row`, a passed deadline times it out, otherwise `row` and `waiting` are
    written and the instance suspends. Deciding in the same transaction as the signal insert of `deliver`
    cannot race with it."""

    event_type: str
    correlation_key: str
    deadline: datetime
    row: ProcessStep
    waiting: InstanceChange


@dataclass(slots=True)
class JournalWrite:
    """What one instance commits at once: journal rows, outbox events, a state change, a business exception."""

    instance_id: str
    lease_token: int
    steps: list[ProcessStep] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)
    change: InstanceChange | None = None
    exception: BusinessException | None = None
    wait: WaitRequest | None = None

    @property
    def renews(self) -> bool:
        """A write with nothing to write renews the lease (while a long step runs)."""
        return not (self.steps or self.outbox or self.change or self.exception or self.wait)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """How a journal write ended: `held` False means the lease was lost and nothing was written."""

    held: bool
    steps: tuple[ProcessStep, ...] = ()
    change: InstanceChange | None = None


@dataclass(slots=True)
class _Job:
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    write: JournalWrite | None = None
    call: Callable[[UnitOfWork], Any] | None = None


class JournalUnavailableError(RuntimeError):
    """The store refused a journal write (down, locked, full); the run is abandoned and retried after its lease."""


class JournalWriter:
    """Runs store work on one thread: journal writes and calls submitted together commit together."""

    def __init__(self, store: Store, *, lease_s: float, clock: Clock, name: str = "crossdock-process-journal") -> None:
        self._store = store
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock
        self._groups: TurnGroups[_Job] = TurnGroups(self._handle, name=name, max_group=_MAX_GROUP_JOBS)

    async def write(self, write: JournalWrite) -> WriteOutcome:
        """Commit a fenced journal write with whatever else is waiting; see WriteOutcome."""
        outcome: WriteOutcome = await self._submit(_Job(self._new_future(), asyncio.get_running_loop(), write=write))
        return outcome

    async def call(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn(uow)` on the writer thread inside the next group's transaction, and return what it returns."""
        result: T = await self._submit(_Job(self._new_future(), asyncio.get_running_loop(), call=fn))
        return result

    def close(self) -> None:
        """Finish queued work and stop the thread."""
        self._groups.close()

    # --- the event loop's side: collect one turn's jobs, hand them over at the end of the turn ---

    @staticmethod
    def _new_future() -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    def _submit(self, job: _Job) -> asyncio.Future[Any]:
        self._groups.put(job)
        return job.future

    # --- the writer thread ---

    def _handle(self, jobs: list[_Job]) -> None:
        # Journal writes first, in a commit of their own whose results go back at once: a claim or a relay's read
        # in the same group would only make the steps wait longer.
        for part in ([job for job in jobs if job.write is not None], [job for job in jobs if job.write is None]):
            if part:
                self._deliver(part, self._execute_safely(part))

    def _execute_safely(self, jobs: list[_Job]) -> list[tuple[bool, Any]]:
        try:
            return self._execute(jobs)
        except BaseException as error:  # noqa: BLE001 - the thread must outlive any failure, or writes would hang
            return [(False, error) for _ in jobs]

    @staticmethod
    def _deliver(jobs: list[_Job], results: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, tuple[bool, Any]]]] = {}
        for job, result in zip(jobs, results, strict=True):
            by_loop.setdefault(job.loop, []).append((job, result))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop closed (its caller gave up); nobody is waiting any more
                logger.debug("dropped %d journal results for a closed event loop", len(settled))

    def _execute(self, jobs: list[_Job]) -> list[tuple[bool, Any]]:
        try:
            with self._store.unit_of_work() as uow:
                results = self._apply(uow, jobs)
                uow.commit()
            return [(True, result) for result in results]
        except BaseException as error:  # noqa: BLE001 - every failure goes back to the awaiting callers
            if len(jobs) == 1:
                return [(False, _journal_error(error, jobs[0]))]
            return [self._execute([job])[0] for job in jobs]

    def _apply(self, uow: UnitOfWork, jobs: list[_Job]) -> list[Any]:
        now = self._clock()
        writes = [job.write for job in jobs if job.write is not None]
        held: set[str] = set()
        if writes:
            # Journal writes only check their lease; renewals (writes with nothing to write) extend it. Checking
            # writes no page, so a group's commit carries only the journal rows.
            checks = {w.instance_id: w.lease_token for w in writes if not w.renews}
            renewals = {w.instance_id: w.lease_token for w in writes if w.renews}
            held = uow.processes.fence(checks, lease_until=None, now=now)
            held |= uow.processes.fence(renewals, lease_until=now + self._lease, now=now)
        rows: dict[tuple[str, int], ProcessStep] = {}
        changes: list[InstanceChange] = []
        events: list[OutboxEntry] = []
        results: list[Any] = []
        for job in jobs:
            write = job.write
            if write is None:
                continue
            if write.instance_id not in held:
                results.append(WriteOutcome(held=False))
                continue
            steps, change = list(write.steps), write.change
            if write.wait is not None:
                settled, change = self._settle_wait(uow, write.instance_id, write.wait, now)
                steps.append(settled)
            for step in steps:
                rows[(step.instance_id, step.seq)] = step
            if change is not None:
                changes.append(change)
            events.extend(write.outbox)
            if write.exception is not None:
                uow.exceptions.raise_exception(write.exception)
            results.append(WriteOutcome(held=True, steps=tuple(steps), change=change))
        uow.processes.save_steps(list(rows.values()))
        uow.processes.change(changes, now=now)
        uow.outbox.add(events)
        # Calls run after the journal rows, in submission order; their results slot in among the writes'.
        ordered: list[Any] = []
        write_results = iter(results)
        for job in jobs:
            if job.call is not None:
                ordered.append(job.call(uow))
            else:
                ordered.append(next(write_results))
        return ordered

    @staticmethod
    def _settle_wait(
        uow: UnitOfWork, instance_id: str, wait: WaitRequest, now: datetime
    ) -> tuple[ProcessStep, InstanceChange | None]:
        signal = uow.processes.take_signal(
            wait.event_type, wait.correlation_key, instance_id=instance_id, seq=wait.row.seq, now=now
        )
        if signal is not None:
            row = replace(wait.row, status=StepStatus.COMPLETED, result=signal.payload, finished_at=now)
            return row, None
        if now >= wait.deadline:
            return replace(wait.row, status=StepStatus.TIMED_OUT, result=None, finished_at=now), None
        return wait.row, wait.waiting


def _settle(settled: list[tuple[_Job, tuple[bool, Any]]]) -> None:
    for job, (ok, value) in settled:
        if job.future.done():  # the awaiting task was cancelled
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


def _journal_error(error: BaseException, job: _Job) -> BaseException:
    # A journal write's store failure is not the process's fault: the runner abandons the run (the lease
    # expires and the instance runs again), so it must not look like an error of the process's own code.
    if job.write is not None and isinstance(error, Exception):
        unavailable = JournalUnavailableError(f"the store refused a journal write: {error!r}")
        unavailable.__cause__ = error
        return unavailable
    return error
