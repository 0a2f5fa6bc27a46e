"""Runs a SqlLogStorage on one database thread and coalesces concurrent appends into one commit.

Why a thread of its own: SQLite and psycopg connections must not be shared between threads, and a single writer
lets appends that arrive while a commit is in flight ride together in the next one (group commit), which is what
makes full-durability appends fast when every commit waits for fsync.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crossdock.events.envelope import CloudEvent
from crossdock.log.groups import PartitionedEventLog
from crossdock.log.sql_storage import SqlLogStorage
from crossdock.ports.event_log import AppendResult, EventLogError, partition_for

T = TypeVar("T")
_MAX_GROUP_EVENTS = 20_000


@dataclass(slots=True)
class _Job:
    future: concurrent.futures.Future[Any]
    call: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    rows: list[tuple[str, int, bytes]] = field(default_factory=list)


class _DatabaseThread:
    """A thread that owns the storage and its connection; jobs run in submission order."""

    def __init__(self, open_storage: Callable[[], SqlLogStorage], name: str) -> None:
        self._open_storage = open_storage
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ready: concurrent.futures.Future[SqlLogStorage] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> SqlLogStorage:
        """Start the thread and wait until its storage is open (schema created)."""
        self._thread.start()
        return self._ready.result()

    def submit(self, call: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run `call(*args)` on the database thread."""
        job = _Job(concurrent.futures.Future(), call, args)
        self._jobs.put(job)
        return job.future

    def submit_append(self, rows: list[tuple[str, int, bytes]]) -> concurrent.futures.Future[list[AppendResult]]:
        """Append rows, in a commit shared with whatever other appends are waiting."""
        job = _Job(concurrent.futures.Future(), rows=rows)
        self._jobs.put(job)
        return job.future

    def stop(self) -> None:
        """Finish queued jobs, close the connection and end the thread."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            storage = self._open_storage()
        except BaseException as exc:  # noqa: BLE001 - handed to the opener, which raises it
            self._ready.set_exception(exc)
            return
        self._ready.set_result(storage)
        held: deque[_Job | None] = deque()
        while True:
            job = held.popleft() if held else self._jobs.get()
            if job is None:
                storage.close()
                return
            if job.call is not None:
                self._run_call(job)
                continue
            group = [job]
            size = len(job.rows)
            while size < _MAX_GROUP_EVENTS:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None or more.call is not None:
                    held.append(more)
                    break
                group.append(more)
                size += len(more.rows)
            self._run_appends(storage, group)

    @staticmethod
    def _run_call(job: _Job) -> None:
        assert job.call is not None
        try:
            job.future.set_result(job.call(*job.args))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the awaiting caller
            job.future.set_exception(exc)

    @staticmethod
    def _run_appends(storage: SqlLogStorage, group: list[_Job]) -> None:
        try:
            results = storage.append([job.rows for job in group], time.time())
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the awaiting callers
            for job in group:
                job.future.set_exception(exc)
            return
        for job, result in zip(group, results, strict=True):
            job.future.set_result(result)


class ThreadedSqlEventLog(PartitionedEventLog):
    """A PartitionedEventLog whose SqlLogStorage lives on a database thread; call `open()` before use."""

    def __init__(
        self, open_storage: Callable[[], SqlLogStorage], *, name: str, partitions: int, lease_ttl_s: float
    ) -> None:
        self._thread = _DatabaseThread(open_storage, name)
        self._open_storage = open_storage
        self._opened = False
        self._name = name
        self._partitions_wanted = partitions
        self._lease_ttl_wanted = lease_ttl_s

    async def open(self) -> None:
        """Connect and create the log's tables if they are missing."""
        if self._opened:
            return
        storage = await asyncio.to_thread(self._thread.start)
        super().__init__(storage, partitions=self._partitions_wanted, lease_ttl_s=self._lease_ttl_wanted)
        self._opened = True

    def _require_open(self) -> None:
        if not self._opened:
            raise EventLogError(f"{self._name} is not open yet. Did you forget to await log.open()?")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self._require_open()
        return await asyncio.wrap_future(self._thread.submit(fn, *args))

    async def _append_rows(self, rows: list[tuple[str, int, bytes]]) -> list[AppendResult]:
        self._require_open()
        return await asyncio.wrap_future(self._thread.submit_append(rows))

    def append_blocking(self, events: Sequence[CloudEvent], timeout_s: float | None = None) -> list[AppendResult]:
        """`append` for a thread that is not the event loop's: waits on the database thread directly, so a busy
        event loop does not sit between the caller and the commit (the API's order writer appends this way)."""
        self._require_open()
        if not events:
            return []
        return self._thread.submit_append(_rows(events, self._partitions)).result(timeout=timeout_s)

    def direct_appender(self) -> DirectAppender:
        """An appender with a connection of its own, for one thread that appends and waits for each append (the
        order intake's committer); see `DirectAppender`."""
        self._require_open()
        return DirectAppender(self._open_storage, self._partitions)

    async def close(self) -> None:
        """Release leases, then close the connection and stop the thread."""
        if not self._opened:
            return
        for group, consumer in list(self._consumers):
            await self.release(group, consumer)
        await asyncio.to_thread(self._thread.stop)
        self._opened = False


class DirectAppender:
    """Appends on the calling thread, over a connection of its own opened by the first append; one thread at a time.

    Why: `append_blocking` hands the rows to the database thread and waits for it, two thread wake-ups per commit.
    The order intake's committer appends once per group and waits anyway, and on two busy cores each wake-up waited
    for a CPU: its groups took about a fifth longer than with the append run on its own thread. Appends from here and
    from the log's thread are serialised by the database (BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL),
    as two processes' appends are.
    """

    def __init__(self, open_storage: Callable[[], SqlLogStorage], partitions: int) -> None:
        self._open_storage = open_storage
        self._partitions = partitions
        self._storage: SqlLogStorage | None = None

    def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Append the events in one transaction (ids already logged are skipped); returns once it is committed."""
        if not events:
            return []
        if self._storage is None:
            self._storage = self._open_storage()
        return self._storage.append([_rows(events, self._partitions)], time.time())[0]

    def close(self) -> None:
        """Close the connection, if one was opened."""
        storage, self._storage = self._storage, None
        if storage is not None:
            storage.close()


def _rows(events: Sequence[CloudEvent], partitions: int) -> list[tuple[str, int, bytes]]:
    """The storage's rows for events: id, partition, structured-mode JSON."""
    return [(event.id, partition_for(event.subject, partitions), event.to_json()) for event in events]
