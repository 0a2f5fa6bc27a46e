"""Records the partner connectivity keeps in the store: control numbers per partner, and a journal of the
documents exchanged (what we sent, what came back, and when), which SLA checks and the console read."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
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
    kind: str  # the X12 set (850, 855, 856, 810, 846, 997) or a file kind (csv:price_list)
    reference: str  # the business key: the PO number of an 850/855/856, the invoice number of an 810
    control_number: str = ""  # ISA13/GS06/ST02 as we or the partner numbered it; "" for files without one
    file_name: str | None = None
    payload: bytes | None = None  # the file as sent or received: resent as it was, shown to an operator
    event_id: str | None = None  # the event it became (inbound) or came from (outbound)
    at: datetime | None = None
    answered_at: datetime | None = None  # outbound: when the expected answer (855 for an 850) arrived


class PartnerRecords(Protocol):
    """Control numbers and the document journal, per partner."""

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


class PartnerMailbox(Protocol):
    """Where a partner's files come from and go to (an SFTP drop-box today; a VAN or AS2 later)."""

    async def send(self, name: str, content: bytes) -> str:
        """Deliver a file atomically (the partner never sees half of it); return where it went."""
        ...

    async def take(self, accept: AcceptFile) -> int:
        """Hand each waiting file to `accept`; move it on only after `accept` answered. Returns files handled."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...
