"""Partner control numbers and the document journal in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.store.repositories.base import Transaction, insert_new
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import partner_counters as counters
from crossdock.store.tables import partner_documents as documents


def _document(row: sa.Row[Any]) -> PartnerDocument:
    return PartnerDocument(
        partner=row.partner,
        direction=DocumentDirection(row.direction),
        kind=row.kind,
        reference=row.reference,
        control_number=row.control_number,
        file_name=row.file_name,
        event_id=row.event_id,
        payload=None if row.payload is None else bytes(row.payload),
        at=row.at,
        answered_at=row.answered_at,
    )


class SqlPartnerRecords:
    """The PartnerRecords repository on `cd_partner_counters` and `cd_partner_documents`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def next_numbers(self, partner: str, kind: str, count: int = 1) -> list[int]:
        """Take the next `count` numbers of a counter, in the caller's transaction."""
        if count < 1:
            raise ValueError("take at least one control number")
        insert = postgresql.insert(counters) if self._tx.dialect == "postgresql" else sqlite.insert(counters)
        # One statement that creates or bumps the row and says where it ended: no read-then-write race.
        statement = (
            insert.values(partner=partner, kind=kind, value=count)
            .on_conflict_do_update(index_elements=["partner", "kind"], set_={"value": counters.c.value + count})
            .returning(counters.c.value)
        )
        last = int(self._tx.write(statement).scalar_one())
        return list(range(last - count + 1, last + 1))

    def record(self, document: PartnerDocument) -> bool:
        """Journal a document; False when it is journaled already."""
        values = {
            "partner": document.partner,
            "direction": document.direction.value,
            "kind": document.kind,
            "reference": document.reference,
            "control_number": document.control_number,
            "file_name": document.file_name,
            "event_id": document.event_id,
            "payload": document.payload,
            "at": stamp(document.at, utc_now()),
            "answered_at": None if document.answered_at is None else as_utc(document.answered_at),
        }
        return insert_new(self._tx, documents, values, documents.c.id)

    def find(self, partner: str, direction: DocumentDirection, kind: str, reference: str) -> list[PartnerDocument]:
        """The journaled documents about one reference, oldest first."""
        t = documents
        rows = self._tx.read(
            sa.select(t)
            .where(
                t.c.partner == partner, t.c.direction == direction.value, t.c.kind == kind, t.c.reference == reference
            )
            .order_by(t.c.at, t.c.id)
        )
        return [_document(row) for row in rows]

    def mark_answered(self, partner: str, kind: str, reference: str, *, at: datetime) -> int:
        """Mark unanswered outbound documents of `kind` about `reference` as answered."""
        t = documents
        result = self._tx.write(
            sa.update(t)
            .where(
                t.c.partner == partner,
                t.c.direction == DocumentDirection.OUTBOUND.value,
                t.c.kind == kind,
                t.c.reference == reference,
                t.c.answered_at.is_(None),
            )
            .values(answered_at=as_utc(at))
        )
        return int(result.rowcount)

    def unanswered(self, partner: str | None, kind: str, *, sent_before: datetime) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent before `sent_before` and still unanswered."""
        t = documents
        query = sa.select(t).where(
            t.c.kind == kind,
            t.c.direction == DocumentDirection.OUTBOUND.value,
            t.c.answered_at.is_(None),
            t.c.at < as_utc(sent_before),
        )
        if partner is not None:
            query = query.where(t.c.partner == partner)
        return [_document(row) for row in self._tx.read(query.order_by(t.c.at, t.c.id))]
