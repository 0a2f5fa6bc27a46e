"""Traces kept locally for the operations console: the `TraceKeeper` port and its in-memory version.

Finished spans arrive in batches from a background thread (`export.KeeperExporter`), never on a request's path.
The SQL version lives in the store (`store/repositories/traces.py`, table `cd_trace_spans`). A trace's spans may
come from several processes (the API, a worker) and arrive minutes apart, so a trace is simply the spans that share
its id; nothing is summarised ahead of time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

SpanStatus = Literal["unset", "ok", "error"]


@dataclass(frozen=True, slots=True)
class KeptSpan:
    """One finished span as the console reads it."""

    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    name: str
    started_at: datetime
    ended_at: datetime
    parent_span_id: str | None = None
    kind: str = "internal"  # server, client, producer, consumer, internal
    service: str = "crossdock"
    status: SpanStatus = "unset"
    status_message: str | None = None
    business_key: str | None = None  # an order or PO number, when a span names one (the console's search)
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # name, at, attributes (exceptions among them)

    @property
    def duration_ms(self) -> float:
        """How long the span took."""
        return (self.ended_at - self.started_at).total_seconds() * 1000


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One trace at a glance: its first span's name, when it ran, how many spans, how many failed."""

    trace_id: str
    root_name: str
    started_at: datetime
    ended_at: datetime
    spans: int
    errors: int
    business_keys: tuple[str, ...] = ()

    @property
    def duration_ms(self) -> float:
        """From the first span's start to the last span's end."""
        return (self.ended_at - self.started_at).total_seconds() * 1000


class TraceKeeper(Protocol):
    """Finished spans, kept for a while for the console."""

    def keep(self, spans: Sequence[KeptSpan]) -> None:
        """Store spans; a span already kept (same trace and span id) is not stored twice."""
        ...

    def trace(self, trace_id: str) -> list[KeptSpan]:
        """Every kept span of a trace, in start order (empty when none is kept)."""
        ...

    def recent(self, *, since: datetime, limit: int = 50, errors_only: bool = False) -> list[TraceSummary]:
        """Traces with spans started at or after `since`, newest first."""
        ...

    def find(self, business_key: str, *, limit: int = 20) -> list[TraceSummary]:
        """Traces with a span naming `business_key` (an order or PO number), newest first."""
        ...

    def prune(self, before: datetime) -> int:
        """Forget spans that started before `before` (retention); how many were removed."""
        ...


def summarise(spans: Iterable[KeptSpan]) -> list[TraceSummary]:
    """Summaries of the traces the spans belong to, newest first (the adapters share this)."""
    by_trace: dict[str, list[KeptSpan]] = {}
    for kept in spans:
        by_trace.setdefault(kept.trace_id, []).append(kept)
    summaries = []
    for trace_id, members in by_trace.items():
        members.sort(key=lambda s: s.started_at)
        ids = {s.span_id for s in members}
        # The root is the span without a parent here; a trace continued from outside has its parent elsewhere.
        root = next((s for s in members if s.parent_span_id is None or s.parent_span_id not in ids), members[0])
        keys = tuple(dict.fromkeys(s.business_key for s in members if s.business_key))
        summaries.append(
            TraceSummary(
                trace_id=trace_id,
                root_name=root.name,
                started_at=members[0].started_at,
                ended_at=max(s.ended_at for s in members),
                spans=len(members),
                errors=sum(1 for s in members if s.status == "error"),
                business_keys=keys,
            )
        )
    summaries.sort(key=lambda s: s.started_at, reverse=True)
    return summaries


class MemoryTraceKeeper:
    """Spans in memory, at most `max_spans` of them (the oldest go first): tests and the memory store."""

    def __init__(self, *, max_spans: int = 100_000) -> None:
        self._spans: dict[tuple[str, str], KeptSpan] = {}
        self._max_spans = max_spans
        self._lock = threading.Lock()  # spans arrive on the exporter's thread while the console reads

    def keep(self, spans: Sequence[KeptSpan]) -> None:
        """Store spans; a span already kept is not stored twice."""
        with self._lock:
            for kept in spans:
                self._spans.setdefault((kept.trace_id, kept.span_id), kept)
            while len(self._spans) > self._max_spans:
                del self._spans[next(iter(self._spans))]

    def trace(self, trace_id: str) -> list[KeptSpan]:
        """Every kept span of a trace, in start order."""
        with self._lock:
            found = [s for (t, _), s in self._spans.items() if t == trace_id]
        return sorted(found, key=lambda s: s.started_at)

    def recent(self, *, since: datetime, limit: int = 50, errors_only: bool = False) -> list[TraceSummary]:
        """Traces with spans started at or after `since`, newest first."""
        with self._lock:
            wanted = {s.trace_id for s in self._spans.values() if s.started_at >= since}
            spans = [s for s in self._spans.values() if s.trace_id in wanted]
        summaries = summarise(spans)
        if errors_only:
            summaries = [s for s in summaries if s.errors]
        return summaries[:limit]

    def find(self, business_key: str, *, limit: int = 20) -> list[TraceSummary]:
        """Traces with a span naming `business_key`, newest first."""
        with self._lock:
            wanted = {s.trace_id for s in self._spans.values() if s.business_key == business_key}
            spans = [s for s in self._spans.values() if s.trace_id in wanted]
        return summarise(spans)[:limit]

    def prune(self, before: datetime) -> int:
        """Forget spans that started before `before`."""
        with self._lock:
            old = [key for key, s in self._spans.items() if s.started_at < before]
            for key in old:
                del self._spans[key]
        return len(old)
