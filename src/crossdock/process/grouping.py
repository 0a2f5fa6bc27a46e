"""Work handed over at the end of each event-loop turn and done in groups on one thread: the shape of every group
commit Crossdock runs over its synchronous store (the process journal, the API's order intake).

Jobs submitted in one turn of the loop travel together; whatever else is queued by the time the thread is free
joins them, up to `max_group`. The handler sees the whole group and settles each job's future itself.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _LoopBound(Protocol):
    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...


J = TypeVar("J", bound=_LoopBound)


class TurnGroups(Generic[J]):
    """Collects jobs per event-loop turn and runs `handle(group)` on a thread of its own."""

    def __init__(self, handle: Callable[[list[J]], None], *, name: str, max_group: int) -> None:
        self._handle = handle
        self._name = name
        self._max_group = max_group
        self._queue: queue.SimpleQueue[list[J] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._turn: list[J] = []
        self._lock = threading.Lock()

    def put(self, job: J) -> None:
        """Queue a job; the turn's jobs are handed over together when the loop's turn ends."""
        if self._thread is None:
            self._start()
        self._turn.append(job)
        if len(self._turn) == 1:
            job.loop.call_soon(self._hand_over)

    def close(self) -> None:
        """Finish what is queued and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)

    def _hand_over(self) -> None:
        jobs, self._turn = self._turn, []
        if jobs:
            self._queue.put(jobs)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            jobs = self._queue.get()
            if jobs is None:
                return
            stop = False
            while len(jobs) < self._max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.extend(more)
            self._handle(jobs)
            if stop:
                return
