"""Names of everything the NATS EventLog keeps in JetStream, derived from one stream name.

Group and consumer names come from configuration and may hold dots, spaces or unicode; subjects, KV keys and consumer
names allow only a small alphabet, so each name becomes a token: the name itself when it is already safe, otherwise
a cleaned form plus a hash of the original, so two different names never share a token.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_TOKEN = 48


def token(name: str) -> str:
    """A subject-, key- and consumer-safe token for a group or consumer name (stable, collision-free)."""
    if not name:
        raise ValueError("a group or consumer name must not be empty")
    cleaned = _UNSAFE.sub("_", name)
    if cleaned == name and len(name) <= _MAX_TOKEN and not name.startswith("-"):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{cleaned[:_MAX_TOKEN].lstrip('-') or 'x'}-{digest}"


@dataclass(frozen=True, slots=True)
class NatsNames:
    """Stream, bucket, subject and consumer names of one log (one stream and its companions)."""

    stream: str

    def __post_init__(self) -> None:
        if not _STREAM_NAME.match(self.stream):
            raise ValueError(f"stream name {self.stream!r} must be 1-64 characters of letters, digits, '_' or '-'")

    @property
    def prefix(self) -> str:
        """The first subject token of everything this log publishes."""
        return self.stream

    @property
    def all_partitions(self) -> str:
        """The stream's subject filter."""
        return f"{self.prefix}.p.*"

    def partition_subject(self, partition: int) -> str:
        """Where events of one partition are published."""
        return f"{self.prefix}.p.{partition}"

    def consumer(self, group: str, partition: int) -> str:
        """The durable pull consumer that holds a group's position in one partition."""
        return f"{token(group)}__p{partition}"

    # Leases and membership live in a KV-shaped stream whose messages expire after the lease TTL.
    @property
    def lease_bucket(self) -> str:
        """KV bucket of leases and member heartbeats (entries expire after the lease TTL)."""
        return f"{self.stream}_LEASES"

    @property
    def lease_stream(self) -> str:
        """The stream behind the lease bucket."""
        return f"KV_{self.lease_bucket}"

    def lease_subject(self, group: str, partition: int) -> str:
        """The KV subject of one partition's lease."""
        return f"$KV.{self.lease_bucket}.{token(group)}.lease.{partition}"

    def member_subject(self, group: str, consumer: str) -> str:
        """The KV subject of a consumer's heartbeat in a group."""
        return f"$KV.{self.lease_bucket}.{token(group)}.member.{token(consumer)}"

    def group_lease_filter(self, group: str) -> str:
        """Every lease and heartbeat subject of a group."""
        return f"$KV.{self.lease_bucket}.{token(group)}.>"

    # Retry state must outlive any consumer, so it has a bucket without TTL.
    @property
    def state_bucket(self) -> str:
        """KV bucket of per-partition retry state."""
        return f"{self.stream}_STATE"

    @property
    def state_stream(self) -> str:
        """The stream behind the state bucket."""
        return f"KV_{self.state_bucket}"

    def retry_subject(self, group: str, partition: int) -> str:
        """The KV subject of a partition's paused head event."""
        return f"$KV.{self.state_bucket}.{token(group)}.retry.{partition}"

    # Dead letters and the queue of redelivered ones.
    @property
    def dlq_stream(self) -> str:
        """The stream of dead letters and redeliveries."""
        return f"{self.stream}_DLQ"

    @property
    def dlq_subjects(self) -> list[str]:
        """The DLQ stream's subject filters: dead letters of every group, and redeliveries."""
        return [f"{self.prefix}.dlq.*", f"{self.prefix}.redo.*.*"]

    def dead_subject(self, group: str | None) -> str:
        """Dead letters of one group, or of all (a wildcard)."""
        return f"{self.prefix}.dlq.{token(group) if group is not None else '*'}"

    def is_dead_subject(self, subject: str) -> bool:
        """True for the subject of a dead letter (not of a redelivery)."""
        return subject.startswith(f"{self.prefix}.dlq.")

    def redo_subject(self, group: str, partition: int | None = None) -> str:
        """Dead letters handed back to a group, per partition (or all of the group's partitions)."""
        part = "*" if partition is None else str(partition)
        return f"{self.prefix}.redo.{token(group)}.{part}"
