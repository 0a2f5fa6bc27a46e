"""The in-memory EventLog: the same consumer-group algorithm over Python dicts, for unit tests of the core.

Several `MemoryEventLog` instances over one `MemoryLogState` behave like several processes over one database.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from crossdock.log.groups import PartitionedEventLog
from crossdock.log.storage import GroupView, RetryState, StoredDeadLetter, StoredEvent
from crossdock.ports.event_log import DEFAULT_PARTITIONS, AppendResult


@dataclass(slots=True)
class _Lease:
    consumer: str
    expires: float


@dataclass(slots=True)
class _Dead:
    row: StoredDeadLetter
    status: str  # dead | redeliver | done


@dataclass
class MemoryLogState:
    """Everything a log stores: events, positions, leases, retries and dead letters."""

    events: list[StoredEvent] = field(default_factory=list)
    by_part: dict[int, list[StoredEvent]] = field(default_factory=dict)
    ids: dict[str, StoredEvent] = field(default_factory=dict)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    epochs: dict[str, int] = field(default_factory=dict)
    leases: dict[tuple[str, int], _Lease] = field(default_factory=dict)
    members: dict[tuple[str, str], float] = field(default_factory=dict)
    retries: dict[tuple[str, int], RetryState] = field(default_factory=dict)
    dead: dict[int, _Dead] = field(default_factory=dict)


class MemoryLogStorage:
    """LogStorage over a MemoryLogState."""

    def __init__(self, state: MemoryLogState) -> None:
        self._s = state

    def append(self, batches: Sequence[Sequence[tuple[str, int, bytes]]], now: float) -> list[list[AppendResult]]:
        """Store rows, skipping known ids."""
        out: list[list[AppendResult]] = []
        for rows in batches:
            results: list[AppendResult] = []
            for event_id, part, body in rows:
                known = self._s.ids.get(event_id)
                if known is not None:
                    results.append(AppendResult(event_id, known.part, known.seq, duplicate=True))
                    continue
                stored = StoredEvent(len(self._s.events) + 1, part, now, body)
                self._s.events.append(stored)
                self._s.by_part.setdefault(part, []).append(stored)
                self._s.ids[event_id] = stored
                results.append(AppendResult(event_id, part, stored.seq))
            out.append(results)
        return out

    def read(self, part: int | None, after_seq: int, limit: int) -> list[StoredEvent]:
        """Events after an offset."""
        rows = self._s.events if part is None else self._s.by_part.get(part, [])
        return self._after(rows, after_seq)[:limit]

    @staticmethod
    def _after(rows: list[StoredEvent], after_seq: int) -> list[StoredEvent]:
        start = bisect.bisect_right(rows, after_seq, key=lambda row: row.seq)
        return rows[start:]

    def read_partitions(self, after: dict[int, int], limit_per_part: int) -> list[StoredEvent]:
        """Events after each partition's offset."""
        out: list[StoredEvent] = []
        for part, seq in after.items():
            out.extend(self._after(self._s.by_part.get(part, []), seq)[:limit_per_part])
        return out

    def sync_group(self, group: str, consumer: str, now: float, ttl: float, partitions: int) -> GroupView:
        """Heartbeat, take a fair share of partitions, report positions."""
        s = self._s
        s.epochs.setdefault(group, 0)
        s.members[(group, consumer)] = now
        live = sum(1 for (g, _), beat in s.members.items() if g == group and beat >= now - ttl)
        share = math.ceil(partitions / max(live, 1))
        owned = sorted(p for p in range(partitions) if self._holds(group, p, consumer, now))
        for part in owned[share:]:
            del s.leases[(group, part)]
        owned = owned[:share]
        for part in range(partitions):
            if len(owned) >= share:
                break
            lease = s.leases.get((group, part))
            if lease is None or lease.expires < now:
                owned.append(part)
        for part in owned:
            s.leases[(group, part)] = _Lease(consumer, now + ttl)
            s.positions.setdefault((group, part), 0)
        owned_set = set(owned)
        return GroupView(
            owned=owned_set,
            committed={p: s.positions[(group, p)] for p in owned_set},
            epoch=s.epochs[group],
            retries={p: r for (g, p), r in s.retries.items() if g == group and p in owned_set},
            redeliveries=[
                d.row
                for d in s.dead.values()
                if d.status == "redeliver" and d.row.group == group and d.row.part in owned_set
            ],
        )

    def _holds(self, group: str, part: int, consumer: str, now: float) -> bool:
        lease = self._s.leases.get((group, part))
        return lease is not None and lease.consumer == consumer and lease.expires >= now

    def commit(self, group: str, epoch: int, positions: dict[int, int], done_dead: Sequence[int]) -> bool:
        """Advance positions unless a seek bumped the epoch."""
        s = self._s
        for dead_id in done_dead:
            if dead_id in s.dead:
                s.dead[dead_id].status = "done"
        if s.epochs.get(group, 0) != epoch:
            return False
        for part, seq in positions.items():
            key = (group, part)
            s.positions[key] = max(s.positions.get(key, 0), seq)
            retry = s.retries.get(key)
            if retry is not None and retry.seq <= seq:
                del s.retries[key]
        return True

    def set_retry(self, group: str, part: int, retry: RetryState, error: str) -> None:
        """Pause a partition on its head event."""
        self._s.retries[(group, part)] = retry

    def add_dead(self, group: str, epoch: int, event: StoredEvent, attempts: int, error: str, now: float) -> None:
        """Dead-letter an event and move past it."""
        s = self._s
        dead_id = len(s.dead) + 1
        s.dead[dead_id] = _Dead(
            StoredDeadLetter(dead_id, group, event.part, event.seq, event.body, attempts, error, now), "dead"
        )
        s.retries.pop((group, event.part), None)
        if s.epochs.get(group, 0) == epoch:
            key = (group, event.part)
            s.positions[key] = max(s.positions.get(key, 0), event.seq)

    def return_dead(self, dead_id: int, error: str, now: float) -> None:
        """Back to the dead-letter queue with the new error."""
        dead = self._s.dead[dead_id]
        old = dead.row
        dead.row = StoredDeadLetter(old.id, old.group, old.part, old.seq, old.body, old.attempts + 1, error, now)
        dead.status = "dead"

    def release(self, group: str, consumer: str) -> None:
        """Drop leases and membership."""
        s = self._s
        for key, lease in list(s.leases.items()):
            if key[0] == group and lease.consumer == consumer:
                del s.leases[key]
        s.members.pop((group, consumer), None)

    def lag(self, group: str, partitions: int) -> dict[int, int]:
        """Events after the position, per partition."""
        return {
            part: len(self._after(self._s.by_part.get(part, []), self._s.positions.get((group, part), 0)))
            for part in range(partitions)
        }

    def groups(self) -> list[str]:
        """Known groups."""
        return sorted(self._s.epochs)

    def seek(self, group: str, partitions: int, from_seq: int | None, from_time: float | None) -> None:
        """Move every partition's position."""
        s = self._s
        if from_seq is None:
            after = [e.seq for e in s.events if e.logged_at >= (from_time or 0.0)]
            from_seq = after[0] if after else len(s.events) + 1
        for part in range(partitions):
            s.positions[(group, part)] = from_seq - 1
            s.retries.pop((group, part), None)
        s.epochs[group] = s.epochs.get(group, 0) + 1

    def dead_letters(self, group: str | None, limit: int) -> list[StoredDeadLetter]:
        """Dead letters waiting for a person."""
        rows = [d.row for d in self._s.dead.values() if d.status == "dead" and group in (None, d.row.group)]
        return rows[:limit]

    def redeliver(self, dead_ids: Sequence[int]) -> int:
        """Mark dead letters for redelivery."""
        count = 0
        for dead_id in dead_ids:
            dead = self._s.dead.get(dead_id)
            if dead is not None and dead.status == "dead":
                dead.status = "redeliver"
                count += 1
        return count

    def close(self) -> None:
        """Nothing to close."""


class MemoryEventLog(PartitionedEventLog):
    """An EventLog in memory; pass one MemoryLogState to several instances to share a log between them."""

    def __init__(
        self,
        state: MemoryLogState | None = None,
        *,
        partitions: int = DEFAULT_PARTITIONS,
        lease_ttl_s: float = 10.0,
    ) -> None:
        super().__init__(MemoryLogStorage(state or MemoryLogState()), partitions=partitions, lease_ttl_s=lease_ttl_s)
