"""Writes X12 interchanges: ISA padded to its fixed widths, GS/GE and ST/SE with counts and control numbers.

Control numbers come from a `ControlNumbers` port (one counter per partner and envelope level);
`MemoryControlNumbers` is the in-memory version, a durable one plugs in the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from crossdock.edi.x12.envelope import FUNCTIONAL_IDS
from crossdock.edi.x12.errors import X12WriteError
from crossdock.edi.x12.tokenizer import Delimiters, Segment

_MAX_CONTROL = 999_999_999


class ControlNumbers(Protocol):
    """Hands out the next ISA13, GS06 and ST02 control numbers for a trading partner."""

    def next_interchange(self, partner: str) -> int:
        """The next interchange control number (ISA13/IEA02) for `partner`."""
        ...

    def next_group(self, partner: str) -> int:
        """The next functional group control number (GS06/GE02) for `partner`."""
        ...

    def next_transaction_set(self, partner: str) -> int:
        """The next transaction set control number (ST02/SE02) for `partner`."""
        ...


class MemoryControlNumbers:
    """Control numbers counted in memory, per partner and level, from 1, wrapping after 999999999."""

    def __init__(self) -> None:
        self._counters: defaultdict[tuple[str, str], int] = defaultdict(int)

    def _next(self, level: str, partner: str) -> int:
        value = self._counters[level, partner] % _MAX_CONTROL + 1
        self._counters[level, partner] = value
        return value

    def next_interchange(self, partner: str) -> int:
        """The next interchange control number for `partner`."""
        return self._next("interchange", partner)

    def next_group(self, partner: str) -> int:
        """The next group control number for `partner`."""
        return self._next("group", partner)

    def next_transaction_set(self, partner: str) -> int:
        """The next transaction set control number for `partner`."""
        return self._next("set", partner)


@dataclass(frozen=True, slots=True)
class InterchangeParties:
    """Who sends and who receives: ISA05-08 qualifiers and ids, GS02/GS03 application codes."""

    sender_id: str
    receiver_id: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str | None = None
    """GS02; defaults to the ISA sender id."""
    application_receiver: str | None = None
    """GS03; defaults to the ISA receiver id."""

    @property
    def partner_key(self) -> str:
        """The key control numbers are counted under: the receiver as qualifier and id."""
        return f"{self.receiver_qualifier}:{self.receiver_id}"


@dataclass(frozen=True, slots=True)
class OutboundSet:
    """A transaction set to write: its id and the segments between ST and SE."""

    set_id: str
    body: list[Segment]


def _isa_version(version: str) -> str:
    """ISA12 for a GS08 version: 004010 → 00401, 005010 → 00501."""
    return version[:5] if len(version) >= 6 and version[:6].isdigit() else "00401"


class X12Writer:
    """Serialises transaction sets into interchanges with valid envelopes."""

    def __init__(
        self,
        parties: InterchangeParties,
        control_numbers: ControlNumbers,
        *,
        delimiters: Delimiters | None = None,
        version: str = "004010",
        usage: str = "P",
        acknowledgment_requested: bool = False,
        line_breaks: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        isa_version = _isa_version(version)
        if delimiters is None:
            delimiters = Delimiters(repetition="^" if isa_version >= "00402" else None)
        delimiters.check()
        if isa_version >= "00402" and delimiters.repetition is None:
            raise X12WriteError(f"version {version} needs a repetition separator (ISA11); pass one in delimiters")
        self.parties = parties
        self.delimiters = delimiters
        self.version = version
        self._isa_version = isa_version
        self._numbers = control_numbers
        self._usage = usage
        self._ack = "1" if acknowledgment_requested else "0"
        self._newline = "\n" if line_breaks else ""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._forbidden = {delimiters.element, delimiters.component, delimiters.segment}
        if delimiters.repetition:
            self._forbidden.add(delimiters.repetition)

    def segment(self, elements: Segment) -> str:
        """One segment as text with its terminator; trailing empty elements are dropped."""
        values = list(elements)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        for value in values:
            if any(char in value for char in self._forbidden):
                raise X12WriteError(
                    f"value {value!r} of segment {values[0]} holds a delimiter; remove it or choose other delimiters",
                    segment_id=values[0],
                )
        return self.delimiters.element.join(values) + self.delimiters.segment + self._newline

    def write(self, *transaction_sets: OutboundSet) -> bytes:
        """One interchange holding `transaction_sets`, one functional group per GS01 in order of appearance."""
        groups: dict[str, list[OutboundSet]] = {}
        for transaction in transaction_sets:
            groups.setdefault(FUNCTIONAL_IDS.get(transaction.set_id, "ZZ"), []).append(transaction)
        return self.interchange(list(groups.values()))

    def interchange(self, groups: Sequence[Sequence[OutboundSet]]) -> bytes:
        """One interchange with one functional group per inner sequence (all of one functional id)."""
        parties = self.parties
        partner = parties.partner_key
        now = self._clock()
        control = self._numbers.next_interchange(partner)
        isa_values = [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            parties.sender_qualifier,
            parties.sender_id.ljust(15),
            parties.receiver_qualifier,
            parties.receiver_id.ljust(15),
            now.strftime("%y%m%d"),
            now.strftime("%H%M"),
            (self.delimiters.repetition or "U") if self._isa_version >= "00402" else "U",
            self._isa_version,
            f"{control:09d}",
            self._ack,
            self._usage,
        ]
        for value, width in zip(isa_values[1:], (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1), strict=True):
            if len(value) != width:
                raise X12WriteError(f"ISA value {value!r} does not fit its width {width}; shorten it", segment_id="ISA")
        sep = self.delimiters.element
        parts = [sep.join(isa_values) + sep + self.delimiters.component + self.delimiters.segment + self._newline]
        parts.extend(self._group(group, now) for group in groups)
        parts.append(self.segment(["IEA", str(len(groups)), f"{control:09d}"]))
        return "".join(parts).encode("utf-8")

    def _group(self, transaction_sets: Sequence[OutboundSet], now: datetime) -> str:
        if not transaction_sets:
            raise X12WriteError("a functional group needs at least one transaction set")
        functional_ids = {FUNCTIONAL_IDS.get(t.set_id, "ZZ") for t in transaction_sets}
        if len(functional_ids) != 1:
            raise X12WriteError(f"one group cannot carry sets of groups {sorted(functional_ids)}; split them")
        parties = self.parties
        control = self._numbers.next_group(parties.partner_key)
        gs = [
            "GS",
            functional_ids.pop(),
            parties.application_sender or parties.sender_id,
            parties.application_receiver or parties.receiver_id,
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            str(control),
            "X",
            self.version,
        ]
        parts = [self.segment(gs)]
        parts.extend(self._transaction_set(transaction) for transaction in transaction_sets)
        parts.append(self.segment(["GE", str(len(transaction_sets)), str(control)]))
        return "".join(parts)

    def _transaction_set(self, transaction: OutboundSet) -> str:
        control = f"{self._numbers.next_transaction_set(self.parties.partner_key):04d}"
        parts = [self.segment(["ST", transaction.set_id, control])]
        parts.extend(self.segment(segment) for segment in transaction.body)
        parts.append(self.segment(["SE", str(len(transaction.body) + 2), control]))
        return "".join(parts)
