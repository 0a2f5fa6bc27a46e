"""An EventLog that counts what passes through it: appends per event type, and per consumer group what was
acknowledged, put back for a retry and dead-lettered. It wraps any adapter (the composition root wraps the
configured one), so every producer and consumer is counted without knowing about metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from crossdock.events.envelope import CloudEvent
from crossdock.observability.meters import CONSUMED, DEAD_LETTERED, RETRIES, Meters
from crossdock.ports.event_log import (
    AppendResult,
    DeadLetter,
    EventAppender,
    EventLog,
    LoggedEvent,
    NackOutcome,
)

AppendBlocking = Callable[..., list[AppendResult]]


class MeteredEventLog:
    """`inner`, counted into `meters`; anything beyond the port (an adapter's own tools) is passed through."""

    def __init__(self, inner: EventLog, meters: Meters) -> None:
        self.inner = inner
        self._meters = meters

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class does not define: an adapter's own methods (open, connect, ...).
        return getattr(self.inner, name)

    @property
    def partitions(self) -> int:
        """How many partitions subjects are hashed into."""
        return self.inner.partitions

    @property
    def append_blocking(self) -> AppendBlocking:
        """The adapter's `append_blocking` (SQL logs: append from a thread that is not the loop's), counted.

        An AttributeError when the adapter has none, so `getattr(log, "append_blocking", None)` still says so.
        """
        blocking: AppendBlocking = getattr(self.inner, "append_blocking")  # noqa: B009 - AttributeError wanted

        def append_blocking(events: Sequence[CloudEvent], timeout_s: float | None = None) -> list[AppendResult]:
            results = blocking(events, timeout_s=timeout_s)
            self._meters.appended(events)
            return results

        return append_blocking

    @property
    def direct_appender(self) -> Callable[[], EventAppender]:
        """The adapter's `direct_appender` (SQL logs: appends on the caller's thread), its appends counted; an
        AttributeError when the adapter has none, so `getattr(log, "direct_appender", None)` still says so."""
        direct: Callable[[], EventAppender] = getattr(self.inner, "direct_appender")  # noqa: B009 - AttributeError wanted
        return lambda: CountedAppender(direct(), self._meters)

    async def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Store events durably, in order; counted once stored."""
        results = await self.inner.append(events)
        self._meters.appended(events)
        return results

    async def fetch(
        self, group: str, consumer: str, *, max_events: int = 500, wait_s: float = 1.0
    ) -> list[LoggedEvent]:
        """Next events for this consumer of the group."""
        return await self.inner.fetch(group, consumer, max_events=max_events, wait_s=wait_s)

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        """Commit the group's position past these events; they count as consumed."""
        await self.inner.ack(group, consumer, events)
        self._meters.add(CONSUMED, (group,), len(events))

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
        """Retry the event later, or dead-letter it after its last attempt."""
        outcome = await self.inner.nack(
            group,
            consumer,
            event,
            error=error,
            retry_in_s=retry_in_s,
            max_attempts=max_attempts,
            count_attempt=count_attempt,
        )
        self._meters.add(DEAD_LETTERED if outcome is NackOutcome.DEAD_LETTERED else RETRIES, (group,))
        return outcome

    async def dead_letter(self, group: str, consumer: str, event: LoggedEvent, *, error: str) -> None:
        """Move the event to the dead-letter queue now."""
        await self.inner.dead_letter(group, consumer, event, error=error)
        self._meters.add(DEAD_LETTERED, (group,))

    async def release(self, group: str, consumer: str) -> None:
        """Give up this consumer's partitions."""
        await self.inner.release(group, consumer)

    async def read(self, partition: int | None, from_offset: int, limit: int) -> list[LoggedEvent]:
        """Events from an offset on, without touching any group."""
        return await self.inner.read(partition, from_offset, limit)

    async def lag(self, group: str) -> dict[int, int]:
        """Events not yet acked by the group, per partition."""
        return await self.inner.lag(group)

    async def groups(self) -> list[str]:
        """Consumer groups the log knows."""
        return await self.inner.groups()

    async def seek(self, group: str, *, from_offset: int | None = None, from_time: datetime | None = None) -> None:
        """Replay from an offset or a time."""
        await self.inner.seek(group, from_offset=from_offset, from_time=from_time)

    async def dead_letters(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first."""
        return await self.inner.dead_letters(group, limit)

    async def redeliver(self, dead_letter_ids: Sequence[int]) -> int:
        """Hand dead letters back to their groups."""
        return await self.inner.redeliver(dead_letter_ids)

    async def close(self) -> None:
        """Close the adapter."""
        await self.inner.close()


class CountedAppender:
    """A direct appender (`log.threaded.DirectAppender`) whose appends are counted as the log's are."""

    def __init__(self, inner: EventAppender, meters: Meters) -> None:
        self._inner = inner
        self._meters = meters

    def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Append, then count what was appended."""
        results = self._inner.append(events)
        self._meters.appended(events)
        return results

    def close(self) -> None:
        """Close the inner appender's connection."""
        self._inner.close()
