"""Partner control numbers, the document journal and failed file attempts in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.ports.partners import DocumentDirection, FileAttempt, FileKey, PartnerDocument
from crossdock.store.repositories.base import Transaction, insert_new
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import partner_counters as counters
from crossdock.store.tables import partner_documents as documents
from crossdock.store.tables import partner_files as files_t


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
    """The PartnerRecords repository on `cd_partner_counters`, `cd_partner_documents` and `cd_partner_files`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table) if self._tx.dialect == "postgresql" else sqlite.insert(table)

    def next_numbers(self, partner: str, kind: str, count: int = 1) -> list[int]:
        """Take the next `count` numbers of a counter, in the caller's transaction."""
        if count < 1:
            raise ValueError("take at least one control number")
        insert = self._insert(counters)
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

    def awaiting(
        self, partner: str, kind: str, answers: Sequence[str], *, sent_before: datetime, sent_after: datetime
    ) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent in the window whose reference has no inbound answer of `answers`."""
        t = documents
        answer = documents.alias("answer")
        answered = (
            sa.select(answer.c.id)
            .where(
                answer.c.partner == t.c.partner,
                answer.c.direction == DocumentDirection.INBOUND.value,
                answer.c.kind.in_(list(answers)),
                answer.c.reference == t.c.reference,
            )
            .exists()
        )
        query = sa.select(t).where(
            t.c.partner == partner,
            t.c.kind == kind,
            t.c.direction == DocumentDirection.OUTBOUND.value,
            t.c.at < as_utc(sent_before),
            t.c.at >= as_utc(sent_after),
            ~answered,
        )
        return [_document(row) for row in self._tx.read(query.order_by(t.c.at, t.c.id))]

    def file_attempts(self, partner: str) -> list[FileAttempt]:
        """The partner's files that failed and are not filed yet, oldest failure first."""
        t = files_t
        rows = self._tx.read(sa.select(t).where(t.c.partner == partner).order_by(t.c.first_at, t.c.name))
        return [
            FileAttempt(
                partner=row.partner,
                name=row.name,
                size=int(row.size),
                mtime=int(row.mtime),
                attempts=int(row.attempts),
                last_error=row.last_error,
                first_at=row.first_at,
                last_at=row.last_at,
            )
            for row in rows
        ]

    def count_file_attempt(self, partner: str, file: FileKey, *, error: str, at: datetime) -> int:
        """Count one more failed attempt at a file; the attempts so far."""
        name, size, mtime = file
        when = as_utc(at)
        # One statement that creates or bumps the row: two workers failing on one file both count.
        statement = (
            self._insert(files_t)
            .values(
                partner=partner,
                name=name,
                size=size,
                mtime=mtime,
                attempts=1,
                last_error=error,
                first_at=when,
                last_at=when,
            )
            .on_conflict_do_update(
                index_elements=["partner", "name", "size", "mtime"],
                set_={"attempts": files_t.c.attempts + 1, "last_error": error, "last_at": when},
            )
            .returning(files_t.c.attempts)
        )
        return int(self._tx.write(statement).scalar_one())

    def forget_file_attempts(self, partner: str, files: Sequence[FileKey]) -> int:
        """Drop the attempt counts of these files; how many there were."""
        dropped = 0
        t = files_t
        for name, size, mtime in files:
            result = self._tx.write(
                sa.delete(t).where(t.c.partner == partner, t.c.name == name, t.c.size == size, t.c.mtime == mtime)
            )
            dropped += int(result.rowcount)
        return dropped
