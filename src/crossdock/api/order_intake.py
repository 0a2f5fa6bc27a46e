"""Order submissions committed in groups: the API's hot path.

Each submission needs its Idempotency-Key checked, its PO checked against orders already taken, its
`order.submitted` event appended to the log, and then its answer and order record stored. Done one request at a
time that is five statements, a log commit and a store commit per order; here the requests that arrive while a
commit is in flight share the next one: one insert per table, one log append for all their events, one commit.

Keys and numbers are not looked up first: nearly every group is all new ones, and the tables' unique keys refuse
one stored already. The rows are inserted before the events are appended, so a refused insert leaves nothing in
the log; the group is then committed again with its keys and numbers looked up (one query each): a key stored
already is a replay of its answer, a number taken is a 409. Two submissions with one key, or one number, in the
same group are told apart in memory either way.

The log append comes before the store commit, inside the store transaction: a 202 is answered only once both
are durable. A crash in between leaves the event in the log and no answer stored; the client's retry finds no
answer, appends the same event again (its id comes from the order, so the log keeps one) and stores the answer.

If the checked commit fails too (another process stored one of the keys or numbers between our check and our
insert), each submission is tried again in a transaction of its own, where the check sees what the other process
stored.

`GroupCommit` does that work; it runs on a writer thread here (`OrderIntakeWriter`) or in the intake process
that `crossdock serve` starts (`api.intake_link`, `cli/intake_process.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from crossdock.events.envelope import CloudEvent
from crossdock.ports.api import ApiOrderRecord, IdempotencyRecord
from crossdock.ports.event_log import EventAppender, EventLog
from crossdock.ports.store import Store, UnitOfWork
from crossdock.process.grouping import TurnGroups

if TYPE_CHECKING:  # the preparer's module reaches back here through the API context
    from crossdock.api.order_submission import OrderTicket, Submission, SubmissionPreparer

logger = logging.getLogger(__name__)
_MAX_GROUP = 1_000


class OrderIntake(Protocol):
    """Where the API hands order submissions: a writer thread here, or the intake process."""

    async def submit(self, ticket: OrderTicket) -> Outcome:
        """Prepare and store the submission (or find its earlier answer); returns once that is committed."""
        ...

    def close(self) -> None:
        """Stop taking submissions; what is queued is finished."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to answer: the stored answer's status, body and headers, the hash of the request it first answered,
    and whether it is a replay. Only what the API answers with: outcomes cross back from the intake process."""

    status_code: int
    body: bytes
    headers: dict[str, str]
    request_hash: str
    replayed: bool

    @classmethod
    def of(cls, answer: IdempotencyRecord, *, replayed: bool) -> Outcome:
        """The outcome of a stored answer."""
        return cls(answer.status_code, answer.body, dict(answer.headers), answer.request_hash, replayed)


@dataclass(slots=True)
class _Job:
    submission: Submission
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome] = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()


class GroupCommit:
    """Stores a group of submissions in one store transaction with one log append; used by the writer thread
    here and by the intake process."""

    def __init__(
        self,
        store: Store,
        log: EventLog,
        *,
        clock: Callable[[], datetime],
        append_timeout_s: float = 60.0,
        appender: EventAppender | None = None,
    ) -> None:
        self._store = store
        self._log = log
        # The intake process's committer appends on its own thread (`EventAppender`); a writer thread beside the
        # API's loop goes through the log.
        self._appender = appender
        self._append_timeout_s = append_timeout_s
        self._clock = clock

    def settle(
        self, submissions: list[Submission], loop: asyncio.AbstractEventLoop | None = None
    ) -> list[Outcome | Exception]:
        """Each submission's outcome, or the error that kept it from being stored (the others are stored)."""
        try:
            # Nearly every group is all new keys and new PO numbers: insert without looking them up first. A key or
            # number stored already fails the insert, before anything is appended, and the group is checked.
            return list(self._commit(submissions, loop, checked=False))
        except Exception:  # noqa: BLE001, S110 - whatever failed, the checked commit below tells what it was
            pass
        try:
            return list(self._commit(submissions, loop, checked=True))
        except Exception:  # noqa: BLE001 - one bad submission must not fail the others: try each alone
            results: list[Outcome | Exception] = []
            for submission in submissions:
                try:
                    results.extend(self._commit([submission], loop, checked=True))
                except Exception as error:  # noqa: BLE001 - goes back to its request as a 500 with a log line
                    results.append(error)
            return results

    def _commit(
        self, submissions: list[Submission], loop: asyncio.AbstractEventLoop | None, *, checked: bool
    ) -> list[Outcome]:
        with self._store.unit_of_work() as uow:
            outcomes = self._apply(uow, submissions, loop, checked=checked)
            uow.commit()
        return outcomes

    def _append(self, events: list[CloudEvent], loop: asyncio.AbstractEventLoop | None) -> None:
        if self._appender is not None:
            self._appender.append(events)
            return
        # SQL logs take appends from any thread (`append_blocking`); going through the requests' event loop instead
        # made a group wait for a busy loop to run the append (40 ms of a 60 ms group at 128 connections).
        blocking = getattr(self._log, "append_blocking", None)
        if blocking is not None:
            blocking(events, timeout_s=self._append_timeout_s)
            return
        if loop is None:
            raise RuntimeError("this event log takes appends on its event loop only; use the writer thread")
        asyncio.run_coroutine_threadsafe(self._log.append(events), loop).result(timeout=self._append_timeout_s)

    def _apply(
        self, uow: UnitOfWork, submissions: list[Submission], loop: asyncio.AbstractEventLoop | None, *, checked: bool
    ) -> list[Outcome]:
        stored: dict[tuple[str, str], IdempotencyRecord] = {}
        taken: dict[str, ApiOrderRecord] = {}
        if checked:
            now = self._clock()
            keys = [(s.answer.client_id, s.answer.key) for s in submissions]
            uow.api.purge_idempotent(now=now, keys=keys)  # a key whose answer expired is free again
            stored = uow.api.get_idempotent_many(keys, now=now)
            taken = uow.api.find_orders([s.order.number for s in submissions if s.order is not None])
        answers: list[IdempotencyRecord] = []
        orders: list[ApiOrderRecord] = []
        events: list[CloudEvent] = []
        outcomes: list[Outcome] = []
        for submission in submissions:
            key = (submission.answer.client_id, submission.answer.key)
            earlier = stored.get(key)
            if earlier is not None:
                outcomes.append(Outcome.of(earlier, replayed=True))
                continue
            order, answer = submission.order, submission.answer
            if order is not None:
                existing = taken.get(order.number)
                if existing is not None and submission.conflict is not None:
                    answer = submission.conflict.answer(existing)
                else:
                    orders.append(order)
                    if submission.event is not None:
                        events.append(submission.event)
                    taken[order.number] = order
            answers.append(answer)
            stored[key] = answer  # the same key twice in one group: the second is a replay of the first
            outcomes.append(Outcome.of(answer, replayed=False))
        # Inserted first: a key or number another writer stored fails here, before its event is in the log. The
        # store commits after the append, so a stored answer always has its event in the log.
        uow.api.add_submissions(answers, orders)
        if events:
            self._append(events, loop)
        return outcomes


class OrderIntakeWriter:
    """One thread that stores order submissions in groups, one commit per group; the submissions are prepared on
    the API's loop (with the lock shared, a thread would not take that work off it)."""

    def __init__(
        self,
        store: Store,
        log: EventLog,
        preparer: SubmissionPreparer,
        *,
        clock: Callable[[], datetime],
        name: str = "crossdock-api-orders",
        append_timeout_s: float = 60.0,
    ) -> None:
        self._preparer = preparer
        self._group = GroupCommit(store, log, clock=clock, append_timeout_s=append_timeout_s)
        self._groups: TurnGroups[_Job] = TurnGroups(self._settle, name=name, max_group=_MAX_GROUP)

    async def submit(self, ticket: OrderTicket) -> Outcome:
        """Prepare and store the submission (or find its earlier answer); returns once that is committed."""
        job = _Job(self._preparer.prepare(ticket), asyncio.get_running_loop())
        self._groups.put(job)
        return await job.future

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        self._groups.close()

    def _settle(self, jobs: list[_Job]) -> None:
        results = self._group.settle([job.submission for job in jobs], jobs[0].loop)
        for job, result in zip(jobs, results, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, result)


def _resolve(future: asyncio.Future[Outcome], result: Outcome | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
