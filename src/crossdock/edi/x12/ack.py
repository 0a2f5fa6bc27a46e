"""Generates a 997 for every functional group received, from envelope anomalies and validator findings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from crossdock.edi.x12.envelope import FunctionalGroup, TransactionSet, X12Reader, open_x12
from crossdock.edi.x12.errors import X12UnsupportedError
from crossdock.edi.x12.findings import ElementError, SegmentError, SegmentFinding
from crossdock.edi.x12.maps.functional_ack import AckStatus, ElementNote, FunctionalAck, SegmentNote, SetResponse
from crossdock.edi.x12.validator import validate
from crossdock.edi.x12.writer import InterchangeParties

_REJECTING_SEGMENT = {
    SegmentError.UNRECOGNIZED,
    SegmentError.UNEXPECTED,
    SegmentError.MANDATORY_MISSING,
    SegmentError.NOT_IN_SET,
    SegmentError.OUT_OF_SEQUENCE,
}
_REJECTING_ELEMENT = {ElementError.MANDATORY_MISSING, ElementError.CONDITIONAL_MISSING}
_UNSUPPORTED_SET = "1"
_SEGMENTS_IN_ERROR = "5"


def rejects(finding: SegmentFinding) -> bool:
    """True for findings that make a set unusable (structure, missing mandatory data); others are noted only."""
    if finding.code in _REJECTING_SEGMENT:
        return True
    return any(element.code in _REJECTING_ELEMENT for element in finding.elements)


def _note(finding: SegmentFinding) -> SegmentNote:
    elements = tuple(
        ElementNote(e.position, e.code.value, e.ref or None, e.value[:99] if e.value else None)
        for e in finding.elements
    )
    return SegmentNote(finding.segment_id, finding.position, finding.loop_id, finding.code.value, elements)


def respond(transaction: TransactionSet, *, reject_any_error: bool = False) -> SetResponse:
    """The AK2..AK5 answer for one received set: validated against its spec, with its envelope anomalies."""
    codes = [a.ack_code for a in transaction.anomalies if a.ack_code]
    try:
        findings = validate(transaction)
    except X12UnsupportedError:
        return SetResponse(transaction.set_id, transaction.control_number, AckStatus.REJECTED, (_UNSUPPORTED_SET,))
    notes = tuple(_note(finding) for finding in findings)
    if codes or any(rejects(f) for f in findings) or (findings and reject_any_error):
        status = AckStatus.REJECTED
        if findings:
            codes.append(_SEGMENTS_IN_ERROR)
    elif findings:
        status = AckStatus.ACCEPTED_WITH_ERRORS
    else:
        status = AckStatus.ACCEPTED
    unique = tuple(dict.fromkeys(c for c in codes if c))
    return SetResponse(transaction.set_id, transaction.control_number, status, unique, notes)


def _group_ack(group: FunctionalGroup, responses: list[SetResponse]) -> FunctionalAck:
    codes = tuple(dict.fromkeys(a.ack_code for a in group.anomalies if a.ack_code))
    accepted = sum(r.status != AckStatus.REJECTED for r in responses)
    if codes or (responses and accepted == 0):
        status = AckStatus.REJECTED
    elif accepted < len(responses):
        status = AckStatus.PARTIALLY_ACCEPTED
    elif any(r.status == AckStatus.ACCEPTED_WITH_ERRORS for r in responses):
        status = AckStatus.ACCEPTED_WITH_ERRORS
    else:
        status = AckStatus.ACCEPTED
    return FunctionalAck(
        functional_id=group.functional_id,
        group_control_number=group.control_number,
        status=status,
        included=group.set_count,
        received=len(responses),
        accepted=accepted if status != AckStatus.REJECTED else 0,
        codes=codes,
        sets=tuple(responses),
    )


def acknowledge_groups(
    reader: X12Reader, *, reject_any_error: bool = False
) -> Iterator[tuple[FunctionalGroup, FunctionalAck]]:
    """Each functional group of `reader` (read in lenient mode, so every group gets an answer) with its 997."""
    responses: dict[int, list[SetResponse]] = {}
    for event in reader.events():
        if isinstance(event, TransactionSet):
            responses.setdefault(id(event.group), []).append(respond(event, reject_any_error=reject_any_error))
        else:
            yield event, _group_ack(event, responses.pop(id(event), []))


def acknowledge(
    source: bytes | str | Path | BinaryIO, *, reject_any_error: bool = False
) -> list[tuple[FunctionalGroup, FunctionalAck]]:
    """The 997 content for every functional group in `source`, read leniently so sloppy envelopes are answered."""
    stream = open_x12(source)
    try:
        return list(acknowledge_groups(X12Reader(stream, strict=False), reject_any_error=reject_any_error))
    finally:
        if isinstance(source, Path):
            stream.close()


def reply_parties(group: FunctionalGroup) -> InterchangeParties:
    """Envelope parties for answering `group`: its receiver becomes the sender and the other way round."""
    sender_qualifier, sender_id = group.interchange.receiver
    receiver_qualifier, receiver_id = group.interchange.sender
    return InterchangeParties(
        sender_id=sender_id,
        receiver_id=receiver_id,
        sender_qualifier=sender_qualifier,
        receiver_qualifier=receiver_qualifier,
        application_sender=group.receiver or None,
        application_receiver=group.sender or None,
    )
