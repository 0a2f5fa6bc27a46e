"""Partner control numbers, the document journal and failed file attempts in memory (`uow.partners` of
MemoryStore)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from crossdock.ports.partners import DocumentDirection, FileAttempt, FileKey, PartnerDocument
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

    def awaiting(
        self, partner: str, kind: str, answers: Sequence[str], *, sent_before: datetime, sent_after: datetime
    ) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent in the window whose reference has no inbound answer of `answers`."""
        documents = self._uow.records().partner_documents
        answered = {
            d.reference
            for d in documents
            if d.partner == partner and d.direction is DocumentDirection.INBOUND and d.kind in answers
        }
        before, after = as_utc(sent_before), as_utc(sent_after)
        hits = [
            d
            for d in documents
            if d.partner == partner
            and d.kind == kind
            and d.direction is DocumentDirection.OUTBOUND
            and d.at is not None
            and after <= d.at < before
            and d.reference not in answered
        ]
        return sorted(hits, key=lambda d: d.at or before)

    def file_attempts(self, partner: str) -> list[FileAttempt]:
        """The partner's files that failed and are not filed yet, oldest failure first."""
        hits = [a for (owner, *_), a in self._uow.records().partner_files.items() if owner == partner]
        return sorted(hits, key=lambda a: (a.first_at or utc_now(), a.name))

    def count_file_attempt(self, partner: str, file: FileKey, *, error: str, at: datetime) -> int:
        """Count one more failed attempt at a file; the attempts so far."""
        when = as_utc(at)
        counted = 0

        def count(records: _Records) -> None:
            nonlocal counted
            key = (partner, *file)
            known = records.partner_files.get(key)
            name, size, mtime = file
            if known is None:
                attempt = FileAttempt(partner, name, size, mtime, 1, error, first_at=when, last_at=when)
            else:
                attempt = replace(known, attempts=known.attempts + 1, last_error=error, last_at=when)
            records.partner_files[key] = attempt
            counted = attempt.attempts

        self._uow.change(count)
        return counted

    def forget_file_attempts(self, partner: str, files: Sequence[FileKey]) -> int:
        """Drop the attempt counts of these files; how many there were."""
        dropped = 0

        def drop(records: _Records) -> None:
            nonlocal dropped
            for file in files:
                if records.partner_files.pop((partner, *file), None) is not None:
                    dropped += 1

        self._uow.change(drop)
        return dropped
