"""Reading and committing on the NATS EventLog: pulls per held partition, handing events out, acks, pauses.

Pulls use `no_wait` with an expiry: the server answers at once with what it has (then a 404), or waits until the
first message and returns that burst, or expires (408). So a pull never outlives the lease it was sent under, and a
partition is repositioned only when none of its pulls is open.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections.abc import Sequence
from functools import partial

from nats.aio.client import Client
from nats.aio.msg import Msg

from crossdock.events.envelope import CloudEvent
from crossdock.log.nats_groups import NatsGroups
from crossdock.log.nats_state import Delivery, Member, Partition, Redelivery, RetryState
from crossdock.log.nats_wire import Pull, PullChannel, ReplyRouter, ack_sequences, pull_status
from crossdock.ports.event_log import EventLogError, LoggedEvent

log = logging.getLogger(__name__)

_PULL_ROUNDS = 4
_PULL_GRACE_S = 5.0  # how long past its expiry a pull may go unanswered before it is given up


class NatsDelivery:
    """Moves events from the held partitions' consumers to the worker, and the worker's verdicts back."""

    def __init__(self, nc: Client, router: ReplyRouter, groups: NatsGroups, stream: str, timeout_s: float) -> None:
        self._nc = nc
        self._router = router
        self._groups = groups
        self._stream = stream
        self._timeout_s = timeout_s

    # -- pulling ------------------------------------------------------------------------------------------------

    async def pull_ready(self, member: Member, budget: int) -> None:
        """Pull what is available now from every readable partition, up to `budget` events in all."""
        candidates = [p for p in member.parts.values() if not p.buffer]
        for _ in range(_PULL_ROUNDS):
            left = budget - len(member.redo_ready) - sum(len(p.buffer) for p in member.parts.values())
            now, wall = time.monotonic(), time.time()
            ready = [p for p in candidates if self._groups.readable(p, now, wall)]
            if left <= 0 or not ready:
                return
            per = math.ceil(left / len(ready))
            await asyncio.gather(*(self._send_pull(member, part, per) for part in ready))
            await self._groups.settle(ready)
            for part in ready:
                part.pull = None
            # Another round only where the batch came back full: there is probably more.
            candidates = [p for p in ready if p.more]

    async def long_poll(self, member: Member, batch: int, remaining: float) -> float:
        """Leave pulls waiting on idle partitions; how long to wait for them before looking again."""
        now, wall = time.monotonic(), time.time()
        wait = min(remaining, self._groups.sync_every(member))
        ready = [p for p in member.parts.values() if self._groups.readable(p, now, wall) and not p.buffer]
        for part in ready:
            # The pull must be over before the lease could lapse on the server (see NatsGroups.readable).
            expires = min(wait, part.valid_until - now - self._groups.margin)
            if expires >= 0.05:
                await self._send_pull(member, part, max(1, math.ceil(batch / len(ready))), expires)
        for part in member.parts.values():
            if part.retry is not None and part.retry.not_before > wall:
                wait = min(wait, part.retry.not_before - wall)
        return max(wait, 0.01)

    async def _send_pull(self, member: Member, part: Partition, batch: int, expires_s: float | None = None) -> None:
        if part.channel is None:
            part.channel = await PullChannel(self._nc, partial(self._on_message, member, part)).open()
        pull = Pull(batch)
        part.pull = pull
        part.more = False
        part.pull_deadline = time.monotonic() + (expires_s or 0.0) + _PULL_GRACE_S
        await part.channel.pull(self._stream, part.consumer_name, pull, expires_s=expires_s)

    def _on_message(self, member: Member, part: Partition, pull: Pull, msg: Msg) -> None:
        status = pull_status(msg)
        if status is not None:
            if status != "100":  # heartbeats do not end a pull
                if status not in ("404", "408"):
                    log.warning("pull on %s ended with status %s %s", part.consumer_name, status, msg.headers)
                pull.finish(status)
                member.wake.set()
            return
        pull.received += 1
        if pull.received >= pull.batch:
            part.more = True
            pull.finish()
        if member.parts.get(part.index) is not part or part.reset_to is not None:
            return  # not ours any more, or about to be repositioned: it comes again
        sseq, dseq = ack_sequences(msg.reply)
        if dseq != part.next_dseq or sseq <= part.last_sseq:
            log.warning(
                "partition %s of group %s: delivery %s (stream %s) after %s (stream %s); back to the ack floor",
                part.index,
                member.group,
                dseq,
                sseq,
                part.next_dseq - 1,
                part.last_sseq,
            )
            part.drop_read_ahead()
            part.reset_to = 0
            return
        part.next_dseq = dseq + 1
        part.last_sseq = sseq
        part.buffer.append(Delivery(sseq, msg.reply, msg.data))
        member.wake.set()

    # -- handing out --------------------------------------------------------------------------------------------

    def take(self, member: Member, limit: int) -> list[LoggedEvent]:
        """Hand out redelivered dead letters, then buffered events in offset order, up to `limit`."""
        out: list[LoggedEvent] = []
        while member.redo_ready and len(out) < limit:
            redo = member.redo_ready.pop(0)
            if redo.partition in member.parts:
                member.redo_in_flight[(redo.partition, redo.offset)] = redo
                out.append(LoggedEvent(redo.partition, redo.offset, CloudEvent.from_dict(redo.record["event"])))
        now = time.monotonic()
        # A partition whose lease may be lapsing keeps its read-ahead until the next sync decides.
        heads = [(p.buffer[0].offset, p.index, p) for p in member.parts.values() if p.buffer and p.valid_until > now]
        heapq.heapify(heads)
        while heads and len(out) < limit:
            _, _, part = heapq.heappop(heads)
            delivery = part.buffer.popleft()
            out.append(self._hand_out(member, part, delivery))
            if part.buffer:
                heapq.heappush(heads, (part.buffer[0].offset, part.index, part))
        return out

    def _hand_out(self, member: Member, part: Partition, delivery: Delivery) -> LoggedEvent:
        attempt = 1
        retry = part.retry
        if retry is not None:
            if delivery.offset == retry.offset:
                attempt = retry.attempts + 1
                part.retry_handed = True
            elif delivery.offset > retry.offset and not part.retry_handed:
                # The paused event is behind the ack floor (acked or dead-lettered elsewhere): forget its retry.
                part.retry = None
                member.stale_retries.add(part.index)
        part.handed.append((delivery.offset, delivery.reply))
        try:
            event = CloudEvent.from_json(delivery.body)
        except ValueError as exc:
            raise EventLogError(
                f"offset {delivery.offset} of partition {part.index} is not a CloudEvent ({exc}); something other "
                "than Crossdock published to the stream: dead-letter the offset or delete that message"
            ) from exc
        return LoggedEvent(part.index, delivery.offset, event, attempt)

    # -- committing ---------------------------------------------------------------------------------------------

    async def ack(self, member: Member, events: Sequence[LoggedEvent]) -> list[Redelivery]:
        """Commit positions past these events; return the redelivered dead letters among them (now done)."""
        done: list[Redelivery] = []
        targets: dict[int, int] = {}
        for logged in events:
            redo = member.redo_in_flight.pop((logged.partition, logged.offset), None)
            if redo is not None:
                done.append(redo)
                continue
            part = member.parts.get(logged.partition)
            if part is None:
                continue  # not ours any more: the new owner gets it again
            if part.retry is not None and not part.retry_handed and logged.offset >= part.retry.offset:
                continue  # acked past a paused event: it and everything after it come again
            targets[part.index] = max(targets.get(part.index, 0), logged.offset)
        now = time.monotonic()
        commits, acked = [], []
        for index, offset in targets.items():
            part = member.parts[index]
            reply = part.pop_handed(offset)
            if reply is None or part.valid_until <= now:
                continue  # stale (repositioned since) or the lease may have lapsed: the events come again
            commits.append(self._router.ack_sync(reply, self._timeout_s))
            acked.append(part)
            if part.retry is not None and part.retry_handed and offset >= part.retry.offset:
                part.retry = None
                commits.append(self._groups.save_retry(member.group, index, None))
                acked.append(part)
        outcomes = await asyncio.gather(*commits, return_exceptions=True)
        failures = [(part, outcome) for part, outcome in zip(acked, outcomes, strict=True) if outcome is not None]
        for part, _ in failures:
            # The server did not confirm (it restarted, or moved the consumer): start again from what it has.
            part.drop_read_ahead()
            if part.reset_to is None:
                part.reset_to = 0
        if failures:
            raise failures[0][1]
        return done

    async def commit_through(self, member: Member, part: Partition, offset: int) -> None:
        """Commit the partition up to and including `offset` (a dead-lettered event), now or at the next fetch."""
        reply = part.pop_handed(offset) if any(o == offset for o, _ in part.handed) else None
        if reply is not None and part.valid_until > time.monotonic():
            await self._router.ack_sync(reply, self._timeout_s)
        else:
            # Repositioning just past it commits it too; events after it come again.
            part.drop_read_ahead()
            part.reset_to = offset + 1
        if part.retry is not None and part.retry.offset <= offset:
            part.retry = None
            await self._groups.save_retry(member.group, part.index, None)

    async def pause(self, member: Member, part: Partition, retry: RetryState) -> None:
        """Hold the partition on `retry.offset` until `retry.not_before`; it comes first again, then the rest."""
        part.retry = retry
        part.retry_handed = False
        part.drop_read_ahead()
        part.reset_to = retry.offset
        await self._groups.save_retry(member.group, part.index, retry)
