"""The link to the intake process carries tickets and outcomes as plain values and back, unchanged; the intake
process prepares each ticket into the submission the API process used to build."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from crossdock.api.intake_link import (
    FRAME_TICKETS,
    RemoteOrderIntake,
    pack_outcome,
    pack_ticket,
    unpack_outcome,
    unpack_ticket,
)
from crossdock.api.order_intake import Outcome
from crossdock.api.order_submission import ORDER_SUBMITTED, OrderTicket, SubmissionPreparer, name_uuid
from crossdock.api.schemas import OrderAccepted
from crossdock.events.registry import SchemaRegistry
from crossdock.log.memory import MemoryEventLog
from crossdock.ports.api import IdempotencyRecord
from crossdock.sync.publish import Publisher

NOW = datetime(2026, 11, 23, 2, 30, 0, 120_000, tzinfo=UTC)
BODY = (
    b'{"customer_reference":"PO-1","ship_to":{"lines":["1 Dock Rd"],"city":"Columbus","country":"US"},'
    b'"lines":[{"sku":"SKU-1","quantity":"2","unit_price":"4.25"}]}'
)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _ticket(body: bytes = BODY, *, partner: bool = True, content_type: str = "application/json") -> OrderTicket:
    return OrderTicket(
        client_id="acme",
        partner_id="cus-acme" if partner else None,
        partner=partner,
        key="k-1",
        request_hash="h",
        path="/v1/orders",
        content_type=content_type,
        body=body,
        received_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        correlation_id="corr-1",
        traceparent=TRACE,
    )


def _preparer() -> SubmissionPreparer:
    return SubmissionPreparer(Publisher(MemoryEventLog(), SchemaRegistry.default().validate))


def test_a_ticket_and_an_outcome_cross_the_link_unchanged() -> None:
    ticket = _ticket()
    assert unpack_ticket(pickle.loads(pickle.dumps(pack_ticket(ticket)))) == ticket
    stored = IdempotencyRecord("acme", "k-1", "h", 202, b"{}", {"location": "/v1/orders/o-1"}, NOW, NOW)
    outcome = Outcome.of(stored, replayed=True)
    assert (outcome.status_code, outcome.headers, outcome.request_hash) == (202, stored.headers, "h")
    assert unpack_outcome(pickle.loads(pickle.dumps(pack_outcome(outcome)))) == outcome


def test_a_ticket_is_prepared_into_the_order_its_event_and_its_202() -> None:
    submission = _preparer().prepare(_ticket())
    number = "API-acme-PO-1"
    order_id = name_uuid(number)
    assert submission.order is not None
    assert submission.event is not None
    assert submission.conflict is not None
    assert (submission.order.number, submission.order.order_id, submission.order.customer_id) == (
        number,
        order_id,
        "cus-acme",
    )
    event = submission.event
    assert (event.type, event.subject, event.id) == (ORDER_SUBMITTED, order_id, name_uuid(f"submitted:{order_id}"))
    assert (event.traceparent, event.correlationid, event.partnerid) == (TRACE, "corr-1", "cus-acme")
    assert event.data is submission.order.document
    answer = submission.answer
    assert (answer.status_code, answer.key, answer.expires_at) == (202, "k-1", NOW + timedelta(hours=24))
    accepted = OrderAccepted.model_validate_json(answer.body)  # the document written directly is the model's
    assert (accepted.id, accepted.number, accepted.submitted_at) == (order_id, number, NOW)
    assert answer.headers["location"] == f"/v1/orders/{order_id}"
    taken = submission.conflict.answer(submission.order)
    assert taken.status_code == 409
    assert orjson.loads(taken.body)["status"] == 409
    assert taken.headers["location"] == f"/v1/orders/{order_id}"


def test_a_refused_body_is_prepared_into_the_refusal_to_store() -> None:
    preparer = _preparer()
    for ticket, status in (
        (_ticket(b'{"customer_reference": 7}'), 422),
        (_ticket(b"not json"), 422),
        (_ticket(content_type="text/plain"), 415),
        (_ticket(BODY.replace(b'"ship_to"', b'"customer_id":"cus-zeta","ship_to"')), 403),  # another's account
        (_ticket(partner=False), 422),  # an internal client must name the customer
    ):
        refusal = preparer.prepare(ticket)
        assert (refusal.answer.status_code, refusal.order, refusal.event) == (status, None, None), ticket.body
        assert refusal.answer.key == "k-1"


async def test_a_busy_loop_turn_goes_to_the_intake_in_frames_of_a_few_tickets(tmp_path: Path) -> None:
    frames: list[int] = []

    async def intake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
            except asyncio.IncompleteReadError:
                return
            batch, packed = pickle.loads(await reader.readexactly(length))
            frames.append(len(packed))
            answers = [
                pack_outcome(Outcome(202, unpack_ticket(ticket).key.encode(), {}, "h", replayed=False))
                for ticket in packed
            ]
            body = pickle.dumps((batch, answers))
            writer.write(struct.pack(">I", len(body)) + body)

    address = str(tmp_path / "intake.sock")
    server = await asyncio.start_unix_server(intake, address)
    link = RemoteOrderIntake(address)
    try:
        count = 2 * FRAME_TICKETS + 3
        tickets = [dataclasses.replace(_ticket(), key=f"k-{n}") for n in range(count)]
        await link.submit(tickets[0])  # connected before the busy turn
        outcomes = await asyncio.gather(*(link.submit(ticket) for ticket in tickets))
    finally:
        link.close()
        server.close()
    assert [outcome.body for outcome in outcomes] == [ticket.key.encode() for ticket in tickets]
    assert frames == [1, FRAME_TICKETS, FRAME_TICKETS, count - 2 * FRAME_TICKETS]
