"""From an order submission as the API took it (an `OrderTicket`) to what is stored (a `Submission`).

The API process authenticates the caller, takes its rate plan, checks the Idempotency-Key and hashes the request;
that is all an order costs on the event loop that answers every request. Reading the body (pydantic), building the
canonical sales order, its `order.submitted` event (checked against the event's schema) and its 202 answer is
done by `SubmissionPreparer` where the order is stored: in the intake process that `crossdock serve` starts
(`api.intake_link`), or on the API's loop when orders are stored on a writer thread there (`api.order_intake`).
Why: on two cores the API process was the one at its limit, a full core answering requests, while the intake
process waited on the disk; preparing an order cost the API a quarter of its time per request.

A refusal (415, 403, 422) is prepared the same way and stored under the key: the same request sent again gets the
same answer.

The order's number is `API-<client>-<customer reference>`, and its id, its process id and its event id are derived
from that number: the same order submitted again after a crash is the same event, and the log keeps one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from crossdock.api.idempotency import stored_problem
from crossdock.api.problems import ProblemError, forbidden, invalid, validation_problem
from crossdock.api.schemas import OrderSubmission, OrderSubmissionExplained
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.orders.intake import PROCESS_KEY
from crossdock.ports.api import ApiOrderRecord, IdempotencyRecord
from crossdock.sync.publish import EventRefusedError, Publisher

ORDER_SUBMITTED = event_type("order", "submitted")
_NAMESPACE = uuid.UUID("6f1d3c52-8a47-4c1e-9b0e-2d5a4f7c9e10")  # ids derived from an order's identity, not random
_NAMESPACE_BYTES = _NAMESPACE.bytes


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """One `POST /v1/orders` as the API took it: who sent it, under which key, and its body, not yet read.

    Plain values only: tickets cross to the intake process pickled (`api.intake_link`)."""

    client_id: str
    partner_id: str | None  # set for a partner: it orders for that account only
    partner: bool  # the caller is a partner (not an internal client naming the customer)
    key: str
    request_hash: str
    path: str
    content_type: str
    body: bytes
    received_at: datetime
    expires_at: datetime  # when the stored answer may be forgotten
    correlation_id: str | None
    traceparent: str | None  # the request's trace: quote-to-order continues it

    def refused(self, problem: ProblemError) -> IdempotencyRecord:
        """The refusal to store under this ticket's key."""
        return stored_problem(
            problem, self.path, self.client_id, self.key, self.request_hash, self.received_at, self.expires_at
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """One POST /v1/orders, ready to store: the 202 answer, the order and its event."""

    answer: IdempotencyRecord  # the 202 (or the refusal), keyed by (client, Idempotency-Key)
    order: ApiOrderRecord | None = None  # None for a refusal: only the answer is stored
    event: CloudEvent | None = None
    # The answer to store instead when the PO was already submitted (a 409 naming the first order).
    conflict: Conflict | None = None


class Conflict(Protocol):
    """Builds the answer stored when a submission's order number is already taken (`TakenReference`); a protocol
    so that the group commit (`api.order_intake`) needs nothing of this module at run time."""

    def answer(self, existing: ApiOrderRecord) -> IdempotencyRecord:
        """The answer naming the order taken first."""
        ...


def name_uuid(name: str) -> str:
    """`str(uuid.uuid5(_NAMESPACE, name))`, without building UUID objects (three per order on the hot path)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def order_number(client_id: str, reference: str) -> str:
    """The number of the order a client submitted under its customer reference."""
    return f"API-{client_id}-{reference}"


class SubmissionPreparer:
    """Turns tickets into submissions; `publisher` checks each order's event as the log will."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    def prepare(self, ticket: OrderTicket) -> Submission:
        """The order, its event and its 202; or, for a body that is refused, the refusal to store."""
        try:
            return self._accepted(ticket, read_submission(ticket.content_type, ticket.body))
        except ProblemError as refusal:
            return Submission(answer=ticket.refused(refusal))

    def _accepted(self, ticket: OrderTicket, submission: OrderSubmission) -> Submission:
        customer_id = _customer_for(ticket, submission)
        number = order_number(ticket.client_id, submission.customer_reference)
        order_id = name_uuid(number)
        now = ticket.received_at
        document = canonical_order(order_id, number, customer_id, submission, now.date().isoformat())
        process_id = name_uuid(f"process:{order_id}")
        submitted_at = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
        event = CloudEvent(
            type=ORDER_SUBMITTED,
            source=f"/api/clients/{ticket.client_id}",
            subject=order_id,
            data=document,
            # The same order submitted again after a crash is the same event: the log keeps one.
            id=name_uuid(f"submitted:{order_id}"),
            time=submitted_at,
            correlationid=ticket.correlation_id,
            traceparent=ticket.traceparent,
            businesskeys={"order": number, "customer_po": submission.customer_reference, PROCESS_KEY: process_id},
            partnerid=ticket.partner_id,
        )
        try:
            self._publisher.check(event)  # refuse here what the log would refuse later
        except EventRefusedError as refused:
            raise invalid(f"the order breaks a rule of the order contract: {refused}") from None
        location = f"/v1/orders/{order_id}"
        # The `OrderAccepted` document, written directly: building the model to dump it again cost a twentieth of
        # each request (a unit test holds the two in step).
        accepted = {
            "id": order_id,
            "number": number,
            "customer_reference": submission.customer_reference,
            "status": "submitted",
            "process_id": process_id,
            "submitted_at": submitted_at,
            "links": {"self": location},
        }
        record = ApiOrderRecord(
            order_id=order_id,
            number=number,
            client_id=ticket.client_id,
            partner_id=ticket.partner_id,
            customer_id=customer_id,
            event_id=event.id,
            process_id=process_id,
            submitted_at=now,
            customer_reference=submission.customer_reference,
            document=document,
        )
        answer = IdempotencyRecord(
            client_id=ticket.client_id,
            key=ticket.key,
            request_hash=ticket.request_hash,
            status_code=202,
            body=orjson.dumps(accepted),
            headers={"content-type": "application/json", "location": location},
            created_at=now,
            expires_at=ticket.expires_at,
        )
        return Submission(answer=answer, order=record, event=event, conflict=TakenReference(ticket))


@dataclass(frozen=True, slots=True)
class TakenReference:
    """The 409 stored under a submission's key when its customer reference is already an order of this client."""

    ticket: OrderTicket

    def answer(self, existing: ApiOrderRecord) -> IdempotencyRecord:
        """The problem naming the order taken first, with its Location."""
        problem = ProblemError(
            409,
            "order-exists",
            "Order already submitted",
            f"this client already submitted customer reference {existing.customer_reference!r} as order "
            f"{existing.number}; GET /v1/orders/{existing.order_id} for its status",
            headers={"Location": f"/v1/orders/{existing.order_id}"},
        )
        return self.ticket.refused(problem)


def canonical_order(
    order_id: str, number: str, customer_id: str, submission: OrderSubmission, today: str
) -> dict[str, Any]:
    """The submission as a canonical sales order document, submitted.

    Built as the document directly rather than through `SalesOrder`: the submission's own model has checked every
    field already, and the event's registered schema is checked before the order is taken (`Publisher.check`);
    validating the same order a third time through the canonical model cost a fifth of each request. Consumers
    (order intake) read it with `SalesOrder.model_validate`, and a unit test holds the two in step.
    """
    ship_to = submission.ship_to
    currency = submission.currency
    address: dict[str, Any] = {
        "kind": "ship_to",
        "country": ship_to.country,
        "lines": ship_to.lines,
        "city": ship_to.city,
    }
    for name in ("region", "postal_code", "name"):
        value = getattr(ship_to, name)
        if value is not None:
            address[name] = value
    lines = []
    for n, line in enumerate(submission.lines, start=1):
        zero = {"value": "0", "uom": line.uom}
        document_line: dict[str, Any] = {
            "line_number": n,
            # API callers name items by SKU; quote-to-order resolves the ERP item by SKU as well.
            "item_id": f"sku:{line.sku}",
            "sku": line.sku,
            "unit_price": {"currency": currency, "amount": _decimal(line.unit_price)},
            "sourcing": "stocked",
            "ordered_quantity": {"value": _decimal(line.quantity), "uom": line.uom},
            "shipped_quantity": zero,
            "backordered_quantity": zero,
        }
        if line.requested_date is not None:
            document_line["requested_date"] = line.requested_date.isoformat()
        lines.append(document_line)
    document: dict[str, Any] = {
        "id": order_id,
        "external_refs": [],
        "number": number,
        "customer_id": customer_id,
        "ship_to": address,
        "customer_po": submission.customer_reference,
        "order_date": today,
        "currency": currency,
        "status": "submitted",
        "channel": "ecommerce",
        "lines": lines,
    }
    if submission.requested_date is not None:
        document["requested_date"] = submission.requested_date.isoformat()
    if submission.notes is not None:
        document["notes"] = submission.notes
    return document


def _decimal(value: Decimal) -> str:
    """A decimal as the canonical model writes it: no exponent, no trailing zeros beyond what was given."""
    return format(value, "f")


def read_submission(content_type: str, body: bytes) -> OrderSubmission:
    """The body as an order submission, or a 415/422 problem saying what to fix."""
    if not content_type.startswith("application/json"):
        raise ProblemError(
            415, "unsupported-media-type", "Unsupported media type", "send the order as application/json"
        )
    try:
        return OrderSubmission.model_validate_json(body)
    except ValidationError:
        pass
    try:
        return OrderSubmissionExplained.model_validate_json(body)  # refuses it again, saying what is read-only
    except ValidationError as error:
        raise validation_problem(error.errors(include_url=False, include_context=False)) from None


def _customer_for(ticket: OrderTicket, submission: OrderSubmission) -> str:
    if ticket.partner:
        if submission.customer_id is not None and submission.customer_id != ticket.partner_id:
            raise forbidden("a partner orders for its own account only; leave customer_id out")
        assert ticket.partner_id is not None  # a partner token always names its partner
        return ticket.partner_id
    if submission.customer_id is None:
        raise invalid("customer_id is required: name the buying account's canonical id")
    return submission.customer_id
