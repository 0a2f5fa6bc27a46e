"""997 functional acknowledgement ↔ `FunctionalAck`: AK1 group, AK2/AK3/AK4/AK5 per set, AK9 group status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12MappingError
from crossdock.edi.x12.maps.common import value
from crossdock.edi.x12.tokenizer import Segment, ascii_digits
from crossdock.edi.x12.writer import OutboundSet


class AckStatus(StrEnum):
    """AK501 / AK901 acknowledgement codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"
    """Group level only: some sets accepted, some rejected."""
    REJECTED = "R"


@dataclass(frozen=True, slots=True)
class ElementNote:
    """AK4: one data element's error."""

    position: int
    code: str
    ref: int | None = None
    bad_value: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentNote:
    """AK3 (with its AK4s): one segment's error."""

    segment_id: str
    position: int
    loop_id: str | None
    code: str | None
    elements: tuple[ElementNote, ...] = ()


@dataclass(frozen=True, slots=True)
class SetResponse:
    """AK2..AK5: how one transaction set was received."""

    set_id: str
    control_number: str
    status: AckStatus
    codes: tuple[str, ...] = ()
    segments: tuple[SegmentNote, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionalAck:
    """A 997: the answer to one functional group."""

    functional_id: str
    group_control_number: str
    status: AckStatus
    included: int
    """AK902: sets the GE trailer said the group holds."""
    received: int
    accepted: int
    codes: tuple[str, ...] = ()
    sets: tuple[SetResponse, ...] = ()


def _int(text: str, what: str, position: int) -> int:
    if not ascii_digits(text):
        raise X12MappingError(f"{what} {text!r} is not a count", position=position)
    return int(text)


def _status(text: str, what: str, position: int) -> AckStatus:
    try:
        return AckStatus(text)
    except ValueError:
        raise X12MappingError(
            f"{what} {text!r} is not an acknowledgement code (A, E, P, R)", position=position
        ) from None


def read_functional_ack(transaction: TransactionSet) -> FunctionalAck:
    """A received 997 as a FunctionalAck."""
    segments = transaction.segments
    base = transaction.position
    sep = transaction.delimiters.component
    ak1 = next((s for s in segments if s[0] == "AK1"), None)
    ak9 = next((s for s in segments if s[0] == "AK9"), None)
    if ak1 is None or ak9 is None:
        raise X12MappingError("the 997 lacks AK1 or AK9; it cannot be read", position=base)
    sets: list[SetResponse] = []
    current: dict[str, object] | None = None
    notes: list[SegmentNote] = []
    for offset, segment in enumerate(segments):
        tag, position = segment[0], base + offset
        if tag == "AK2":
            current, notes = {"set_id": value(segment, 1), "control_number": value(segment, 2)}, []
        elif tag == "AK3" and current is not None:
            notes.append(
                SegmentNote(
                    value(segment, 1),
                    _int(value(segment, 2), "AK302", position),
                    value(segment, 3) or None,
                    value(segment, 4) or None,
                )
            )
        elif tag == "AK4" and notes:
            element = ElementNote(
                _int(value(segment, 1).split(sep)[0], "AK401", position),
                value(segment, 3),
                int(value(segment, 2)) if ascii_digits(value(segment, 2)) else None,
                value(segment, 4) or None,
            )
            last = notes[-1]
            notes[-1] = SegmentNote(last.segment_id, last.position, last.loop_id, last.code, (*last.elements, element))
        elif tag == "AK5" and current is not None:
            sets.append(
                SetResponse(
                    str(current["set_id"]),
                    str(current["control_number"]),
                    _status(value(segment, 1), "AK501", position),
                    tuple(v for v in segment[2:] if v),
                    tuple(notes),
                )
            )
            current = None
    position = base + segments.index(ak9)
    return FunctionalAck(
        functional_id=value(ak1, 1),
        group_control_number=value(ak1, 2),
        status=_status(value(ak9, 1), "AK901", position),
        included=_int(value(ak9, 2), "AK902", position),
        received=_int(value(ak9, 3), "AK903", position),
        accepted=_int(value(ak9, 4), "AK904", position),
        codes=tuple(v for v in ak9[5:] if v),
        sets=tuple(sets),
    )


def functional_ack_to_x12(ack: FunctionalAck) -> OutboundSet:
    """A FunctionalAck as a 997 body."""
    body: list[Segment] = [["AK1", ack.functional_id, ack.group_control_number]]
    for response in ack.sets:
        body.append(["AK2", response.set_id, response.control_number])
        for note in response.segments:
            body.append(["AK3", note.segment_id, str(note.position), note.loop_id or "", note.code or ""])
            for element in note.elements:
                ref = str(element.ref) if element.ref else ""
                body.append(["AK4", str(element.position), ref, element.code, element.bad_value or ""])
        body.append(["AK5", response.status.value, *response.codes[:5]])
    body.append(["AK9", ack.status.value, str(ack.included), str(ack.received), str(ack.accepted), *ack.codes[:5]])
    return OutboundSet("997", body)
