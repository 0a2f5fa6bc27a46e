"""Lineage in SQL: a row per hop, plus a `cd_lineage_keys` row per business key value for indexed search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from crossdock.ports.store import LineageEntry
from crossdock.store.repositories.base import Transaction
from crossdock.store.rules import stamp, utc_now
from crossdock.store.tables import lineage as t
from crossdock.store.tables import lineage_keys as keys


def _entry(row: sa.Row[Any]) -> LineageEntry:
    return LineageEntry(
        id=row.id,
        correlation_id=row.correlation_id,
        system=row.system,
        step=row.step,
        outcome=row.outcome,
        subject=row.subject,
        event_id=row.event_id,
        business_keys=dict(row.business_keys),
        detail=dict(row.detail),
        started_at=row.started_at,
        duration_ms=row.duration_ms,
    )


class SqlLineageLog:
    """The LineageLog repository on `cd_lineage` and `cd_lineage_keys`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def record(self, entries: Sequence[LineageEntry]) -> None:
        """Append lineage rows (and their key rows) in two batched statements."""
        if not entries:
            return
        now = utc_now()
        rows = [
            {
                "correlation_id": e.correlation_id,
                "subject": e.subject,
                "event_id": e.event_id,
                "system": e.system,
                "step": e.step,
                "outcome": e.outcome,
                "business_keys": e.business_keys,
                "detail": e.detail,
                "started_at": stamp(e.started_at, now),
                "duration_ms": e.duration_ms,
            }
            for e in entries
        ]
        ids = self._tx.write(sa.insert(t).returning(t.c.id, sort_by_parameter_order=True), rows).scalars().all()
        key_rows = [
            {"lineage_id": lineage_id, "key_name": name, "key_value": value}
            for lineage_id, entry in zip(ids, entries, strict=True)
            for name, value in entry.business_keys.items()
        ]
        if key_rows:
            self._tx.write(sa.insert(keys), key_rows)

    def find(self, key: str, limit: int = 500) -> list[LineageEntry]:
        """Rows whose correlation id, subject or any business key value equals `key`, oldest first."""
        # A UNION of three index lookups; an OR across tables would push both backends towards a scan.
        matches = sa.union(
            sa.select(t.c.id).where(t.c.correlation_id == key),
            sa.select(t.c.id).where(t.c.subject == key),
            sa.select(keys.c.lineage_id).where(keys.c.key_value == key),
        )
        rows = self._tx.read(sa.select(t).where(t.c.id.in_(matches)).order_by(t.c.started_at, t.c.id).limit(limit))
        return [_entry(row) for row in rows]
