"""Consumer groups on JetStream: a durable consumer per partition, leases in a KV bucket, retries by repositioning.

- Each (group, partition) has a durable pull consumer `<group>__p<N>` filtered to the partition's subject, with
  AckPolicy.ALL: acking offset N commits everything before it in the partition, so the consumer's ack floor is the
  group's committed position. The log repositions the consumer itself, which is what keeps order per subject; the
  server's own redelivery (ack_wait, several lease lifetimes) is only a backstop for messages a dead owner's pull
  took after a takeover.
- A partition is read only by the consumer holding its lease: a key in the `<stream>_LEASES` bucket written with
  compare-and-set (expected last subject sequence) that expires with the bucket's max_age (the lease TTL) unless
  renewed. Members heartbeat in the same bucket; each takes at most ceil(partitions / live members) and gives back
  extras.
- Taking a partition repositions its consumer just above the ack floor (CONSUMER.RESET on nats-server 2.14+, delete
  and re-create at that sequence before), so whatever a dead owner had in flight comes again first and in order.
- A nack pauses the partition and repositions its consumer at the nacked offset; the retry state (offset, attempts,
  not before) is kept in the `<stream>_STATE` bucket, so a new owner honours it after a crash.
- Pulls expire well inside the lease, and each delivery's delivery sequence must follow the previous one: a gap
  means a delivery went to a pull this process no longer waits for, so the partition is repositioned at its ack
  floor instead of being acked past the missing event.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import orjson

from crossdock.log.nats_names import NatsNames
from crossdock.log.nats_state import GROUP_DESCRIPTION, GROUP_KEY, Member, Partition, RetryState
from crossdock.log.nats_wire import (
    ERR_NOT_FOUND,
    ERR_WRONG_LAST_SEQUENCE,
    JetStreamApi,
    JetStreamError,
    has_err_code,
    nanos,
)

log = logging.getLogger(__name__)

# The server redelivers what stays unacked this long. The log repositions consumers itself (that keeps the order);
# this is the backstop for messages a dead owner's still-open pull request took after a takeover, which would
# otherwise sit unacked and stall the partition. Several lease lifetimes, so a live owner is never overtaken.
ACK_WAIT_FLOOR_S = 30.0
ACK_WAIT_LEASES = 10
MAX_ACK_PENDING = 20_000
_EXPECTED_LAST = "Nats-Expected-Last-Subject-Sequence"


class NatsGroups:
    """Consumer groups' durable side: their consumers, leases, retry state, and repositioning."""

    def __init__(
        self,
        api: JetStreamApi,
        names: NatsNames,
        partitions: int,
        *,
        lease_ttl_s: float,
        reset_api: bool,
    ) -> None:
        self._api = api
        self._names = names
        self._partitions = partitions
        self.lease_ttl_s = lease_ttl_s
        self._reset_api = reset_api
        self.members: dict[tuple[str, str], Member] = {}
        self._ready_groups: set[str] = set()

    @property
    def margin(self) -> float:
        """Safety margin: pulls end, and acks stop, this long before a lease could lapse on the server."""
        return self.lease_ttl_s / 10

    def sync_every(self, member: Member) -> float:
        """How often a member renews its leases (and, holding nothing, looks for free partitions)."""
        renew = self.lease_ttl_s / 4
        return renew if member.parts else min(renew, 0.1)

    def member(self, group: str, consumer: str) -> Member:
        """This process's state for a consumer of a group."""
        key = (group, consumer)
        found = self.members.get(key)
        if found is None:
            found = self.members[key] = Member(group, consumer)
        return found

    # -- durable consumers --------------------------------------------------------------------------------------

    def consumer_config(self, group: str, partition: int, start_seq: int = 0) -> dict[str, Any]:
        """The durable consumer of a group in one partition."""
        name = self._names.consumer(group, partition)
        config: dict[str, Any] = {
            "name": name,
            "durable_name": name,
            "filter_subject": self._names.partition_subject(partition),
            "deliver_policy": "all",
            "ack_policy": "all",
            "ack_wait": nanos(max(ACK_WAIT_FLOOR_S, ACK_WAIT_LEASES * self.lease_ttl_s)),
            "max_deliver": -1,
            "max_ack_pending": MAX_ACK_PENDING,
            "replay_policy": "instant",
            "metadata": {GROUP_KEY: group, "crossdock.partition": str(partition)},
            # nats-server 2.9 has no consumer metadata; the description carries the group name there.
            "description": f"{GROUP_DESCRIPTION}{group}",
        }
        if start_seq > 1:
            config["deliver_policy"] = "by_start_sequence"
            config["opt_start_seq"] = start_seq
        return config

    async def ensure_group(self, group: str) -> None:
        """Create the group's consumers (at the start of the log) unless they exist."""
        if group in self._ready_groups:
            return
        stream = self._names.stream

        async def ensure(partition: int) -> None:
            if await self._api.consumer_info(stream, self._names.consumer(group, partition)) is None:
                await self._api.add_consumer(stream, self.consumer_config(group, partition))

        await asyncio.gather(*(ensure(p) for p in range(self._partitions)))
        self._ready_groups.add(group)

    async def reposition(self, group: str, partition: int, seq: int) -> int:
        """Make the consumer deliver from `seq` next (0: just above its ack floor); the sequence it starts at."""
        stream, name = self._names.stream, self._names.consumer(group, partition)
        if self._reset_api:
            try:
                return await self._api.reset_consumer(stream, name, seq)
            except JetStreamError as exc:
                if not has_err_code(exc, ERR_NOT_FOUND):
                    raise
                # Deleted behind our back: its position is gone; start it where asked (or at the beginning).
                await self._api.add_consumer(stream, self.consumer_config(group, partition, start_seq=seq))
                return max(seq, 1)
        # Before nats-server 2.14 a consumer cannot be moved, only replaced at a start sequence.
        if seq == 0:
            info = await self._api.consumer_info(stream, name)
            seq = int(info["ack_floor"]["stream_seq"]) + 1 if info else 1
        await self._api.delete_consumer(stream, name)
        await self._api.add_consumer(stream, self.consumer_config(group, partition, start_seq=seq))
        return seq

    # -- leases -------------------------------------------------------------------------------------------------

    async def sync(self, member: Member) -> None:
        """Heartbeat, renew leases, take a fair share of free partitions and give back extras."""
        names, group = self._names, member.group
        now = time.monotonic()
        value = orjson.dumps({"consumer": member.consumer})
        parts = list(member.parts.values())
        heartbeat, *renewed = await asyncio.gather(
            self._api.publish(names.member_subject(group, member.consumer), value),
            *(self._renew(group, part, value) for part in parts),
            return_exceptions=True,
        )
        if isinstance(heartbeat, BaseException):
            raise heartbeat
        member.heartbeat_seq = int(heartbeat["seq"])
        for part, outcome in zip(parts, renewed, strict=True):
            if outcome is True:
                part.valid_until = now + self.lease_ttl_s * 0.75
            elif outcome is False:
                log.info("lost the lease on partition %s of group %s", part.index, group)
                member.parts.pop(part.index, None)
                await self.close_channel(part)
            else:
                log.warning("could not renew the lease on partition %s of group %s: %s", part.index, group, outcome)
        counts = await self._api.subject_counts(self._names.lease_stream, names.group_lease_filter(group))
        live = sum(1 for subject in counts if ".member." in subject) or 1
        held = {int(subject.rsplit(".", 1)[1]) for subject in counts if ".lease." in subject}
        share = math.ceil(self._partitions / live)
        if len(member.parts) > share:
            # Give back idle partitions first: a partition with events in the worker's hands would replay them.
            ranked = sorted(member.parts.values(), key=lambda p: (not (p.handed or p.pull), p.index))
            await asyncio.gather(*(self.release_partition(member, part) for part in ranked[share:]))
        elif len(member.parts) < share:
            if not member.adopted:
                await self._adopt(member, held, value, now)
            start = hash(member.consumer) % self._partitions  # spread first picks to avoid CAS collisions
            order = [(start + i) % self._partitions for i in range(self._partitions)]
            free = [p for p in order if p not in held and p not in member.parts]
            wanted = free[: max(0, share - len(member.parts))]
            await asyncio.gather(*(self._acquire(member, p, value, now) for p in wanted))
        member.adopted = True
        member.redo_due = True
        member.synced_at = now

    async def _renew(self, group: str, part: Partition, value: bytes) -> bool:
        subject = self._names.lease_subject(group, part.index)
        try:
            ack = await self._api.publish(subject, value, {_EXPECTED_LAST: str(part.lease_seq)})
        except JetStreamError as exc:
            if has_err_code(exc, ERR_WRONG_LAST_SEQUENCE):
                return False
            raise
        part.lease_seq = int(ack["seq"])
        return True

    async def _acquire(self, member: Member, partition: int, value: bytes, now: float, last_seq: int = 0) -> bool:
        subject = self._names.lease_subject(member.group, partition)
        try:
            ack = await self._api.publish(subject, value, {_EXPECTED_LAST: str(last_seq)})
        except JetStreamError as exc:
            if has_err_code(exc, ERR_WRONG_LAST_SEQUENCE):
                return False  # someone else was quicker
            raise
        part = Partition(
            partition,
            self._names.consumer(member.group, partition),
            int(ack["seq"]),
            now + self.lease_ttl_s * 0.75,
        )
        part.retry = await self.load_retry(member.group, partition)
        member.parts[partition] = part
        log.info("consumer %s took partition %s of group %s", member.consumer, partition, member.group)
        return True

    async def _adopt(self, member: Member, held: set[int], value: bytes, now: float) -> None:
        """Take back leases this consumer name held in an earlier life (a restart within the lease TTL)."""

        async def adopt(partition: int) -> None:
            stored = await self._api.get_msg(
                self._names.lease_stream, last_by_subj=self._names.lease_subject(member.group, partition)
            )
            if stored is not None and stored.data == value:
                await self._acquire(member, partition, value, now, last_seq=stored.seq)

        await asyncio.gather(*(adopt(p) for p in held if p not in member.parts))

    async def release_partition(self, member: Member, part: Partition) -> None:
        """Give one partition back at once, after its pull is over (a late delivery must not race the next owner)."""
        await self.settle([part])
        if part.reset_to and part.valid_until > time.monotonic():
            # A pending move onto a nacked event (or past a dead letter) commits what came before it: finish it,
            # so the next owner does not replay events this one already processed.
            await self._apply_reset(member, part)
        member.parts.pop(part.index, None)
        await self.close_channel(part)
        await self._api.delete_msg(self._names.lease_stream, part.lease_seq)

    async def release(self, member: Member) -> None:
        """Give back every partition and leave the group's membership."""
        async with member.lock:
            await asyncio.gather(*(self.release_partition(member, part) for part in list(member.parts.values())))
            if member.heartbeat_seq:
                await self._api.delete_msg(self._names.lease_stream, member.heartbeat_seq)
            self.members.pop((member.group, member.consumer), None)

    # -- retry state --------------------------------------------------------------------------------------------

    async def load_retry(self, group: str, partition: int) -> RetryState | None:
        """The partition's paused head event, if a nack left one."""
        stored = await self._api.get_msg(
            self._names.state_stream, last_by_subj=self._names.retry_subject(group, partition)
        )
        return RetryState.from_json(stored.data) if stored is not None else None

    async def save_retry(self, group: str, partition: int, retry: RetryState | None) -> None:
        """Record (or clear, with None) a partition's paused head event."""
        await self._api.publish(self._names.retry_subject(group, partition), retry.to_json() if retry else b"")

    # -- pulls and repositioning --------------------------------------------------------------------------------

    async def maintain(self, member: Member) -> None:
        """Sync leases when due, give up on lost pulls, and carry out pending repositions."""
        now = time.monotonic()
        if now - member.synced_at >= self.sync_every(member):
            await self.sync(member)
        pending = []
        for part in member.parts.values():
            if part.pull is not None and not part.pull.done.is_set() and now > part.pull_deadline:
                log.warning("pull on partition %s of group %s went unanswered", part.index, member.group)
                await self.abandon_pull(part)
            if part.pull is not None and part.pull.done.is_set():
                part.pull = None
            if part.reset_to is not None and part.pull is None and part.valid_until - now > self.margin:
                pending.append(self._apply_reset(member, part))
        if member.stale_retries:
            stale, member.stale_retries = member.stale_retries, set()
            pending.extend(self.save_retry(member.group, p, None) for p in stale)
        await asyncio.gather(*pending)

    async def _apply_reset(self, member: Member, part: Partition) -> None:
        seq = part.reset_to
        if seq is None:
            return
        start = await self.reposition(member.group, part.index, seq)
        if part.reset_to == seq:  # unless a nack asked for another position meanwhile
            part.reset_to = None
        part.drop_read_ahead()
        part.next_dseq = 1
        part.last_sseq = start - 1

    def readable(self, part: Partition, now: float, wall: float) -> bool:
        """May a pull go to this partition now: in place, no pull open, lease safely valid, not paused."""
        return (
            part.reset_to is None
            and part.pull is None
            and part.valid_until - now > self.margin
            and (part.retry is None or part.retry.not_before <= wall)
        )

    async def abandon_pull(self, part: Partition) -> None:
        """Give up on a pull the server never closed: drop its channel, and restart from the ack floor."""
        await self.close_channel(part)
        part.drop_read_ahead()
        if part.reset_to is None:
            part.reset_to = 0

    async def close_channel(self, part: Partition) -> None:
        """Drop the partition's pull subscription (late deliveries go nowhere)."""
        channel, part.channel = part.channel, None
        if channel is not None:
            await channel.close()

    async def settle(self, parts: Sequence[Partition]) -> None:
        """Wait until the pulls of these partitions are over (answered, or given up after their deadline)."""
        for part in parts:
            pull = part.pull
            if pull is None or pull.done.is_set():
                continue
            try:
                await asyncio.wait_for(pull.done.wait(), max(0.0, part.pull_deadline - time.monotonic()))
            except TimeoutError:
                await self.abandon_pull(part)
