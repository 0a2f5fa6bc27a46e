"""Records the partner connectivity keeps in the store: control numbers per partner, a journal of the documents
exchanged (what we sent, what came back, and when), which SLA checks and the console read, and how often taking a
partner's file has failed; and the mailbox a partner's files come and go through."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DocumentDirection(enum.StrEnum):
    """Which way a document went."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


@dataclass(frozen=True, slots=True)
class PartnerDocument:
    """One business document exchanged with a partner (an 850 sent, an 855 received), keyed by what it is about."""

    partner: str
    direction: DocumentDirection
    kind: str  # the X12 set (850, 855, 856, 810, 846, 997), a file kind (csv:price_list), or CLOSED
    reference: str  # the business key: the PO number of an 850/855/856, the invoice number of an 810
    control_number: str = ""  # ISA13/GS06/ST02 as we or the partner numbered it; "" for files without one
    file_name: str | None = None
    payload: bytes | None = None  # the file as sent or received: resent as it was, shown to an operator
    event_id: str | None = None  # the event it became (inbound) or came from (outbound)
    at: datetime | None = None
    answered_at: datetime | None = None  # outbound: when the expected answer (855 for an 850) arrived


@dataclass(frozen=True, slots=True)
class FileAttempt:
    """A partner's file that could not be taken yet: how often, why the last time, and when."""

    partner: str
    name: str
    size: int  # with `mtime`, tells a new upload under the same name from the file that failed
    mtime: int
    attempts: int
    last_error: str
    first_at: datetime | None = None
    last_at: datetime | None = None


FileKey = tuple[str, int, int]
"""A file as a mailbox lists it: name, size in bytes, modification time (epoch seconds)."""


CLOSED = "closed"
"""The journal kind of a fact rather than a file: nothing more is due from the partner about the reference (an 855
rejected the PO in full, so no 856 or 810 will follow); SLA clocks for later answers stop there."""


class PartnerRecords(Protocol):
    """Control numbers, the document journal and failed file attempts, per partner."""

    def next_numbers(self, partner: str, kind: str, count: int = 1) -> list[int]:
        """Take the next `count` numbers of a counter (`interchange`, `group`, `set`), in the caller's
        transaction: a send that rolls back gives its numbers back, one that commits keeps them, so control
        numbers have no gaps the partner would query."""
        ...

    def record(self, document: PartnerDocument) -> bool:
        """Journal a document; False (nothing written) when the same (partner, direction, kind, reference,
        control number) is journaled already, as a re-read file or a re-sent PO would be."""
        ...

    def find(self, partner: str, direction: DocumentDirection, kind: str, reference: str) -> list[PartnerDocument]:
        """The journaled documents about one reference, oldest first."""
        ...

    def mark_answered(self, partner: str, kind: str, reference: str, *, at: datetime) -> int:
        """Mark our unanswered outbound documents of `kind` about `reference` as answered; return how many."""
        ...

    def unanswered(self, partner: str | None, kind: str, *, sent_before: datetime) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent before `sent_before` and still unanswered (for SLA exceptions)."""
        ...

    def awaiting(
        self, partner: str, kind: str, answers: Sequence[str], *, sent_before: datetime, sent_after: datetime
    ) -> list[PartnerDocument]:
        """Outbound documents of `kind` sent between `sent_after` and `sent_before` about whose reference no inbound
        document of any kind in `answers` is journaled (an 850 still waiting for its 856), oldest first."""
        ...

    def file_attempts(self, partner: str) -> list[FileAttempt]:
        """The partner's files that failed and are not filed yet, oldest failure first."""
        ...

    def count_file_attempt(self, partner: str, file: FileKey, *, error: str, at: datetime) -> int:
        """Count one more failed attempt at a file (the first creates its row); return the attempts so far."""
        ...

    def forget_file_attempts(self, partner: str, files: Sequence[FileKey]) -> int:
        """Drop the attempt counts of these files (filed, or gone from the mailbox); return how many were kept."""
        ...


@dataclass(frozen=True, slots=True)
class InboundVerdict:
    """What became of a file taken from a partner's mailbox: durably logged, or refused (and why)."""

    logged: bool
    reason: str | None = None

    @classmethod
    def accepted(cls) -> InboundVerdict:
        """Its contents are in the log: the file may move to processed/."""
        return cls(logged=True)

    @classmethod
    def refused(cls, reason: str) -> InboundVerdict:
        """It cannot be used: the file moves to failed/ with the reason beside it."""
        return cls(logged=False, reason=reason)


AcceptFile = Callable[[str, bytes], Awaitable[InboundVerdict]]
AcceptStream = Callable[[str, AsyncIterator[bytes]], Awaitable[InboundVerdict]]


@dataclass(frozen=True, slots=True)
class StreamedFiles:
    """Files a mailbox hands over as a stream of byte chunks instead of whole (CSV batches of any size): which
    names, and who reads them. Reading them must be idempotent, as for whole files: a stream broken off is read
    again from the start."""

    wanted: Callable[[str], bool]
    accept: AcceptStream


class FileAttempts(Protocol):
    """Where a mailbox poller counts failed attempts at a file, so that the count survives a restart and a file
    that always fails is given up on (moved to failed/) after the configured number of attempts."""

    async def attempts(self, file: FileKey) -> tuple[int, str]:
        """Failed attempts at the file so far, and the last reason ("" when none)."""
        ...

    async def failed(self, file: FileKey, reason: str) -> int:
        """Count a failed attempt; the attempts so far."""
        ...

    async def forget(self, file: FileKey) -> None:
        """The file was filed (processed or failed): a new upload under its name starts from zero."""
        ...

    async def keep_only(self, present: Collection[FileKey]) -> None:
        """Drop the counts of files no longer in the mailbox."""
        ...


class PartnerMailbox(Protocol):
    """Where a partner's files come from and go to (an SFTP drop-box today; a VAN or AS2 later)."""

    async def send(self, name: str, content: bytes) -> str:
        """Deliver a file atomically (the partner never sees half of it); return where it went."""
        ...

    async def take(self, accept: AcceptFile, streamed: StreamedFiles | None = None) -> int:
        """Hand each waiting file to `accept` (whole) or, if `streamed` wants it, to `streamed.accept` (in chunks);
        move it on only after the callback answered. Returns files handled."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...
