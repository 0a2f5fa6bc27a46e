"""Appending to the NATS EventLog: atomic batch publishes (nats-server 2.12+), pipelined publishes otherwise.

What JetStream promises, and so what `append` promises on NATS:

- Durable: a PubAck is sent only after the server fsynced the message (`sync_interval: always`), and `append`
  returns only when every event of the call is acknowledged.
- Atomic per batch: on a stream with `allow_atomic`, a call of up to `max_batch` events (the server's
  `max_batch_size`, 1000 by default) is one atomic batch (`Nats-Batch-Id`): all events are stored, consecutively,
  or none. The server fsyncs the batch once, which also makes it several times faster than one publish per event.
  Longer calls are split into batches of `max_batch`, each atomic; a failure between batches leaves the earlier
  ones stored, and a retry of the whole call completes it without doubles (ids deduplicate).
- An atomic batch is refused whole when any of its ids is already in the log (a retry), so such a call falls back
  to pipelined single publishes: each event is then deduplicated on its own and answers `duplicate=True` with the
  original offset, but the call is no longer atomic.
- Deduplication (`Nats-Msg-Id` = event id) holds within the stream's duplicate window (2 minutes by default);
  an event re-sent later than that is stored again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from nats.aio.client import Client
from nats.nuid import NUID

from crossdock.events.envelope import CloudEvent
from crossdock.log.nats_names import NatsNames
from crossdock.log.nats_wire import (
    ERR_ATOMIC_DISABLED,
    ERR_ATOMIC_DUPLICATE,
    ERR_ATOMIC_INCOMPLETE,
    ERR_ATOMIC_INFLIGHT,
    ERR_ATOMIC_TOO_LARGE,
    ERR_DUPLICATE_IN_PROCESS,
    JetStreamError,
    ReplyRouter,
    has_err_code,
    parse_api_reply,
)
from crossdock.ports.event_log import AppendResult, EventLogError, partition_for

T = TypeVar("T")
_Row = tuple[str, int, bytes]  # event id, partition, structured-mode JSON
_INFLIGHT_RETRIES = 50


class NatsAppender:
    """Publishes events to the partition subjects and turns PubAcks into AppendResults."""

    def __init__(
        self,
        nc: Client,
        router: ReplyRouter,
        names: NatsNames,
        partitions: int,
        *,
        atomic: bool,
        max_batch: int,
        timeout_s: float,
        max_inflight_batches: int = 32,
    ) -> None:
        self._nc = nc
        self._router = router
        self._names = names
        self._partitions = partitions
        self.atomic = atomic
        self._max_batch = max_batch
        self._timeout_s = timeout_s
        self._nuid = NUID()
        # The server allows 50 open atomic batches per stream; stay below it from this process.
        self._inflight = asyncio.Semaphore(max_inflight_batches)

    async def append(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Store events durably, in order; one result per event."""
        partitions = self._partitions
        rows = [(event.id, partition_for(event.subject, partitions), event.to_json()) for event in events]
        if len(rows) == 1 or not self.atomic:
            return await self._pipelined(rows)
        results: list[AppendResult] = []
        for start in range(0, len(rows), self._max_batch):
            results.extend(await self._atomic(rows[start : start + self._max_batch]))
        return results

    async def _atomic(self, rows: list[_Row]) -> list[AppendResult]:
        for attempt in range(_INFLIGHT_RETRIES):
            try:
                return await self._publish_batch(rows)
            except JetStreamError as exc:
                if has_err_code(exc, (ERR_ATOMIC_DUPLICATE, ERR_DUPLICATE_IN_PROCESS)):
                    return await self._pipelined(rows)
                if has_err_code(exc, (ERR_ATOMIC_INFLIGHT, ERR_ATOMIC_INCOMPLETE)):
                    # Nothing of a refused batch is stored, so sending it again is safe. "Incomplete" is what the
                    # commit hears when the batch's first message was refused because the stream already had its
                    # 50 open batches (other processes); those close within milliseconds.
                    await asyncio.sleep(min(0.005 * (attempt + 1), 0.1) * (0.5 + random.random()))  # noqa: S311
                    continue
                if has_err_code(exc, ERR_ATOMIC_TOO_LARGE) and len(rows) > 1:
                    self._max_batch = max(1, len(rows) // 2)
                    half = len(rows) // 2
                    return [*await self._atomic(rows[:half]), *await self._atomic(rows[half:])]
                if has_err_code(exc, ERR_ATOMIC_DISABLED):
                    self.atomic = False
                    return await self._pipelined(rows)
                raise
        raise EventLogError(
            "NATS kept refusing an atomic batch as incomplete or as one too many in flight; lower the append "
            "concurrency across processes, or check the server log for batch timeouts"
        )

    async def _publish_batch(self, rows: list[_Row]) -> list[AppendResult]:
        batch_id = self._nuid.next().decode()
        reply, future = self._router.expect()
        last = len(rows)
        subject = self._names.partition_subject
        async with self._inflight:
            for number, (event_id, part, body) in enumerate(rows, start=1):
                headers = {"Nats-Msg-Id": event_id, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(number)}
                if number == last:
                    headers["Nats-Batch-Commit"] = "1"
                    await self._nc.publish(subject(part), body, reply=reply, headers=headers)
                else:
                    # Only the commit is answered; the server checks the sequence numbers for gaps.
                    await self._nc.publish(subject(part), body, headers=headers)
            ack = parse_api_reply(await self._wait(future, last))
        count = int(ack.get("count", last))
        if count != last:
            raise EventLogError(f"NATS committed {count} of a batch of {last} events; retry the append")
        # An atomic batch is stored consecutively, so the commit's sequence gives every offset.
        first = int(ack["seq"]) - last + 1
        return [AppendResult(event_id, part, first + i) for i, (event_id, part, _) in enumerate(rows)]

    async def _pipelined(self, rows: list[_Row]) -> list[AppendResult]:
        futures = []
        subject = self._names.partition_subject
        for event_id, part, body in rows:
            reply, future = self._router.expect()
            futures.append(future)
            await self._nc.publish(subject(part), body, reply=reply, headers={"Nats-Msg-Id": event_id})
        acks = await self._wait(asyncio.gather(*futures), len(rows))
        return [
            AppendResult(event_id, part, int(ack["seq"]), duplicate=bool(ack.get("duplicate")))
            for (event_id, part, _), ack in zip(rows, map(parse_api_reply, acks), strict=True)
        ]

    async def _wait(self, pending: Awaitable[T], count: int) -> T:
        try:
            return await asyncio.wait_for(pending, self._timeout_s)
        except TimeoutError as exc:
            raise EventLogError(
                f"NATS did not acknowledge an append of {count} event(s) within {self._timeout_s}s; some may be "
                "stored: retry the same events (their ids deduplicate) once the server is reachable"
            ) from exc
