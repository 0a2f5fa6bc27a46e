"""The envelope's containers: interchanges, functional groups and transaction sets, and the anomaly types.

A `TransactionSet` is kept as the text the reader cut out of the stream; its segments are split only when asked
for, so a set that is read and validated (`crossdock.edi.x12.validator`) is never cut into per-segment strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from crossdock.edi.x12.tokenizer import Delimiters, Segment

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


class TransactionSet:
    """One ST..SE transaction set: its segments (ST first, SE last when present) and its envelope.

    Build it from segment strings (`TransactionSet(raw, group, position)`) or, as the reader does, from text
    (`TransactionSet.from_text`); `text`, `raw` and `segments` are each derived from the other on first use.
    """

    __slots__ = ("_count", "_from_text", "_header", "_raw", "_segments", "_text", "anomalies", "group", "position")

    def __init__(
        self,
        raw: list[str],
        group: FunctionalGroup,
        position: int,
        anomalies: list[EnvelopeAnomaly] | None = None,
    ) -> None:
        self.group = group
        self.position = position
        """Stream ordinal of the ST segment."""
        self.anomalies: list[EnvelopeAnomaly] = [] if anomalies is None else anomalies
        self._raw: list[str] | None = raw
        self._text: str | None = None
        self._count: int | None = None
        self._header: Segment | None = None
        self._segments: list[Segment] | None = None
        self._from_text = False

    @classmethod
    def from_text(cls, text: str, group: FunctionalGroup, position: int, count: int) -> TransactionSet:
        """A set from its text: `count` non-empty segments, each followed by the interchange's terminator."""
        transaction = cls([], group, position)
        transaction._raw = None
        transaction._text = text
        transaction._count = count
        transaction._from_text = True
        return transaction

    def __repr__(self) -> str:
        return (
            f"TransactionSet(set_id={self.set_id!r}, control_number={self.control_number!r}, "
            f"position={self.position}, segments={self.segment_count}, anomalies={len(self.anomalies)})"
        )

    @property
    def delimiters(self) -> Delimiters:
        """The interchange's delimiters."""
        return self.group.interchange.delimiters

    @property
    def cut_from_text(self) -> bool:
        """True for a set the reader cut from a stream: `text` is its source and `raw` is split from it."""
        return self._from_text

    @property
    def text(self) -> str:
        """The set's segments, each followed by the segment terminator (no line breaks, no empty segments)."""
        if self._text is None:
            self._text = "".join(segment + self.delimiters.segment for segment in self.raw)
        return self._text

    @property
    def raw(self) -> list[str]:
        """The segments as strings, ST first (computed once from `text`)."""
        if self._raw is None:
            assert self._text is not None
            self._raw = self._text.split(self.delimiters.segment)
            self._raw.pop()  # the empty string after the last terminator
        return self._raw

    @raw.setter
    def raw(self, raw: list[str]) -> None:
        self._raw = raw
        self._text = self._count = self._header = self._segments = None
        self._from_text = False

    @property
    def segment_count(self) -> int:
        """How many segments the set has, ST and SE included (without splitting it)."""
        if self._count is None:
            self._count = len(self.raw)
        return self._count

    @property
    def segments(self) -> list[Segment]:
        """The segments split into elements (computed once)."""
        if self._segments is None:
            sep = self.delimiters.element
            self._segments = [raw.split(sep) for raw in self.raw]
        return self._segments

    @property
    def header(self) -> Segment:
        """The ST segment split into elements (without splitting the rest of the set)."""
        if self._header is None:
            if self._raw is not None:
                first = self._raw[0] if self._raw else "ST"
            else:
                assert self._text is not None
                first = self._text[: self._text.find(self.delimiters.segment)]
            self._header = first.split(self.delimiters.element)
        return self._header

    @property
    def trailer(self) -> Segment:
        """The last segment (the SE, when the set is complete) split into elements."""
        if self._raw is not None or self._text is None:
            last = self.raw[-1] if self.raw else ""
        else:
            term = self.delimiters.segment
            last = self._text[self._text.rfind(term, 0, len(self._text) - 1) + 1 : -1]
        return last.split(self.delimiters.element)

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
