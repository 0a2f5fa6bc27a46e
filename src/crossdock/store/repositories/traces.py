"""The TraceKeeper port in SQL (`cd_trace_spans`): spans the console reads, kept for a configured time.

Not part of a unit of work: spans are written by the exporter's own thread in batches of their own, and nothing
else commits with them. A batch is one short transaction, so the API's and the workers' commits barely wait for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.observability.keeper import KeptSpan, SpanStatus, TraceSummary, summarise
from crossdock.store.repositories.base import chunks
from crossdock.store.tables import trace_spans as t

# The store's connection option that makes SQLite begin DEFERRED, so reads never wait for writers (store.sql).
_READ_ONLY = "crossdock_read_only"
_STATUSES: dict[str, SpanStatus] = {"unset": "unset", "ok": "ok", "error": "error"}


class SqlTraceKeeper:
    """Spans in the store's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def keep(self, spans: Sequence[KeptSpan]) -> None:
        """Store spans; one already kept (same trace and span id) is left as it is."""
        if not spans:
            return
        rows = [_values(kept) for kept in spans]
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t).on_conflict_do_nothing(index_elements=["trace_id", "span_id"])
        with self._engine.begin() as connection:
            connection.execute(statement, rows)

    def trace(self, trace_id: str) -> list[KeptSpan]:
        """Every kept span of a trace, in start order."""
        with self._reading() as connection:
            rows = connection.execute(sa.select(t).where(t.c.trace_id == trace_id).order_by(t.c.started_at))
            return [_span(row) for row in rows]

    def recent(self, *, since: datetime, limit: int = 50, errors_only: bool = False) -> list[TraceSummary]:
        """Traces with spans started at or after `since`, newest first."""
        query = (
            sa.select(t.c.trace_id)
            .where(t.c.started_at >= since)
            .group_by(t.c.trace_id)
            .order_by(sa.func.max(t.c.started_at).desc())
            .limit(limit)
        )
        if errors_only:
            query = query.where(t.c.status == "error")
        with self._reading() as connection:
            ids = [row.trace_id for row in connection.execute(query)]
            return summarise(self._spans_of(connection, ids))

    def find(self, business_key: str, *, limit: int = 20) -> list[TraceSummary]:
        """Traces with a span naming `business_key`, newest first."""
        query = (
            sa.select(t.c.trace_id)
            .where(t.c.business_key == business_key)
            .group_by(t.c.trace_id)
            .order_by(sa.func.max(t.c.started_at).desc())
            .limit(limit)
        )
        with self._reading() as connection:
            ids = [row.trace_id for row in connection.execute(query)]
            return summarise(self._spans_of(connection, ids))

    def prune(self, before: datetime) -> int:
        """Forget spans that started before `before`."""
        with self._engine.begin() as connection:
            return connection.execute(sa.delete(t).where(t.c.started_at < before)).rowcount

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{_READ_ONLY: True})
            yield connection

    @staticmethod
    def _spans_of(connection: sa.Connection, trace_ids: list[str]) -> list[KeptSpan]:
        spans: list[KeptSpan] = []
        for part in chunks(trace_ids):
            spans.extend(_span(row) for row in connection.execute(sa.select(t).where(t.c.trace_id.in_(part))))
        return spans


def _values(kept: KeptSpan) -> dict[str, Any]:
    return {
        "trace_id": kept.trace_id,
        "span_id": kept.span_id,
        "parent_span_id": kept.parent_span_id,
        "name": kept.name,
        "kind": kept.kind,
        "service": kept.service,
        "status": kept.status,
        "status_message": kept.status_message,
        "business_key": kept.business_key,
        "started_at": kept.started_at,
        "ended_at": kept.ended_at,
        "attributes": kept.attributes,
        "events": kept.events,
    }


def _span(row: sa.Row[Any]) -> KeptSpan:
    return KeptSpan(
        trace_id=row.trace_id,
        span_id=row.span_id,
        parent_span_id=row.parent_span_id,
        name=row.name,
        kind=row.kind,
        service=row.service,
        status=_STATUSES.get(row.status, "unset"),
        status_message=row.status_message,
        business_key=row.business_key,
        started_at=row.started_at,
        ended_at=row.ended_at,
        attributes=dict(row.attributes),
        events=list(row.events),
    )
