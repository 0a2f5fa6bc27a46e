"""The EventLog port: a durable, partitioned log of CloudEvents read by consumer groups.

Semantics every adapter keeps (the contract tests in `tests/contract/test_event_log.py` check each):

- `append` returns only once the events are durable. An event whose id is already in the log is not stored again;
  its result says `duplicate=True` and gives the original position. Appends are atomic per call on SQL; on NATS
  per batch of up to the server's batch limit (1,000). Either way, retrying a failed call completes it without
  storing anything twice.
- Offsets are positions in the whole log: strictly increasing in append order. A partition (chosen by a hash of the
  subject) is the subsequence of its events, so events about one business object keep their order.
- A consumer group reads every partition from its committed position. `fetch` hands each partition to one consumer of
  the group at a time (a lease that expires if the consumer dies), and returns events in offset order per partition.
- `ack` commits a group's position up to and including the acked events. `nack` puts an event back: its partition
  pauses for `retry_in_s` and then the same event comes again with `attempt + 1`; events after it in the same
  partition wait (order per subject), other partitions go on. After `max_attempts` the event goes to the dead-letter
  queue with its error and the partition carries on. A nack that does not count an attempt (the target is down)
  only pauses.
- `seek` moves a group's position (replay from an offset or a time); `redeliver` puts dead letters back in front of
  their group.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import xxhash

from crossdock.events.envelope import CloudEvent

DEFAULT_PARTITIONS = 16


@functools.lru_cache(maxsize=65_536)
def partition_for(subject: str, partitions: int) -> int:
    """The partition of a subject: a stable hash, the same in every process and adapter (memoised: hot subjects
    such as busy customers repeat)."""
    return xxhash.xxh32_intdigest(subject.encode()) % partitions


class EventLogError(RuntimeError):
    """The log could not do what was asked; the message says what to check."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an appended event landed; `duplicate` when its id was already in the log."""

    event_id: str
    partition: int
    offset: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as a consumer group sees it: its position, and which delivery attempt this is for the group."""

    partition: int
    offset: int
    event: CloudEvent
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a group gave up on, with the cause, kept until an operator redelivers or discards it."""

    id: int
    group: str
    partition: int
    offset: int
    event: CloudEvent
    attempts: int
    error: str
    dead_at: datetime


class NackOutcome(enum.Enum):
    """What became of a nacked event."""

    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"


class EventAppender(Protocol):
    """Appends on the calling thread and returns once the append is committed; what an SQL log's
    `direct_appender()` gives one thread that appends and waits (the order intake's committer). Not part of
    `EventLog`: the in-memory and NATS logs have none."""

    def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Append the events in one transaction; ids already logged are skipped."""
        ...

    def close(self) -> None:
        """Release the appender's connection."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """A durable, partitioned event log with consumer groups. See the module docstring for the semantics."""

    @property
    def partitions(self) -> int:
        """How many partitions subjects are hashed into."""
        ...

    async def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Store events durably, in order; return one result per event."""
        ...

    async def fetch(
        self, group: str, consumer: str, *, max_events: int = 500, wait_s: float = 1.0
    ) -> list[LoggedEvent]:
        """Next events for this consumer of the group, waiting up to `wait_s` when there are none."""
        ...

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        """Commit the group's position past these events."""
        ...

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
        """Retry the event after `retry_in_s`, or dead-letter it once it has had `max_attempts`.

        `count_attempt=False` is for failures that are not the event's fault (the target is down, its circuit is
        open): the partition waits, the event comes again with the same attempt number and is never dead-lettered
        for it.
        """
        ...

    async def dead_letter(self, group: str, consumer: str, event: LoggedEvent, *, error: str) -> None:
        """Move the event to the dead-letter queue now (a failure that no retry can fix)."""
        ...

    async def release(self, group: str, consumer: str) -> None:
        """Give up this consumer's partitions (clean shutdown) so others take them at once."""
        ...

    async def read(self, partition: int | None, from_offset: int, limit: int) -> list[LoggedEvent]:
        """Events from `from_offset` on, of one partition or all, without touching any group (tail, inspection)."""
        ...

    async def lag(self, group: str) -> dict[int, int]:
        """Events not yet acked by the group, per partition."""
        ...

    async def groups(self) -> list[str]:
        """Consumer groups the log knows."""
        ...

    async def seek(self, group: str, *, from_offset: int | None = None, from_time: datetime | None = None) -> None:
        """Replay: the group's next events are those from `from_offset`, or logged at or after `from_time`."""
        ...

    async def dead_letters(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first, of one group or all."""
        ...

    async def redeliver(self, dead_letter_ids: Sequence[int]) -> int:
        """Hand dead letters back to their groups (fetched before newer events); return how many."""
        ...

    async def close(self) -> None:
        """Release leases and connections."""
        ...
