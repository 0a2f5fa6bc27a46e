"""The X12 envelope reader: ISA/IEA, GS/GE and ST/SE around transaction sets, checked in strict or lenient mode.

Transaction sets are cut out of the tokenizer's text by one compiled search for the next `~SE*` or envelope
segment (C speed) and kept as text; only envelope segments are split one by one. Strict mode raises
`X12EnvelopeError` at the first anomaly; lenient mode records it in `X12Reader.anomalies` (and on the group or set
it concerns, for the 997) and reads on.
"""

from __future__ import annotations

import io
import re
from collections.abc import Generator, Iterator
from functools import cache
from pathlib import Path
from typing import BinaryIO

from crossdock.edi.x12.containers import (
    FUNCTIONAL_IDS,
    AnomalyKind,
    EnvelopeAnomaly,
    FunctionalGroup,
    Interchange,
    TransactionSet,
)
from crossdock.edi.x12.errors import X12EnvelopeError
from crossdock.edi.x12.tokenizer import (
    DEFAULT_CHUNK_SIZE,
    Delimiters,
    InterchangeStart,
    Segment,
    SegmentText,
    X12Tokenizer,
    ascii_digits,
)

__all__ = [
    "FUNCTIONAL_IDS",
    "AnomalyKind",
    "EnvelopeAnomaly",
    "FunctionalGroup",
    "Interchange",
    "TransactionSet",
    "X12Reader",
    "open_x12",
    "read_transaction_sets",
]


@cache
def _set_boundary(delimiters: Delimiters) -> re.Pattern[str]:
    """The next SE, or an envelope segment that cuts a set short (ST, GS, GE, IEA, ISA), after a set's ST."""
    term, sep = re.escape(delimiters.segment), re.escape(delimiters.element)
    return re.compile(f"{term}(?:SE|ST|GS|GE|IEA|ISA){sep}")


def _same_number(left: str, right: str) -> bool:
    """Control numbers agree: equal as numbers when both are numeric (partners drop leading zeros), else as text."""
    if ascii_digits(left) and ascii_digits(right):
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
        if not ascii_digits(isa[13]):
            self._anomaly(AnomalyKind.ISA_VALUE, f"ISA13 {isa[13]!r} is not a 9-digit control number", "ISA")

    def _read_text(self, text: str, event: SegmentText) -> Generator[TransactionSet | FunctionalGroup, None, str]:
        """Yield the sets and closed groups in `text`; return the unread tail (a set not yet complete)."""
        interchange = self._interchange
        assert interchange is not None  # the tokenizer yields text only after an InterchangeStart
        delimiters = interchange.delimiters
        term, sep = delimiters.segment, delimiters.element
        boundary = _set_boundary(delimiters).search
        set_end = term + "SE" + sep
        ends = (sep, term)
        pos = 0
        size = len(text)
        while pos < size:
            if text.startswith("ST", pos) and text[pos + 2 : pos + 3] in ends:
                found = boundary(text, pos + 2)
                closed = found is not None and text.startswith("SE", found.start() + 1)
                if not (closed or event.ends_interchange) and (found is None or text.find(set_end, found.end()) < 0):
                    return text[pos:]  # no SE in sight yet: wait for more text, even if the set is cut short
                if found is None:
                    block_end = size - 1
                elif closed:
                    block_end = text.find(term, found.end())
                else:
                    block_end = found.start()  # a set cut short: it ends before the envelope segment
                yield self._transaction_set(text[pos : block_end + 1], closed)
                pos = block_end + 1
                continue
            end = text.find(term, pos)
            tag = text[pos : min(end, pos + 4)].split(sep, 1)[0]
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

    def _transaction_set(self, text: str, closed: bool) -> TransactionSet:
        """One set from `text` (ST first, each segment followed by the terminator), its envelope checked."""
        assert self._interchange is not None
        count = text.count(self._interchange.delimiters.segment)  # no empty segments: the tokenizer drops them
        position = self._position + 1
        self._position += count
        group = self._group or self._open_group()
        group.set_count += 1
        transaction = TransactionSet.from_text(text, group, position, count)
        st = transaction.header
        set_id = st[1] if len(st) > 1 else ""
        control = st[2] if len(st) > 2 else ""
        if len(st) < 3 or not (len(set_id) == 3 and ascii_digits(set_id)) or not 4 <= len(control) <= 9:
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
            self._check_trailer(transaction, control)
        return transaction

    def _check_trailer(self, transaction: TransactionSet, st_control: str) -> None:
        se = transaction.trailer
        segments = transaction.segment_count
        position = transaction.position + segments - 1
        count = se[1] if len(se) > 1 else ""
        if not (ascii_digits(count) and int(count) == segments):
            self._anomaly(
                AnomalyKind.SEGMENT_COUNT,
                f"SE01 says {count!r} segments but set {st_control} has {segments} (ST to SE); correct SE01",
                "SE",
                position,
                transaction.anomalies,
            )
        control = se[2] if len(se) > 2 else ""
        if control != st_control and not _same_number(control, st_control):
            self._anomaly(
                AnomalyKind.SET_CONTROL,
                f"SE02 {control!r} does not match ST02 {st_control!r}; they must be equal",
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
            if len(segment) < 9 or not ascii_digits(segment[6]):
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
            if not (ascii_digits(count) and int(count) == group.set_count):
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
            if not (ascii_digits(count) and int(count) == interchange.group_count):
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
