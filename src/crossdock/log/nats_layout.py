"""The JetStream layout of the NATS EventLog: the event stream, the lease and state buckets, the DLQ stream.

Each is created with the configuration below unless it exists; an existing event stream must have been created with
the same number of partitions, since moving subjects between partitions would break order per subject.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from crossdock.log.nats_names import NatsNames
from crossdock.log.nats_wire import JetStreamApi, JetStreamError, nanos
from crossdock.ports.event_log import EventLogError

log = logging.getLogger(__name__)

PARTITIONS_KEY = "crossdock.partitions"


@dataclass(frozen=True, slots=True)
class Layout:
    """What the server's layout allows: atomic batch appends, and the lease TTL in force."""

    atomic: bool
    lease_ttl_s: float


@dataclass(frozen=True, slots=True)
class LayoutSpec:
    """The layout a log asks for."""

    names: NatsNames
    partitions: int
    replicas: int
    duplicate_window_s: float
    lease_ttl_s: float
    allow_atomic: bool  # the server is 2.12 or newer

    def common(self) -> dict[str, Any]:
        """Settings every stream of the log shares: durable on disk, kept until limits say otherwise."""
        return {
            "storage": "file",
            "num_replicas": self.replicas,
            "retention": "limits",
            "discard": "old",
            "allow_direct": True,
        }


async def ensure_layout(api: JetStreamApi, spec: LayoutSpec) -> Layout:
    """Create whatever of the layout is missing; report what the server allows."""
    atomic = await _ensure_event_stream(api, spec)
    lease_ttl_s = await _ensure_buckets(api, spec)
    await api.ensure_stream(
        {
            "name": spec.names.dlq_stream,
            "subjects": spec.names.dlq_subjects,
            **spec.common(),
            "duplicate_window": nanos(spec.duplicate_window_s),
        }
    )
    return Layout(atomic, lease_ttl_s)


async def _ensure_event_stream(api: JetStreamApi, spec: LayoutSpec) -> bool:
    names = spec.names
    config: dict[str, Any] = {
        "name": names.stream,
        "subjects": [names.all_partitions],
        **spec.common(),
        "duplicate_window": nanos(spec.duplicate_window_s),
        "metadata": {PARTITIONS_KEY: str(spec.partitions)},
    }
    if spec.allow_atomic:
        config["allow_atomic"] = True
    info = await api.ensure_stream(config)
    existing = info["config"]
    stored = (existing.get("metadata") or {}).get(PARTITIONS_KEY)
    if stored is not None and int(stored) != spec.partitions:
        raise EventLogError(
            f"stream {names.stream} was created with {stored} partitions, this log is configured with "
            f"{spec.partitions}; use the same number (changing it would break order per subject)"
        )
    if spec.allow_atomic and not existing.get("allow_atomic"):
        try:
            existing["allow_atomic"] = True
            info = await api.call(f"STREAM.UPDATE.{names.stream}", existing)
        except JetStreamError as exc:
            log.warning("stream %s cannot take atomic batches (%s); appends are pipelined", names.stream, exc)
    return bool(info["config"].get("allow_atomic"))


async def _ensure_buckets(api: JetStreamApi, spec: LayoutSpec) -> float:
    """Create the lease and state buckets; the lease TTL in force (an existing bucket's TTL wins)."""
    names, ttl = spec.names, spec.lease_ttl_s
    leases = await api.ensure_stream(
        {
            "name": names.lease_stream,
            "subjects": [f"$KV.{names.lease_bucket}.>"],
            **spec.common(),
            # A lease or heartbeat not renewed within the TTL expires: that is how a dead consumer lets go.
            "max_msgs_per_subject": 1,
            "max_age": nanos(ttl),
            "duplicate_window": nanos(min(ttl, 120.0)),
            "allow_rollup_hdrs": True,
        }
    )
    existing_ttl = int(leases["config"].get("max_age", 0)) / 1e9
    if existing_ttl and abs(existing_ttl - ttl) > 1e-3:
        log.warning(
            "lease bucket %s expires entries after %ss, not %ss; using %ss",
            names.lease_bucket,
            existing_ttl,
            ttl,
            existing_ttl,
        )
        ttl = existing_ttl
    await api.ensure_stream(
        {
            "name": names.state_stream,
            "subjects": [f"$KV.{names.state_bucket}.>"],
            **spec.common(),
            "max_msgs_per_subject": 1,
            "duplicate_window": nanos(120.0),
            "allow_rollup_hdrs": True,
        }
    )
    return ttl
