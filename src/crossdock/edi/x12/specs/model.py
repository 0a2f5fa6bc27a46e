"""The shapes X12 specifications are written in: elements, segments with syntax rules, loops and transaction sets.

Specs are plain frozen data; `crossdock.edi.x12.validator` compiles them into a state machine and regular
expressions once per (set, version family, delimiters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DataType(StrEnum):
    """X12 data element types."""

    AN = "AN"
    """String: any printable characters."""
    ID = "ID"
    """Identifier: a code, often from a code list."""
    N0 = "N0"
    """Integer (implied decimal places are stated separately in `ElementDef.decimals`)."""
    R = "R"
    """Decimal number with an optional explicit decimal point."""
    DT = "DT"
    """Date: CCYYMMDD (or YYMMDD where the length is 6)."""
    TM = "TM"
    """Time: HHMM, HHMMSS or HHMMSSd..d."""
    COMPOSITE = "C"
    """A composite element made of components separated by the component separator."""


@dataclass(frozen=True, slots=True)
class ElementDef:
    """A data element from the X12 dictionary: its reference number, type and length."""

    ref: int
    """The data element reference number (AK402); 0 for composites."""
    name: str
    kind: DataType
    min_len: int
    max_len: int
    codes: frozenset[str] | None = None
    """The allowed codes, for the identifiers whose lists this toolkit enforces."""
    decimals: int = 0
    """Implied decimal places of an Nn element (N2 amounts: `8668` is 86.68)."""


class Usage(StrEnum):
    """Whether an element must be present."""

    MANDATORY = "M"
    OPTIONAL = "O"
    RELATIONAL = "X"
    """Optional on its own, but governed by a syntax rule of the segment."""


class RuleKind(StrEnum):
    """X12 syntax notes between elements of one segment."""

    PAIRED = "P"
    """If any is present, all are."""
    REQUIRED = "R"
    """At least one is present."""
    EXCLUSION = "E"
    """At most one is present."""
    CONDITIONAL = "C"
    """If the first is present, all the others are."""
    LIST_CONDITIONAL = "L"
    """If the first is present, at least one of the others is."""


@dataclass(frozen=True, slots=True)
class SyntaxRule:
    """A syntax note such as P0304: the kind and the 1-based element positions it ties together."""

    kind: RuleKind
    positions: tuple[int, ...]

    @classmethod
    def parse(cls, note: str) -> SyntaxRule:
        """`SyntaxRule.parse("P0304")`."""
        digits = note[1:]
        return cls(RuleKind(note[0]), tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2)))

    def holds(self, present: set[int]) -> bool:
        """True when the rule is satisfied given the positions of the elements that are present."""
        found = [p in present for p in self.positions]
        if self.kind == RuleKind.PAIRED:
            return all(found) or not any(found)
        if self.kind == RuleKind.REQUIRED:
            return any(found)
        if self.kind == RuleKind.EXCLUSION:
            return sum(found) <= 1
        if self.kind == RuleKind.CONDITIONAL:
            return not found[0] or all(found[1:])
        return not found[0] or any(found[1:])

    def __str__(self) -> str:
        return self.kind.value + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class ElementUse:
    """An element at one position of a segment, with its usage there."""

    element: ElementDef
    usage: Usage


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A segment from the dictionary: its elements in order and its syntax rules."""

    id: str
    name: str
    elements: tuple[ElementUse, ...]
    rules: tuple[SyntaxRule, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentUse:
    """A segment at one position of a transaction set: required or not, and how often it may repeat."""

    id: str
    required: bool = False
    max_use: int = 1
    codes: dict[int, frozenset[str]] = field(default_factory=dict, hash=False, compare=False)
    """Code lists this set narrows or adds for some element positions (BAK02 in an 855)."""


@dataclass(frozen=True, slots=True)
class LoopSpec:
    """A loop: a header segment (the first entry) and what may follow it, repeated up to `max_use` times."""

    id: str
    body: tuple[SegmentUse | LoopSpec, ...]
    required: bool = False
    max_use: int = 1

    @property
    def header(self) -> SegmentUse:
        """The segment that starts each iteration."""
        first = self.body[0]
        assert isinstance(first, SegmentUse), f"loop {self.id} must start with a segment"
        return first


@dataclass(frozen=True, slots=True)
class TransactionSetSpec:
    """A transaction set's structure (ST first, SE last) and which versions it serves."""

    id: str
    name: str
    functional_id: str
    body: tuple[SegmentUse | LoopSpec, ...]
    hierarchical: bool = False
    """True for sets built of HL loops (856): parent ids and levels are checked too."""
    hl_levels: frozenset[str] = frozenset()


UNBOUNDED = 10**9
"""`max_use` for segments and loops the standard lets repeat without limit (">1")."""


def seg(
    segment_id: str, max_use: int = 1, *, req: bool = False, codes: dict[int, set[str]] | None = None
) -> SegmentUse:
    """A segment use: `seg("REF", UNBOUNDED)`, `seg("BEG", req=True)`."""
    frozen = {position: frozenset(values) for position, values in (codes or {}).items()}
    return SegmentUse(segment_id, req, max_use, frozen)


def loop(loop_id: str, max_use: int, *body: SegmentUse | LoopSpec, req: bool = False) -> LoopSpec:
    """A loop: `loop("N1", 200, seg("N1", req=True), seg("N3", 2), seg("N4"))`."""
    return LoopSpec(loop_id, tuple(body), req, max_use)


def version_family(version: str) -> str:
    """The specification family of a GS08/ST03 version: 004010 (incl. VICS), 004060 or 005010."""
    digits = version[:6]
    if digits >= "005000":
        return "005010"
    if digits >= "004020":
        return "004060"
    return "004010"
