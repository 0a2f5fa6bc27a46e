"""The process outbox in SQL: events committed with the step that emitted them, until the relay logs them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.events.envelope import CloudEvent
from crossdock.ports.store import OutboxEntry
from crossdock.store.repositories.base import Transaction, chunks
from crossdock.store.rules import stamp, utc_now
from crossdock.store.tables import outbox as t


def _entry(row: sa.Row[Any]) -> OutboxEntry:
    return OutboxEntry(
        event=CloudEvent.from_json(row.body),
        instance_id=row.instance_id,
        seq=row.seq,
        position=row.position,
        created_at=row.created_at,
        published_at=row.published_at,
    )


class SqlOutbox:
    """The Outbox repository on the `cd_outbox` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        """Store events in order; an event id already stored is ignored."""
        if not entries:
            return
        now = utc_now()
        rows = [
            {
                "event_id": entry.event.id,
                "instance_id": entry.instance_id,
                "seq": entry.seq,
                "event_type": entry.event.type,
                "subject": entry.event.subject,
                "body": entry.event.to_json().decode(),
                "created_at": stamp(entry.created_at, now),
            }
            for entry in entries
        ]
        insert = postgresql.insert(t) if self._tx.dialect == "postgresql" else sqlite.insert(t)
        self._tx.write(insert.on_conflict_do_nothing(index_elements=["event_id"]), rows)

    def pending(self, limit: int = 500) -> list[OutboxEntry]:
        """Unpublished events in the order they were stored."""
        rows = self._tx.read(sa.select(t).where(t.c.published_at.is_(None)).order_by(t.c.position).limit(limit))
        return [_entry(row) for row in rows]

    def for_instance(self, instance_id: str, limit: int = 500) -> list[OutboxEntry]:
        """The events a process instance emitted, in order."""
        rows = self._tx.read(sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.position).limit(limit))
        return [_entry(row) for row in rows]

    def mark_published(self, event_ids: Sequence[str], *, now: datetime) -> None:
        """Record that these events are in the log."""
        for chunk in chunks(list(event_ids)):
            self._tx.write(sa.update(t).where(t.c.event_id.in_(chunk)).values(published_at=now))
