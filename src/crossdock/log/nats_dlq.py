"""Dead letters of the NATS EventLog: records in a stream of their own, and the queue of those handed back.

A dead letter is one message on `<prefix>.dlq.<group>` in the `<stream>_DLQ` stream, and its stream sequence is its
id. `redeliver` moves it to `<prefix>.redo.<group>.<partition>`, where the partition's owner picks it up before newer
events; an ack deletes it there, and a failure records it again as a new dead letter (so with a new id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.aio.client import Client

from crossdock.events.envelope import CloudEvent
from crossdock.log.nats_names import NatsNames
from crossdock.log.nats_state import Member, Redelivery
from crossdock.log.nats_wire import JetStreamApi, scan
from crossdock.ports.event_log import DeadLetter, LoggedEvent

_MAX_ERROR = 4000


class NatsDeadLetters:
    """The dead-letter store and redelivery queue of one log."""

    def __init__(self, api: JetStreamApi, nc: Client, names: NatsNames) -> None:
        self._api = api
        self._nc = nc
        self._names = names

    @property
    def stream(self) -> str:
        """The DLQ stream's name."""
        return self._names.dlq_stream

    async def add(self, group: str, logged: LoggedEvent, attempts: int, error: str) -> int:
        """Record a dead letter; its id."""
        return await self._publish_dead(
            {
                "group": group,
                "partition": logged.partition,
                "offset": logged.offset,
                "attempts": attempts,
                "error": error[:_MAX_ERROR],
                "dead_at": time.time(),
                "event": logged.event.to_dict(),
            }
        )

    async def _publish_dead(self, record: dict[str, Any]) -> int:
        ack = await self._api.publish(self._names.dead_subject(record["group"]), orjson.dumps(record))
        return int(ack["seq"])

    async def dead_letters(self, group: str | None, limit: int) -> list[DeadLetter]:
        """Dead letters waiting for a person, oldest first."""
        found = await scan(self._api, self._nc, self.stream, self._names.dead_subject(group), limit=limit)
        out = []
        for stored in found:
            record = orjson.loads(stored.data)
            out.append(
                DeadLetter(
                    id=stored.seq,
                    group=record["group"],
                    partition=int(record["partition"]),
                    offset=int(record["offset"]),
                    event=CloudEvent.from_dict(record["event"]),
                    attempts=int(record["attempts"]),
                    error=record["error"],
                    dead_at=datetime.fromtimestamp(float(record["dead_at"]), UTC),
                )
            )
        return out

    async def redeliver(self, dead_letter_ids: Iterable[int]) -> list[str]:
        """Hand dead letters back to their groups; the group of each one moved."""

        async def move(dead_id: int) -> str | None:
            stored = await self._api.get_msg(self.stream, seq=dead_id)
            if stored is None or not self._names.is_dead_subject(stored.subject):
                return None
            record = orjson.loads(stored.data)
            record["dead_id"] = dead_id
            subject = self._names.redo_subject(record["group"], int(record["partition"]))
            # The msg id makes a repeated redeliver (after a crash between these two steps) harmless.
            await self._api.publish(subject, orjson.dumps(record), {"Nats-Msg-Id": f"redo-{dead_id}"})
            await self._api.delete_msg(self.stream, dead_id)
            group: str = record["group"]
            return group

        moved = await asyncio.gather(*(move(dead_id) for dead_id in dict.fromkeys(dead_letter_ids)))
        return [group for group in moved if group is not None]

    async def load_redeliveries(self, member: Member) -> None:
        """Queue the group's redelivered dead letters of the partitions this member holds."""
        member.redo_due = False
        counts = await self._api.subject_counts(self.stream, self._names.redo_subject(member.group))
        known = {redo.seq for redo in member.redo_ready} | {redo.seq for redo in member.redo_in_flight.values()}
        for subject, count in counts.items():
            partition = int(subject.rsplit(".", 1)[1])
            if partition not in member.parts:
                continue
            seq, loaded = 1, 0
            while loaded < count:
                stored = await self._api.get_msg(self.stream, seq=seq, next_by_subj=subject)
                if stored is None:
                    break
                seq, loaded = stored.seq + 1, loaded + 1
                if stored.seq not in known:
                    record = orjson.loads(stored.data)
                    member.redo_ready.append(Redelivery(stored.seq, partition, int(record["offset"]), record))
        member.redo_ready.sort(key=lambda redo: redo.seq)

    async def done(self, redeliveries: Sequence[Redelivery]) -> None:
        """Redelivered dead letters that were processed: gone for good."""
        await asyncio.gather(*(self._api.delete_msg(self.stream, redo.seq) for redo in redeliveries))

    async def fail_again(self, redo: Redelivery, error: str) -> None:
        """A redelivered dead letter failed again: back to the dead letters, one attempt more."""
        record = {key: value for key, value in redo.record.items() if key != "dead_id"}
        record["attempts"] = int(record["attempts"]) + 1
        record["error"] = error[:_MAX_ERROR]
        record["dead_at"] = time.time()
        await self._publish_dead(record)
        await self._api.delete_msg(self.stream, redo.seq)
