"""Golden records in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crossdock.ports.store import GoldenRecord
from crossdock.store.repositories.base import Transaction, upsert
from crossdock.store.rules import utc_now
from crossdock.store.tables import golden_records as t


def _record(row: sa.Row[Any]) -> GoldenRecord:
    return GoldenRecord(
        entity=row.entity,
        canonical_id=row.canonical_id,
        document=dict(row.document),
        sources=dict(row.sources),
        views=dict(row.views),
        version=int(row.version),
        updated_at=row.updated_at,
    )


class SqlGoldenRecords:
    """The GoldenRecords repository on the `cd_golden_records` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, entity: str, canonical_id: str) -> GoldenRecord | None:
        """The golden record, if the object has been seen."""
        row = self._tx.read(sa.select(t).where(t.c.entity == entity, t.c.canonical_id == canonical_id)).one_or_none()
        return None if row is None else _record(row)

    def put(self, record: GoldenRecord) -> GoldenRecord:
        """Store the record as the next version and return what was stored."""
        stored = GoldenRecord(
            record.entity,
            record.canonical_id,
            record.document,
            record.sources,
            record.views,
            record.version + 1,
            utc_now(),
        )
        upsert(
            self._tx,
            t,
            {
                "entity": stored.entity,
                "canonical_id": stored.canonical_id,
                "document": stored.document,
                "sources": stored.sources,
                "views": stored.views,
                "version": stored.version,
                "updated_at": stored.updated_at,
            },
            key=("entity", "canonical_id"),
        )
        return stored
