"""The X12 envelope reader: ISA/IEA, GS/GE and ST/SE around transaction sets, checked in strict or lenient mode.

Transaction sets are cut out of the tokenizer's text by searching for `~SE*` (C speed); only envelope segments are
looked at one by one. Strict mode raises `X12EnvelopeError` at the first anomaly; lenient mode records it in
`X12Reader.anomalies` (and on the group or set it concerns, for the 997) and reads on.
"""

from __future__ import annotations

import io
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from crossdock.edi.x12.errors import X12EnvelopeError
from crossdock.edi.x12.tokenizer import (
    DEFAULT_CHUNK_SIZE,
    Delimiters,
    InterchangeStart,
    Segment,
    SegmentText,
    X12Tokenizer,
)

FUNCTIONAL_IDS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "846": "IB", "860": "PC", "997": "FA"}
"""The GS01 functional identifier each transaction set travels under."""


class AnomalyKind(StrEnum):
    """What is wrong with an envelope; the values name the rule, the 997 codes come from `ack_code`."""

    ISA_WIDTH = "isa_width"
    ISA_VALUE = "isa_value"
    INTERCHANGE_CONTROL = "interchange_control_number"
    GROUP_COUNT = "group_count"
    IEA_MISSING = "iea_missing"
    GS_MISSING = "gs_missing"
    GS_VALUE = "gs_value"
    GROUP_CONTROL = "group_control_number"
    SET_COUNT = "set_count"
    GE_MISSING = "ge_missing"
    FUNCTIONAL_ID = "functional_id"
    SET_CONTROL = "set_control_number"
    SET_CONTROL_DUPLICATE = "set_control_number_duplicate"
    SEGMENT_COUNT = "segment_count"
    SE_MISSING = "se_missing"
    ST_VALUE = "st_value"
    STRAY_SEGMENT = "stray_segment"
    ENCODING = "encoding"


# 997 AK5 (set) and AK9 (group) syntax error codes for the anomalies that concern a set or a group.
_ACK_CODES: dict[AnomalyKind, str] = {
    AnomalyKind.SE_MISSING: "2",
    AnomalyKind.SET_CONTROL: "3",
    AnomalyKind.SEGMENT_COUNT: "4",
    AnomalyKind.ST_VALUE: "6",
    AnomalyKind.SET_CONTROL_DUPLICATE: "23",
    AnomalyKind.FUNCTIONAL_ID: "6",
    AnomalyKind.GE_MISSING: "3",
    AnomalyKind.GROUP_CONTROL: "4",
    AnomalyKind.SET_COUNT: "5",
    AnomalyKind.GS_VALUE: "6",
}


@dataclass(frozen=True, slots=True)
class EnvelopeAnomaly:
    """A broken envelope rule, with where it was found and what to do about it."""

    kind: AnomalyKind
    message: str
    position: int
    """Segment ordinal in the stream (1 = the first ISA)."""
    segment_id: str

    @property
    def ack_code(self) -> str | None:
        """The 997 AK502 or AK905 code for this anomaly, if it concerns a set or a group."""
        return _ACK_CODES.get(self.kind)


@dataclass(slots=True)
class Interchange:
    """An ISA header (and, once read, its IEA trailer facts)."""

    isa: Segment
    delimiters: Delimiters
    position: int
    group_count: int = 0
    closed: bool = False

    @property
    def sender(self) -> tuple[str, str]:
        """(ISA05 qualifier, ISA06 id) with padding removed."""
        return self.isa[5].strip(), self.isa[6].strip()

    @property
    def receiver(self) -> tuple[str, str]:
        """(ISA07 qualifier, ISA08 id) with padding removed."""
        return self.isa[7].strip(), self.isa[8].strip()

    @property
    def control_number(self) -> str:
        """ISA13."""
        return self.isa[13]

    @property
    def version(self) -> str:
        """ISA12, the envelope version (00401, 00501)."""
        return self.isa[12]


@dataclass(slots=True)
class FunctionalGroup:
    """A GS header, the sets read under it so far, and what its GE said; anomalies are those of the group."""

    gs: Segment
    interchange: Interchange
    position: int
    set_count: int = 0
    closed: bool = False
    anomalies: list[EnvelopeAnomaly] = field(default_factory=list)
    control_numbers: set[str] = field(default_factory=set)

    @property
    def functional_id(self) -> str:
        """GS01 (PO, PR, SH, IN, IB, PC, FA)."""
        return self.gs[1] if len(self.gs) > 1 else ""

    @property
    def control_number(self) -> str:
        """GS06."""
        return self.gs[6] if len(self.gs) > 6 else ""

    @property
    def version(self) -> str:
        """GS08 (004010, 004010VICS, 005010)."""
        return self.gs[8] if len(self.gs) > 8 else ""

    @property
    def sender(self) -> str:
        """GS02, the application sender's code."""
        return self.gs[2] if len(self.gs) > 2 else ""

    @property
    def receiver(self) -> str:
        """GS03, the application receiver's code."""
        return self.gs[3] if len(self.gs) > 3 else ""


@dataclass(slots=True)
class TransactionSet:
    """One ST..SE transaction set: its raw segment text (ST first, SE last when present) and its envelope."""

    raw: list[str]
    group: FunctionalGroup
    position: int
    """Stream ordinal of the ST segment."""
    anomalies: list[EnvelopeAnomaly] = field(default_factory=list)
    _segments: list[Segment] | None = None

    @property
    def delimiters(self) -> Delimiters:
        """The interchange's delimiters."""
        return self.group.interchange.delimiters

    @property
    def segments(self) -> list[Segment]:
        """The segments split into elements (computed once)."""
        if self._segments is None:
            sep = self.group.interchange.delimiters.element
            self._segments = [raw.split(sep) for raw in self.raw]
        return self._segments

    @property
    def header(self) -> Segment:
        """The ST segment split into elements (without splitting the rest of the set)."""
        if self._segments is not None:
            return self._segments[0]
        return self.raw[0].split(self.group.interchange.delimiters.element) if self.raw else ["ST"]

    @property
    def set_id(self) -> str:
        """ST01 (850, 856...)."""
        st = self.header
        return st[1] if len(st) > 1 else ""

    @property
    def control_number(self) -> str:
        """ST02."""
        st = self.header
        return st[2] if len(st) > 2 else ""

    @property
    def version(self) -> str:
        """The version this set is written in: ST03 where given (5010), else GS08."""
        st = self.header
        return st[3] if len(st) > 3 and st[3] else self.group.version


def _same_number(left: str, right: str) -> bool:
    """Control numbers agree: equal as numbers when both are numeric (partners drop leading zeros), else as text."""
    if left.isdigit() and right.isdigit():
        return int(left) == int(right)
    return left.strip() == right.strip()


_ISA_CODES = {
    1: ("00", "01", "02", "03", "04", "05", "06"),
    3: ("00", "01"),
    14: ("0", "1"),
    15: ("P", "T", "I"),
}


class X12Reader:
    """Reads transaction sets from a binary stream, checking envelopes; iterate it for `TransactionSet`s."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        strict: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        encoding: str = "utf-8",
    ) -> None:
        self.strict = strict
        self.anomalies: list[EnvelopeAnomaly] = []
        self._tokenizer = X12Tokenizer(stream, chunk_size=chunk_size, encoding=encoding, strict=strict)
        self._position = 0
        self._interchange: Interchange | None = None
        self._group: FunctionalGroup | None = None

    def __iter__(self) -> Iterator[TransactionSet]:
        for event in self.events():
            if isinstance(event, TransactionSet):
                yield event

    def _anomaly(
        self,
        kind: AnomalyKind,
        message: str,
        segment_id: str,
        position: int | None = None,
        on: list[EnvelopeAnomaly] | None = None,
    ) -> None:
        anomaly = EnvelopeAnomaly(kind, message, self._position if position is None else position, segment_id)
        if self.strict:
            raise X12EnvelopeError(message, position=anomaly.position, segment_id=segment_id)
        self.anomalies.append(anomaly)
        if on is not None:
            on.append(anomaly)

    def events(self) -> Iterator[TransactionSet | FunctionalGroup]:
        """Transaction sets as they are read, and each functional group once it is closed (by GE or otherwise)."""
        pending = ""
        for event in self._tokenizer:
            for message in self._tokenizer.anomalies:
                self._anomaly(AnomalyKind.ENCODING, message, "ISA")
            self._tokenizer.anomalies.clear()
            if isinstance(event, InterchangeStart):
                self._position += 1
                self._start_interchange(event)
                pending = ""
                continue
            text = pending + event.text if pending else event.text
            pending = yield from self._read_text(text, event)

    def _start_interchange(self, event: InterchangeStart) -> None:
        self._interchange = Interchange(event.isa, event.delimiters, self._position)
        for message in event.anomalies:
            self._anomaly(AnomalyKind.ISA_WIDTH, f"{message}; pad ISA elements to their fixed widths", "ISA")
        isa = event.isa
        for index, allowed in _ISA_CODES.items():
            if isa[index] not in allowed:
                self._anomaly(
                    AnomalyKind.ISA_VALUE, f"ISA{index:02d} is {isa[index]!r}; use one of {', '.join(allowed)}", "ISA"
                )
        if not isa[13].isdigit():
            self._anomaly(AnomalyKind.ISA_VALUE, f"ISA13 {isa[13]!r} is not a 9-digit control number", "ISA")

    def _read_text(self, text: str, event: SegmentText) -> Generator[TransactionSet | FunctionalGroup, None, str]:
        """Yield the sets and closed groups in `text`; return the unread tail (a set not yet complete)."""
        interchange = self._interchange
        assert interchange is not None  # the tokenizer yields text only after an InterchangeStart
        delimiters = interchange.delimiters
        term, sep = delimiters.segment, delimiters.element
        set_end = term + "SE" + sep
        intruder = re.compile(re.escape(term) + "(?:ST|GS|GE|IEA|ISA)" + re.escape(sep))
        pos = 0
        size = len(text)
        while pos < size:
            end = text.find(term, pos)
            tag = text[pos : min(end, pos + 4)].split(sep, 1)[0]
            if tag == "ST":
                found = text.find(set_end, pos)
                if found == -1 and not event.ends_interchange:
                    return text[pos:]
                block_end = text.find(term, found + 1) if found != -1 else size - 1
                block = text[pos:block_end]
                stray = intruder.search(block)
                closed = found != -1
                if stray is not None:
                    block, block_end, closed = block[: stray.start()], pos + stray.start(), False
                yield from self._transaction_set(block.split(term), closed)
                pos = block_end + 1
                continue
            segment = text[pos:end].split(sep)
            pos = end + 1
            if tag:
                self._position += 1
                yield from self._envelope_segment(segment)
        if event.ends_interchange:
            yield from self._end_interchange(truncated=event.truncated)
        return ""

    def _open_group(self) -> FunctionalGroup:
        if self._group is None:
            assert self._interchange is not None
            self._anomaly(
                AnomalyKind.GS_MISSING, "transaction set outside a functional group; add a GS before it", "ST"
            )
            self._group = FunctionalGroup(["GS"], self._interchange, self._position)
        return self._group

    def _transaction_set(self, raw: list[str], closed: bool) -> Iterator[TransactionSet]:
        if "" in raw:
            raw = [segment for segment in raw if segment]
        position = self._position + 1
        self._position += len(raw)
        group = self._open_group()
        group.set_count += 1
        transaction = TransactionSet(raw, group, position)
        st = transaction.header
        set_id, control = transaction.set_id, transaction.control_number
        if len(st) < 3 or not (len(set_id) == 3 and set_id.isdigit()) or not 4 <= len(control) <= 9:
            self._anomaly(
                AnomalyKind.ST_VALUE,
                f"ST {'*'.join(st[1:])!r} needs a 3-digit set id and a 4 to 9 character control number",
                "ST",
                position,
                transaction.anomalies,
            )
        expected_group = FUNCTIONAL_IDS.get(set_id)
        if expected_group is not None and group.functional_id not in (expected_group, ""):
            self._anomaly(
                AnomalyKind.FUNCTIONAL_ID,
                f"transaction set {set_id} travels in a {group.functional_id} group; send it in a GS*{expected_group}",
                "ST",
                position,
                transaction.anomalies,
            )
        if control in group.control_numbers:
            self._anomaly(
                AnomalyKind.SET_CONTROL_DUPLICATE,
                f"ST02 {control} is used twice in group {group.control_number}; number each set uniquely",
                "ST",
                position,
                transaction.anomalies,
            )
        group.control_numbers.add(control)
        if not closed:
            self._anomaly(
                AnomalyKind.SE_MISSING,
                f"transaction set {set_id} {control} has no SE trailer; the file may be truncated or cut wrongly",
                "ST",
                position,
                transaction.anomalies,
            )
        else:
            self._check_trailer(transaction)
        yield transaction

    def _check_trailer(self, transaction: TransactionSet) -> None:
        se = transaction.raw[-1].split(transaction.delimiters.element)
        position = transaction.position + len(transaction.raw) - 1
        count = se[1] if len(se) > 1 else ""
        if not (count.isdigit() and int(count) == len(transaction.raw)):
            self._anomaly(
                AnomalyKind.SEGMENT_COUNT,
                f"SE01 says {count!r} segments but set {transaction.control_number} has {len(transaction.raw)} "
                "(ST to SE); correct SE01",
                "SE",
                position,
                transaction.anomalies,
            )
        control = se[2] if len(se) > 2 else ""
        if not _same_number(control, transaction.control_number):
            self._anomaly(
                AnomalyKind.SET_CONTROL,
                f"SE02 {control!r} does not match ST02 {transaction.control_number!r}; they must be equal",
                "SE",
                position,
                transaction.anomalies,
            )

    def _envelope_segment(self, segment: Segment) -> Iterator[FunctionalGroup]:
        tag = segment[0]
        interchange = self._interchange
        assert interchange is not None
        if tag == "GS":
            if self._group is not None:
                yield from self._close_group(missing_trailer=True)
            self._group = FunctionalGroup(segment, interchange, self._position)
            interchange.group_count += 1
            if len(segment) < 9 or not segment[6].isdigit():
                self._anomaly(
                    AnomalyKind.GS_VALUE,
                    "GS needs 8 elements with a numeric GS06 control number; correct the GS segment",
                    "GS",
                    on=self._group.anomalies,
                )
        elif tag == "GE":
            group = self._group
            if group is None:
                self._anomaly(AnomalyKind.STRAY_SEGMENT, "GE without a GS; remove it or add the GS", "GE")
                return
            count = segment[1] if len(segment) > 1 else ""
            if not (count.isdigit() and int(count) == group.set_count):
                self._anomaly(
                    AnomalyKind.SET_COUNT,
                    f"GE01 says {count!r} transaction sets but group {group.control_number} has {group.set_count}",
                    "GE",
                    on=group.anomalies,
                )
            control = segment[2] if len(segment) > 2 else ""
            if not _same_number(control, group.control_number):
                self._anomaly(
                    AnomalyKind.GROUP_CONTROL,
                    f"GE02 {control!r} does not match GS06 {group.control_number!r}; they must be equal",
                    "GE",
                    on=group.anomalies,
                )
            yield from self._close_group(missing_trailer=False)
        elif tag == "IEA":
            if self._group is not None:
                yield from self._close_group(missing_trailer=True)
            count = segment[1] if len(segment) > 1 else ""
            if not (count.isdigit() and int(count) == interchange.group_count):
                self._anomaly(
                    AnomalyKind.GROUP_COUNT,
                    f"IEA01 says {count!r} groups but the interchange has {interchange.group_count}; correct IEA01",
                    "IEA",
                )
            control = segment[2] if len(segment) > 2 else ""
            if not _same_number(control, interchange.control_number):
                self._anomaly(
                    AnomalyKind.INTERCHANGE_CONTROL,
                    f"IEA02 {control!r} does not match ISA13 {interchange.control_number!r}; they must be equal",
                    "IEA",
                )
            interchange.closed = True
        else:
            self._anomaly(
                AnomalyKind.STRAY_SEGMENT,
                f"segment {tag} outside a transaction set; only GS, GE and IEA may stand between sets",
                tag,
                on=self._group.anomalies if self._group is not None else None,
            )

    def _close_group(self, *, missing_trailer: bool) -> Iterator[FunctionalGroup]:
        group = self._group
        if group is None:
            return
        if missing_trailer:
            self._anomaly(
                AnomalyKind.GE_MISSING,
                f"functional group {group.control_number} has no GE trailer; add GE*{group.set_count}*"
                f"{group.control_number}",
                "GS",
                group.position,
                group.anomalies,
            )
        group.closed = True
        self._group = None
        yield group

    def _end_interchange(self, *, truncated: bool) -> Iterator[FunctionalGroup]:
        interchange = self._interchange
        if interchange is None:
            return
        if self._group is not None:
            yield from self._close_group(missing_trailer=True)
        if truncated and not interchange.closed:
            self._anomaly(
                AnomalyKind.IEA_MISSING,
                f"interchange {interchange.control_number} ends without an IEA; the file may be truncated",
                "ISA",
                interchange.position,
            )
        self._interchange = None


def open_x12(source: bytes | str | Path | BinaryIO) -> BinaryIO:
    """A binary stream over `source`: bytes, text, a path or an already open binary stream."""
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, str):
        return io.BytesIO(source.encode("utf-8"))
    if isinstance(source, Path):
        return source.open("rb")
    return source


def read_transaction_sets(
    source: bytes | str | Path | BinaryIO, *, strict: bool = True, encoding: str = "utf-8"
) -> tuple[list[TransactionSet], list[EnvelopeAnomaly]]:
    """Every transaction set in `source` and the envelope anomalies found (always empty in strict mode)."""
    stream = open_x12(source)
    try:
        reader = X12Reader(stream, strict=strict, encoding=encoding)
        return list(reader), reader.anomalies
    finally:
        if isinstance(source, Path):
            stream.close()
