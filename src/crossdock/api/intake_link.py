"""Order submissions stored by the intake process: the API's side of the link, and the process's serving loop.

Why a process of its own: preparing an order (reading its body, building the canonical order and its event) and
the group commit are Python work, and on a thread they share the interpreter lock with the event loop that
parses, authenticates and answers requests. Measured on two cores, the two took turns: a group of 64 orders took
45 ms to store beside a busy loop against 10 ms alone. In its own process that work runs beside the API, not
between its requests, and the API process keeps its core for answering.

The link is a Unix socket in a directory only this user can open. Frames are a 4-byte big-endian length and a
pickle: `(batch id, [OrderTicket, ...])` one way, `(batch id, [Outcome or error text, ...])` back. Pickle is
safe here because both ends are this code, started by the same `crossdock serve`, behind file permissions; the
link never crosses a machine. A batch is what the API collected in one event-loop turn, at most `FRAME_TICKETS`; the
process prepares each batch as it arrives (`order_submission.SubmissionPreparer`), commits every batch prepared by
the time it is free as one group (`GroupCommit`), and answers each batch.

A 202 still means the order is in the log and in the store: the API answers only after the process said so.
If the process dies, the API fails the submissions it was waiting for with 503 (the client retries with the same
Idempotency-Key and gets the stored answer if the commit had happened), and reconnects once the supervisor in
`bootstrap` has started a new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import operator
import pickle
import queue
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from crossdock.api.order_intake import GroupCommit, Outcome
from crossdock.api.order_submission import ORDER_SUBMITTED, OrderTicket, Submission, SubmissionPreparer
from crossdock.observability.meters import APPENDS, Meters

logger = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
_MAX_FRAME = 512 * 1024 * 1024  # a batch of 1,000 orders of 1 MB each, at most
_MAX_GROUP = 1_000
# A frame goes to the intake process once it holds this many tickets, and at the end of the loop turn with what is
# left. Why not one frame per turn: under load a turn parses 30 to 45 requests, and the intake's committer sat idle
# (10 to 30 ms per group, measured) until the whole turn's frame arrived and was prepared; small frames keep it fed.
FRAME_TICKETS = 8


class IntakeUnavailableError(Exception):
    """The intake process cannot be reached: the submission was not taken (or its answer was lost on the way)."""


class IntakeFailedError(Exception):
    """The intake process could not store one submission (the others of its group were stored)."""


def _frame(payload: object) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


# Tickets and outcomes travel as tuples of their field values: pickling a slots dataclass goes through a
# Python-level `__getstate__` per object, which cost more than storing the order did.
def _fields_of(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function answering an instance's field values in constructor order (attrgetter: a tuple, in C)."""
    fields = dataclasses.fields(cls)
    if len(fields) < 2 or any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} cannot cross the link as a tuple of its constructor's arguments")
    getter: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*(f.name for f in fields))
    return getter


def pack_ticket(ticket: OrderTicket) -> tuple[Any, ...]:
    """A ticket as plain values for the link."""
    return _TICKET_FIELDS(ticket)


def unpack_ticket(packed: tuple[Any, ...]) -> OrderTicket:
    """The ticket `pack_ticket` packed."""
    return OrderTicket(*packed)


_TICKET_FIELDS = _fields_of(OrderTicket)


def pack_outcome(outcome: Outcome) -> tuple[Any, ...]:
    """An outcome as plain values for the link."""
    return _OUTCOME_FIELDS(outcome)


def unpack_outcome(packed: tuple[Any, ...]) -> Outcome:
    """The outcome `pack_outcome` packed."""
    return Outcome(*packed)


_OUTCOME_FIELDS = _fields_of(Outcome)


class RemoteOrderIntake:
    """The API's `OrderIntake` over the link: submissions of one loop turn travel as one batch.

    The intake process appends the orders' events, but the API's `/metrics` is where an operator looks: every
    answer that took a new order (a 202 that is not a replay) is one `order.submitted` appended, counted into
    `meters` as the log would count it in this process.
    """

    def __init__(
        self,
        address: str,
        *,
        connect_timeout_s: float = 10.0,
        on_close: Callable[[], None] | None = None,
        meters: Meters | None = None,
    ) -> None:
        self._address = address
        self._meters = meters
        self._connect_timeout_s = connect_timeout_s
        self._on_close = on_close
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Lock | None = None
        self._turn: list[tuple[OrderTicket, asyncio.Future[Outcome]]] = []
        self._pending: dict[int, list[asyncio.Future[Outcome]]] = {}
        self._batches = itertools.count(1)
        self._closed = False

    async def submit(self, ticket: OrderTicket) -> Outcome:
        """Prepare and store the submission in the intake process; returns once it is committed there."""
        if self._writer is None:
            await self._connect()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._turn.append((ticket, future))
        if len(self._turn) == 1:
            loop.call_soon(self._send_turn)
        elif len(self._turn) >= FRAME_TICKETS:
            self._send_turn()  # the callback above then finds the rest of the turn, or nothing
        return await future

    def close(self) -> None:
        """Close the link and stop the intake process (the supervisor's `on_close`)."""
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._reader_task is not None:
            self._reader_task.cancel()
        self._fail_pending("the API is shutting down")
        if self._on_close is not None:
            self._on_close()

    async def _connect(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is not None:
                return
            if self._closed:
                raise IntakeUnavailableError("the API is shutting down")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._connect_timeout_s
            while True:
                try:
                    reader, writer = await asyncio.open_unix_connection(self._address)
                    break
                except OSError as error:
                    # The supervisor restarts a dead intake process within seconds; wait for it, not forever.
                    if loop.time() >= deadline:
                        raise IntakeUnavailableError(f"the order intake process is not answering ({error})") from None
                    await asyncio.sleep(0.1)
            self._writer = writer
            self._reader_task = loop.create_task(self._read_answers(reader, writer), name="crossdock-intake-answers")

    def _send_turn(self) -> None:
        items, self._turn = self._turn, []
        if not items:
            return
        if self._writer is None:
            for _, future in items:
                if not future.done():
                    future.set_exception(IntakeUnavailableError("the link to the order intake process was lost"))
            return
        batch = next(self._batches)
        self._pending[batch] = [future for _, future in items]
        self._writer.write(_frame((batch, [pack_ticket(ticket) for ticket, _ in items])))

    async def _read_answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                batch, results = pickle.loads(await reader.readexactly(length))  # noqa: S301 - our own process
                taken = 0
                for future, result in zip(self._pending.pop(batch, []), results, strict=False):
                    if isinstance(result, str):
                        if not future.done():
                            future.set_exception(IntakeFailedError(result))
                        continue
                    outcome = unpack_outcome(result)
                    if outcome.status_code == HTTPStatus.ACCEPTED and not outcome.replayed:
                        taken += 1
                    if not future.done():  # its caller went away; the order was taken all the same
                        future.set_result(outcome)
                if taken and self._meters is not None:
                    self._meters.add(APPENDS, (ORDER_SUBMITTED,), taken)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            if not self._closed:
                logger.error(
                    "the link to the order intake process was lost (%s); reconnecting on the next order", error
                )
        finally:
            if self._writer is writer:
                self._writer = None
                with contextlib.suppress(Exception):
                    writer.close()
            self._fail_pending("the order intake process stopped before answering; retry with the same key")

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for futures in pending.values():
            for future in futures:
                if not future.done():
                    future.set_exception(IntakeUnavailableError(reason))


@dataclass(slots=True)
class _Batch:
    connection: socket.socket
    batch: int
    # Each ticket's submission, or why it could not be prepared (a bug: a refused body is a stored refusal).
    prepared: list[Submission | str]

    @property
    def submissions(self) -> list[Submission]:
        return [item for item in self.prepared if not isinstance(item, str)]


def serve_intake(
    listener: socket.socket,
    commit: GroupCommit,
    preparer: SubmissionPreparer,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Answer API processes on `listener` (a bound, listening Unix socket) until `stop` is set. Each link's
    reader prepares the tickets it receives (`SubmissionPreparer`) while the last group is being stored; every
    batch prepared by the time that group is committed is stored as the next group."""
    stop = stop or threading.Event()
    inbox: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
    listener.settimeout(0.5)

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            threading.Thread(
                target=_read_batches, args=(connection, preparer, inbox), name="crossdock-intake-read", daemon=True
            ).start()
        inbox.put(None)

    threading.Thread(target=accept, name="crossdock-intake-accept", daemon=True).start()
    while True:
        first = inbox.get()
        if first is None:
            return
        batches = [first]
        count = len(first.prepared)
        while count < _MAX_GROUP:
            try:
                more = inbox.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stop.set()
                break
            batches.append(more)
            count += len(more.prepared)
        results = iter(commit.settle([submission for batch in batches for submission in batch.submissions]))
        for batch in batches:
            answers: list[tuple[Any, ...] | str] = []
            for item in batch.prepared:
                result = item if isinstance(item, str) else next(results)
                if isinstance(result, Outcome):
                    answers.append(pack_outcome(result))
                elif isinstance(result, str):
                    answers.append(result)
                else:
                    logger.error("an order submission could not be stored: %r", result)
                    answers.append(f"{type(result).__name__}: {result}")
            with contextlib.suppress(OSError):  # the API went away; it retries with the same key
                batch.connection.sendall(_frame((batch.batch, answers)))


def _read_batches(
    connection: socket.socket, preparer: SubmissionPreparer, inbox: queue.SimpleQueue[_Batch | None]
) -> None:
    with connection, connection.makefile("rb") as stream:
        while True:
            head = stream.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                return
            (length,) = _LENGTH.unpack(head)
            if length > _MAX_FRAME:
                logger.error("an API process sent a %d-byte batch; closing its link", length)
                return
            body = stream.read(length)
            if len(body) < length:
                return
            batch, packed = pickle.loads(body)  # noqa: S301 - our own API process, behind file permissions
            inbox.put(_Batch(connection, batch, [_prepared(preparer, ticket) for ticket in packed]))


def _prepared(preparer: SubmissionPreparer, packed: tuple[Any, ...]) -> Submission | str:
    try:
        return preparer.prepare(unpack_ticket(packed))
    except Exception as error:  # goes back to its request as a 500; the batch's other orders go on
        logger.exception("an order submission could not be prepared")
        return f"{type(error).__name__}: {error}"
