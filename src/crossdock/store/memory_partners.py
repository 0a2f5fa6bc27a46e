"""Partner control numbers and the document journal in memory (`uow.partners` of MemoryStore)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.store.rules import as_utc, stamp, utc_now

if TYPE_CHECKING:
    from crossdock.store.memory import MemoryUnitOfWork, _Records


def _key(document: PartnerDocument) -> tuple[str, str, str, str, str]:
    return (document.partner, document.direction.value, document.kind, document.reference, document.control_number)


class MemoryPartnerRecords:
    """PartnerRecords in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def next_numbers(self, partner: str, kind: str, count: int = 1) -> list[int]:
        """Take the next `count` numbers of a counter, in the caller's transaction."""
        if count < 1:
            raise ValueError("take at least one control number")
        taken: list[int] = []

        def take(records: _Records) -> None:
            last = records.partner_counters.get((partner, kind), 0)
            records.partner_counters[(partner, kind)] = last + count
            taken.extend(range(last + 1, last + count + 1))

        self._uow.change(take)
        return taken

    def record(self, document: PartnerDocument) -> bool:
        """Journal a document; False when it is journaled already."""
        stored = replace(document, at=stamp(document.at, utc_now()))
        added = False

        def add(records: _Records) -> None:
            nonlocal added
            if any(_key(d) == _key(stored) for d in records.partner_documents):
                return
            records.partner_documents.append(stored)
            added = True

        self._uow.change(add)
        return added

    def find(self, partner: str, direction: DocumentDirection, kind: str, reference: str) -> list[PartnerDocument]:
        """The journaled documents about one reference, oldest first."""
        hits = [
            d
            for d in self._uow.records().partner_documents
            if (d.partner, d.direction, d.kind, d.reference) == (partner, direction, kind, reference)
        ]
        return sorted(hits, key=lambda d: d.at or utc_now())

    def mark_answered(self, partner: str, kind: str, reference: str, *, at: datetime) -> int:
        """Mark unanswered outbound documents of `kind` about `reference` as answered."""
        marked = 0

        def mark(records: _Records) -> None:
            nonlocal marked
            for n, d in enumerate(records.partner_documents):
                if (d.partner, d.direction, d.kind, d.reference) == (
                    partner,
                    DocumentDirection.OUTBOUND,
                    kind,
                    reference,
                ) and d.answered_at is None:
                    records.partner_documents[n] = replace(d, answered_at=as_utc(at))
                    marked += 1

        self._uow.change(mark)
        return marked

    def unanswered(self, partner: str | None, kind: str, *, sent_before: datetime) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent before `sent_before` and still unanswered."""
        cutoff = as_utc(sent_before)
        hits = [
            d
            for d in self._uow.records().partner_documents
            if d.kind == kind
            and d.direction is DocumentDirection.OUTBOUND
            and d.answered_at is None
            and d.at is not None
            and d.at < cutoff
            and (partner is None or d.partner == partner)
        ]
        return sorted(hits, key=lambda d: d.at or cutoff)
