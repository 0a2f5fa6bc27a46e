"""What the NATS EventLog keeps in memory per consumer: held partitions, read-ahead, handed-out events, retries.

The durable truth lives in JetStream (consumer ack floors, leases, retry state, dead letters); these objects are the
process's working view of it, rebuilt from JetStream whenever a partition changes hands.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from crossdock.log.nats_wire import Pull, PullChannel

GROUP_KEY = "crossdock.group"
GROUP_DESCRIPTION = "crossdock consumer group: "


def group_of(consumer_info: dict[str, Any]) -> str | None:
    """The group a durable consumer belongs to, from its metadata or description; None if not one of ours."""
    config = consumer_info.get("config") or {}
    group = (config.get("metadata") or {}).get(GROUP_KEY)
    if group:
        return str(group)
    description = str(config.get("description") or "")
    return description.removeprefix(GROUP_DESCRIPTION) if description.startswith(GROUP_DESCRIPTION) else None


@dataclass(frozen=True, slots=True)
class RetryState:
    """A partition paused on its head event: that event's offset, attempts so far, and when it may go again."""

    offset: int
    attempts: int
    not_before: float  # wall-clock epoch seconds: other processes read it from the state bucket

    def to_json(self) -> bytes:
        """The state bucket's value."""
        return orjson.dumps({"offset": self.offset, "attempts": self.attempts, "not_before": self.not_before})

    @classmethod
    def from_json(cls, raw: bytes) -> RetryState | None:
        """Parse a state bucket value; an empty value means no retry is pending."""
        if not raw:
            return None
        data = orjson.loads(raw)
        return cls(int(data["offset"]), int(data["attempts"]), float(data["not_before"]))


@dataclass(frozen=True, slots=True)
class Redelivery:
    """A dead letter handed back to its group: its message in the DLQ stream and what it carries."""

    seq: int
    partition: int
    offset: int
    record: dict[str, Any]


@dataclass(slots=True)
class Delivery:
    """A message the server delivered and the worker has not been handed yet."""

    offset: int
    reply: str
    body: bytes


@dataclass(eq=False, slots=True)
class Partition:
    """A partition this consumer holds: lease, read-ahead, what the worker has in hand, and retry state."""

    index: int
    consumer_name: str
    lease_seq: int
    valid_until: float  # monotonic; acks and pulls stop before the lease could have run out on the server
    buffer: deque[Delivery] = field(default_factory=deque)
    handed: deque[tuple[int, str]] = field(default_factory=deque)  # (offset, ack subject), oldest first
    next_dseq: int = 1
    last_sseq: int = 0
    pull: Pull | None = None
    pull_deadline: float = 0.0
    channel: PullChannel | None = None
    reset_to: int | None = 0  # 0: just above the ack floor; N: at offset N; None: in place
    retry: RetryState | None = None
    retry_handed: bool = False
    more: bool = False

    def drop_read_ahead(self) -> None:
        """Forget deliveries: after a reposition they come again, and their old ack subjects must not be used."""
        self.buffer.clear()
        self.handed.clear()
        self.more = False

    def pop_handed(self, offset: int) -> str | None:
        """Remove handed-out deliveries up to `offset`; the ack subject of the last one removed."""
        reply = None
        while self.handed and self.handed[0][0] <= offset:
            reply = self.handed.popleft()[1]
        return reply


@dataclass(eq=False)
class Member:
    """This process's view of one consumer of one group."""

    group: str
    consumer: str
    parts: dict[int, Partition] = field(default_factory=dict)
    synced_at: float = -math.inf
    heartbeat_seq: int = 0
    adopted: bool = False
    redo_due: bool = True
    redo_ready: list[Redelivery] = field(default_factory=list)
    redo_in_flight: dict[tuple[int, int], Redelivery] = field(default_factory=dict)
    stale_retries: set[int] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
