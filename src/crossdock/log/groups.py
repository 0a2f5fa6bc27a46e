"""The consumer-group algorithm shared by the memory, SQLite and PostgreSQL logs.

A consumer owns partitions through leases kept in storage. For each owned partition it keeps an in-memory read
cursor that runs ahead of the committed position (so it can fetch the next batch before acking the last); a nack
pulls the cursor back and pauses the partition, which is how order per subject survives retries.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from crossdock.events.envelope import CloudEvent
from crossdock.log.storage import GroupView, LogStorage, RetryState, StoredDeadLetter, StoredEvent
from crossdock.ports.event_log import (
    DEFAULT_PARTITIONS,
    AppendResult,
    DeadLetter,
    LoggedEvent,
    NackOutcome,
    partition_for,
)

T = TypeVar("T")
_POLL_INTERVAL_S = 0.02


@dataclass(slots=True)
class _ConsumerState:
    """One consumer's view of one group, between syncs with storage."""

    epoch: int = -1
    owned: set[int] = field(default_factory=set)
    read_after: dict[int, int] = field(default_factory=dict)
    retries: dict[int, RetryState] = field(default_factory=dict)
    redeliveries: dict[int, StoredDeadLetter] = field(default_factory=dict)
    in_flight_dead: dict[tuple[int, int], int] = field(default_factory=dict)  # (part, seq) -> dead letter id
    synced_at: float = 0.0


class PartitionedEventLog:
    """An EventLog over a LogStorage; subclasses decide how storage calls run (inline or on a database thread)."""

    def __init__(self, storage: LogStorage, *, partitions: int = DEFAULT_PARTITIONS, lease_ttl_s: float = 10.0) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        self._storage = storage
        self._partitions = partitions
        self._lease_ttl_s = lease_ttl_s
        self._consumers: dict[tuple[str, str], _ConsumerState] = {}

    @property
    def partitions(self) -> int:
        """How many partitions subjects are hashed into."""
        return self._partitions

    # -- how storage is reached; subclasses override -------------------------------------------------------------

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one storage call."""
        return fn(*args)

    async def _append_rows(self, rows: list[tuple[str, int, bytes]]) -> list[AppendResult]:
        """Append one call's rows (the SQL logs coalesce concurrent calls into one commit here)."""
        [results] = await self._call(self._storage.append, [rows], time.time())
        return results

    # -- producing ------------------------------------------------------------------------------------------------

    async def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Store events durably, in order; return one result per event."""
        if not events:
            return []
        partitions = self._partitions
        rows = [(event.id, partition_for(event.subject, partitions), event.to_json()) for event in events]
        return await self._append_rows(rows)

    # -- consuming ------------------------------------------------------------------------------------------------

    def _state(self, group: str, consumer: str) -> _ConsumerState:
        key = (group, consumer)
        state = self._consumers.get(key)
        if state is None:
            state = self._consumers[key] = _ConsumerState()
        return state

    async def _sync(self, group: str, consumer: str, state: _ConsumerState) -> None:
        now = time.time()
        view: GroupView = await self._call(
            self._storage.sync_group, group, consumer, now, self._lease_ttl_s, self._partitions
        )
        if view.epoch != state.epoch:
            # A replay (seek) moved the group: forget read-ahead and start from the committed positions.
            state.read_after.clear()
            state.in_flight_dead.clear()
            state.epoch = view.epoch
        for part in state.owned - view.owned:
            state.read_after.pop(part, None)
        for part in view.owned - state.owned:
            state.read_after[part] = view.committed.get(part, 0)
        for part in view.owned:
            state.read_after.setdefault(part, view.committed.get(part, 0))
        state.owned = view.owned
        state.retries = view.retries
        state.redeliveries = {
            dead.id: dead for dead in view.redeliveries if (dead.part, dead.seq) not in state.in_flight_dead
        }
        state.synced_at = now

    async def fetch(
        self, group: str, consumer: str, *, max_events: int = 500, wait_s: float = 1.0
    ) -> list[LoggedEvent]:
        """Next events for this consumer of the group, waiting up to `wait_s` when there are none."""
        state = self._state(group, consumer)
        deadline = time.monotonic() + wait_s
        while True:
            if not state.owned or time.time() - state.synced_at > self._lease_ttl_s / 3:
                await self._sync(group, consumer, state)
            events = self._take_redeliveries(state, max_events)
            ready = self._ready_partitions(state)
            # Partitions are rarely even: read a fair share of each, then top the batch up from those that had more,
            # so a consumer gets full batches (targets that take 200 records a call are charged per batch).
            while ready and len(events) < max_events:
                per_part = max(1, (max_events - len(events) + len(ready) - 1) // len(ready))
                rows = await self._call(self._storage.read_partitions, ready, per_part)
                got = self._logged(state, rows, max_events - len(events))
                events.extend(got)
                counts = Counter(row.part for row in rows)
                ready = {part: state.read_after[part] for part in ready if counts[part] == per_part}
                if not got:
                    break
            if events:
                return events
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await asyncio.sleep(min(_POLL_INTERVAL_S, remaining))
            # Poll storage again soon, but re-sync leases only when they need renewing (see the top of the loop).

    def _take_redeliveries(self, state: _ConsumerState, limit: int) -> list[LoggedEvent]:
        taken: list[LoggedEvent] = []
        for dead in list(state.redeliveries.values())[:limit]:
            del state.redeliveries[dead.id]
            state.in_flight_dead[(dead.part, dead.seq)] = dead.id
            taken.append(LoggedEvent(dead.part, dead.seq, CloudEvent.from_json(dead.body), 1))
        return taken

    def _ready_partitions(self, state: _ConsumerState) -> dict[int, int]:
        now = time.time()
        ready: dict[int, int] = {}
        for part in state.owned:
            retry = state.retries.get(part)
            if retry is not None and retry.not_before > now:
                continue
            ready[part] = state.read_after[part]
        return ready

    def _logged(self, state: _ConsumerState, rows: list[StoredEvent], limit: int) -> list[LoggedEvent]:
        rows.sort(key=lambda row: row.seq)
        out: list[LoggedEvent] = []
        for row in rows[:limit]:
            retry = state.retries.get(row.part)
            attempt = retry.attempts + 1 if retry is not None and retry.seq == row.seq else 1
            out.append(LoggedEvent(row.part, row.seq, CloudEvent.from_json(row.body), attempt))
            state.read_after[row.part] = max(state.read_after.get(row.part, 0), row.seq)
        return out

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        """Commit the group's position past these events."""
        state = self._state(group, consumer)
        positions: dict[int, int] = {}
        done_dead: list[int] = []
        for logged in events:
            dead_id = state.in_flight_dead.pop((logged.partition, logged.offset), None)
            if dead_id is not None:
                done_dead.append(dead_id)
                continue
            retry = state.retries.get(logged.partition)
            if retry is not None and logged.offset > retry.seq:
                # Acked past a paused event: committing it would skip the event still waiting for its retry.
                continue
            if logged.offset > positions.get(logged.partition, 0):
                positions[logged.partition] = logged.offset
        for part, seq in positions.items():
            retry = state.retries.get(part)
            if retry is not None and seq >= retry.seq:
                del state.retries[part]
        if positions or done_dead:
            fresh = await self._call(self._storage.commit, group, state.epoch, positions, done_dead)
            if not fresh:
                state.synced_at = 0.0  # a replay moved the group; re-read positions before the next fetch

    async def nack(
        self,
        group: str,
        consumer: str,
        event: LoggedEvent,
        *,
        error: str,
        retry_in_s: float,
        max_attempts: int,
        count_attempt: bool = True,
    ) -> NackOutcome:
        """Retry the event after `retry_in_s`, or dead-letter it once it has had `max_attempts` counted attempts."""
        state = self._state(group, consumer)
        dead_id = state.in_flight_dead.pop((event.partition, event.offset), None)
        if dead_id is not None:
            await self._call(self._storage.return_dead, dead_id, error, time.time())
            return NackOutcome.DEAD_LETTERED
        if count_attempt and event.attempt >= max_attempts:
            await self.dead_letter(group, consumer, event, error=error)
            return NackOutcome.DEAD_LETTERED
        attempts = event.attempt if count_attempt else event.attempt - 1
        retry = RetryState(event.offset, attempts, time.time() + retry_in_s)
        state.retries[event.partition] = retry
        state.read_after[event.partition] = event.offset - 1
        await self._call(self._storage.set_retry, group, event.partition, retry, error)
        return NackOutcome.RETRY

    async def dead_letter(self, group: str, consumer: str, event: LoggedEvent, *, error: str) -> None:
        """Move the event to the dead-letter queue now (a failure that no retry can fix)."""
        state = self._state(group, consumer)
        dead_id = state.in_flight_dead.pop((event.partition, event.offset), None)
        now = time.time()
        if dead_id is not None:
            await self._call(self._storage.return_dead, dead_id, error, now)
            return
        stored = StoredEvent(event.offset, event.partition, now, event.event.to_json())
        await self._call(self._storage.add_dead, group, state.epoch, stored, event.attempt, error, now)
        state.retries.pop(event.partition, None)
        # Events after it that were fetched but not processed come again from here.
        state.read_after[event.partition] = event.offset

    async def release(self, group: str, consumer: str) -> None:
        """Give up this consumer's partitions so others take them at once."""
        self._consumers.pop((group, consumer), None)
        await self._call(self._storage.release, group, consumer)

    # -- inspection and operations -----------------------------------------------------------------------------

    async def read(self, partition: int | None, from_offset: int, limit: int) -> list[LoggedEvent]:
        """Events from `from_offset` on, of one partition or all, without touching any group."""
        rows = await self._call(self._storage.read, partition, from_offset - 1, limit)
        return [LoggedEvent(row.part, row.seq, CloudEvent.from_json(row.body)) for row in rows]

    async def lag(self, group: str) -> dict[int, int]:
        """Events not yet acked by the group, per partition."""
        return await self._call(self._storage.lag, group, self._partitions)

    async def groups(self) -> list[str]:
        """Consumer groups the log knows."""
        return await self._call(self._storage.groups)

    async def seek(self, group: str, *, from_offset: int | None = None, from_time: datetime | None = None) -> None:
        """Replay: the group's next events are those from `from_offset`, or logged at or after `from_time`."""
        if (from_offset is None) == (from_time is None):
            raise ValueError("seek needs exactly one of from_offset or from_time")
        epoch_time = from_time.timestamp() if from_time is not None else None
        await self._call(self._storage.seek, group, self._partitions, from_offset, epoch_time)
        for (state_group, _), state in self._consumers.items():
            if state_group == group:
                state.synced_at = 0.0

    async def dead_letters(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first, of one group or all."""
        rows = await self._call(self._storage.dead_letters, group, limit)
        return [
            DeadLetter(
                id=row.id,
                group=row.group,
                partition=row.part,
                offset=row.seq,
                event=CloudEvent.from_json(row.body),
                attempts=row.attempts,
                error=row.error,
                dead_at=datetime.fromtimestamp(row.dead_at, UTC),
            )
            for row in rows
        ]

    async def redeliver(self, dead_letter_ids: Sequence[int]) -> int:
        """Hand dead letters back to their groups; return how many."""
        count = await self._call(self._storage.redeliver, list(dead_letter_ids))
        for state in self._consumers.values():
            state.synced_at = 0.0
        return count

    async def close(self) -> None:
        """Release every lease this instance holds and close storage."""
        for group, consumer in list(self._consumers):
            await self.release(group, consumer)
        await self._call(self._storage.close)
