"""The storage interface under the consumer-group algorithm of `crossdock.log.groups`.

Every method is synchronous and runs as one transaction: the SQL storage runs them on its own database thread, the
memory storage inline. Positions are "the last offset the group has committed" per partition (0: nothing yet), and
carry an epoch that `seek` bumps, so a consumer that read its cursor before a replay cannot commit over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from crossdock.ports.event_log import AppendResult


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row: its offset, partition, append time (epoch seconds) and structured-mode JSON body."""

    seq: int
    part: int
    logged_at: float
    body: bytes


@dataclass(frozen=True, slots=True)
class RetryState:
    """A partition paused on its head event: that event's offset, attempts so far, and when it may go again."""

    seq: int
    attempts: int
    not_before: float


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    """A dead-letter row."""

    id: int
    group: str
    part: int
    seq: int
    body: bytes
    attempts: int
    error: str
    dead_at: float


@dataclass(slots=True)
class GroupView:
    """What a consumer learns when it syncs with its group: partitions it owns and where each stands."""

    owned: set[int]
    committed: dict[int, int]
    epoch: int
    retries: dict[int, RetryState] = field(default_factory=dict)
    redeliveries: list[StoredDeadLetter] = field(default_factory=list)


class LogStorage(Protocol):
    """Durable state of a partitioned log and its consumer groups."""

    def append(self, batches: Sequence[Sequence[tuple[str, int, bytes]]], now: float) -> list[list[AppendResult]]:
        """Store (event id, partition, body) rows of several calls in one transaction, skipping known ids."""
        ...

    def read(self, part: int | None, after_seq: int, limit: int) -> list[StoredEvent]:
        """Events after an offset, of one partition or all, in offset order."""
        ...

    def read_partitions(self, after: dict[int, int], limit_per_part: int) -> list[StoredEvent]:
        """For each partition, the events after its given offset."""
        ...

    def sync_group(self, group: str, consumer: str, now: float, ttl: float, partitions: int) -> GroupView:
        """Heartbeat, renew and acquire leases up to a fair share, release extras; return the consumer's view."""
        ...

    def commit(self, group: str, epoch: int, positions: dict[int, int], done_dead: Sequence[int]) -> bool:
        """Advance positions (never backwards) and mark redelivered dead letters done; False if the epoch is stale."""
        ...

    def set_retry(self, group: str, part: int, retry: RetryState, error: str) -> None:
        """Pause a partition on its head event."""
        ...

    def add_dead(self, group: str, epoch: int, event: StoredEvent, attempts: int, error: str, now: float) -> None:
        """Dead-letter an event and move the group's position past it."""
        ...

    def return_dead(self, dead_id: int, error: str, now: float) -> None:
        """A redelivered dead letter failed again: back to the dead-letter queue."""
        ...

    def release(self, group: str, consumer: str) -> None:
        """Drop the consumer's leases and membership."""
        ...

    def lag(self, group: str, partitions: int) -> dict[int, int]:
        """Events after the group's position, per partition."""
        ...

    def groups(self) -> list[str]:
        """Known consumer groups."""
        ...

    def seek(self, group: str, partitions: int, from_seq: int | None, from_time: float | None) -> None:
        """Set every partition's position before `from_seq` (or the first event at or after `from_time`)."""
        ...

    def dead_letters(self, group: str | None, limit: int) -> list[StoredDeadLetter]:
        """Dead letters not yet redelivered, oldest first."""
        ...

    def redeliver(self, dead_ids: Sequence[int]) -> int:
        """Mark dead letters for redelivery to their group."""
        ...

    def close(self) -> None:
        """Close connections."""
        ...
