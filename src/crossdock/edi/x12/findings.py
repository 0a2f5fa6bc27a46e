"""Typed validation findings, coded as a 997 reports them (AK3 segment notes, AK4 element notes)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SegmentError(StrEnum):
    """AK304 segment syntax error codes."""

    UNRECOGNIZED = "1"
    UNEXPECTED = "2"
    MANDATORY_MISSING = "3"
    LOOP_OVER_MAXIMUM = "4"
    SEGMENT_OVER_MAXIMUM = "5"
    NOT_IN_SET = "6"
    OUT_OF_SEQUENCE = "7"
    ELEMENT_ERRORS = "8"


class ElementError(StrEnum):
    """AK403 data element syntax error codes."""

    MANDATORY_MISSING = "1"
    CONDITIONAL_MISSING = "2"
    TOO_MANY_ELEMENTS = "3"
    TOO_SHORT = "4"
    TOO_LONG = "5"
    INVALID_CHARACTER = "6"
    INVALID_CODE = "7"
    INVALID_DATE = "8"
    INVALID_TIME = "9"
    EXCLUSION_VIOLATED = "10"
    TOO_MANY_REPETITIONS = "12"
    TOO_MANY_COMPONENTS = "13"


@dataclass(frozen=True, slots=True)
class ElementFinding:
    """A problem with one data element (a 997 AK4)."""

    position: int
    """Element position in the segment, 1-based (AK401)."""
    code: ElementError
    ref: int
    """Data element reference number (AK402), 0 if unknown or a composite."""
    value: str | None
    """A copy of the bad value (AK404), when there is one."""
    message: str
    component: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentFinding:
    """A problem with one segment (a 997 AK3), with its element problems for code 8."""

    segment_id: str
    position: int
    """Segment position in the transaction set, ST = 1 (AK302)."""
    loop_id: str | None
    """The loop the segment belongs to (AK303), None at the set's top level."""
    code: SegmentError
    message: str
    elements: tuple[ElementFinding, ...] = ()

    def __str__(self) -> str:
        details = "; ".join(f"{self.segment_id}{e.position:02d}: {e.message}" for e in self.elements)
        return f"segment {self.position} ({self.segment_id}): {self.message}" + (f" [{details}]" if details else "")
