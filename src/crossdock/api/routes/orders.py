"""Order submission and order status: the process API in front of quote-to-order.

`POST /v1/orders` answers 202 only once the order is durably in the event log (invariant 1); quote-to-order picks
it up from there like an order from the CRM or EDI. The order's number is `API-<client>-<customer reference>`, so
a second submission of the same PO by the same client is a 409 pointing at the first, whatever its
Idempotency-Key. Partners see and submit only their own orders; another partner's order is a 404, never a 403,
so order ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from crossdock.api.auth import authenticate_in, caller, context, context_of, security_of
from crossdock.api.context import ApiContext
from crossdock.api.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from crossdock.api.idempotency import (
    checked_key,
    hash_request,
    key_reused,
    stored_problem,
    stored_response,
)
from crossdock.api.intake_link import IntakeUnavailableError
from crossdock.api.order_intake import Submission
from crossdock.api.order_views import OrderFacts
from crossdock.api.problems import ProblemError, forbidden, invalid, not_found, validation_problem
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import (
    OrderAccepted,
    OrderPage,
    OrderSubmission,
    OrderSubmissionExplained,
    OrderView,
    Problem,
)
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.observability import tracing
from crossdock.orders.intake import PROCESS_KEY
from crossdock.ports.api import ApiOrderRecord, ClientKind, IdempotencyRecord
from crossdock.ports.store import UnitOfWork
from crossdock.sync.publish import EventRefusedError

router = APIRouter(tags=["orders"], route_class=GuardedRoute)

ORDER_SUBMITTED = event_type("order", "submitted")
_NAMESPACE = uuid.UUID("6f1d3c52-8a47-4c1e-9b0e-2d5a4f7c9e10")  # ids derived from an order's identity, not random
_NAMESPACE_BYTES = _NAMESPACE.bytes


def name_uuid(name: str) -> str:
    """`str(uuid.uuid5(_NAMESPACE, name))`, without building UUID objects (three per order on the hot path)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,200}$", description="the order's id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 422, 429)
}


def _order_number(client_id: str, reference: str) -> str:
    return f"API-{client_id}-{reference}"


def _customer_for(principal: Principal, submission: OrderSubmission) -> str:
    if principal.kind is ClientKind.PARTNER:
        if submission.customer_id is not None and submission.customer_id != principal.partner_id:
            raise forbidden("a partner orders for its own account only; leave customer_id out")
        assert principal.partner_id is not None  # a partner token always names its partner
        return principal.partner_id
    if submission.customer_id is None:
        raise invalid("customer_id is required: name the buying account's canonical id")
    return submission.customer_id


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


# The submission route parses its own body (below), so it sits on a plain route: pydantic-core reads the JSON in
# one pass with its own depth limit, where FastAPI would parse it with the standard library and validate after.
submission_router = APIRouter(tags=["orders"])


@submission_router.post(
    "/v1/orders",
    status_code=202,
    response_model=OrderAccepted,
    responses={**ERRORS, 202: {"headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Submit an order",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderSubmission"}}},
        },
        **security_of(Scope.ORDERS_WRITE),
    },
)
async def submit_order(request: Request) -> Response:
    """Take a purchase order; quote-to-order validates, prices and fulfils it. Needs an `Idempotency-Key`.

    The 202 is answered once the order's `order.submitted` event is in the log and the order and its answer are
    committed. A refusal (403, 422, invalid JSON included) is stored under
    the key as well: the same request sent again gets the same answer."""
    headers = request.headers
    answer, replayed = await accept_order(
        context_of(request),
        request.scope,
        OrderRequest(
            authorization=headers.get("authorization"),
            content_type=headers.get("content-type", ""),
            idempotency_key=headers.get(IDEMPOTENCY_HEADER),
            body=await request.body(),
            path=request.url.path,
        ),
    )
    return stored_response(answer, replayed=replayed)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What an order submission's answer depends on, read from the HTTP request."""

    authorization: str | None
    content_type: str
    idempotency_key: str | None
    body: bytes
    path: str


async def accept_order(
    ctx: ApiContext, scope: MutableMapping[str, Any], request: OrderRequest
) -> tuple[IdempotencyRecord, bool]:
    """The stored answer to an order submission and whether it is a replay; a 400/401/403/429 before the
    Idempotency-Key is known is raised as ProblemError (it is not stored: there is no key to store it under).

    Shared by the FastAPI route and `api.shortcuts`, which serves this one route without the framework's
    per-request machinery (it cost more than the order itself)."""
    # Authenticated here rather than by a dependency: FastAPI's dependency solving cost this route a third of
    # its time (the OpenAPI document still declares the scope, through `security_of`).
    principal = authenticate_in(ctx, scope, request.authorization, (Scope.ORDERS_WRITE,))
    key = checked_key(request.idempotency_key)
    request_hash = hash_request("POST", request.path, request.body)
    now = ctx.clock()
    expires = now + timedelta(hours=ctx.config.idempotency_ttl_h)
    try:
        submission = read_submission(request.content_type, request.body)
        correlation_id = scope.get("state", {}).get("correlation_id")
        prepared = _prepare(ctx, request.path, correlation_id, submission, principal, key, request_hash, now, expires)
    except ProblemError as refusal:
        prepared = Submission(
            answer=stored_problem(refusal, request.path, principal.client_id, key, request_hash, now, expires)
        )
    try:
        outcome = await ctx.order_intake.submit(prepared)
    except IntakeUnavailableError as unavailable:
        raise ProblemError(
            503,
            "intake-unavailable",
            "Order intake unavailable",
            f"{unavailable}; send the same request again with the same Idempotency-Key in a few seconds (an order "
            "taken before the interruption is answered from its stored answer, never taken twice)",
            headers={"Retry-After": "2"},
        ) from None
    if outcome.replayed and outcome.answer.request_hash != request_hash:
        raise key_reused()
    return outcome.answer, outcome.replayed


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


def _prepare(
    ctx: ApiContext,
    path: str,
    correlation_id: str | None,
    submission: OrderSubmission,
    principal: Principal,
    key: str,
    request_hash: str,
    now: datetime,
    expires: datetime,
) -> Submission:
    """The order, its event and its 202, ready for the intake writer; refusals raise ProblemError."""
    customer_id = _customer_for(principal, submission)
    number = _order_number(principal.client_id, submission.customer_reference)
    order_id = name_uuid(number)
    document = canonical_order(order_id, number, customer_id, submission, now.date().isoformat())
    process_id = name_uuid(f"process:{order_id}")
    event = CloudEvent(
        type=ORDER_SUBMITTED,
        source=f"/api/clients/{principal.client_id}",
        subject=order_id,
        data=document,
        # The same order submitted again after a crash is the same event: the log keeps one.
        id=name_uuid(f"submitted:{order_id}"),
        time=now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        correlationid=correlation_id,
        # The request's trace continues in quote-to-order (set here: `order_intake.traced` would copy the event).
        traceparent=tracing.current_traceparent(),
        businesskeys={"order": number, "customer_po": submission.customer_reference, PROCESS_KEY: process_id},
        partnerid=principal.partner_id,
    )
    try:
        ctx.publisher.check(event)  # refuse here what the log would refuse later
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
        "submitted_at": now.isoformat().replace("+00:00", "Z"),
        "links": {"self": location},
    }
    record = ApiOrderRecord(
        order_id=order_id,
        number=number,
        client_id=principal.client_id,
        partner_id=principal.partner_id,
        customer_id=customer_id,
        event_id=event.id,
        process_id=process_id,
        submitted_at=now,
        customer_reference=submission.customer_reference,
        document=document,
    )
    answer = IdempotencyRecord(
        client_id=principal.client_id,
        key=key,
        request_hash=request_hash,
        status_code=202,
        body=orjson.dumps(accepted),
        headers={"content-type": "application/json", "location": location},
        created_at=now,
        expires_at=expires,
    )

    conflict = TakenReference(path, principal.client_id, key, request_hash, submission.customer_reference, now, expires)
    return Submission(answer=answer, order=record, event=event, conflict=conflict)


@dataclass(frozen=True, slots=True)
class TakenReference:
    """The 409 stored under a submission's key when its customer reference is already an order of this client."""

    path: str
    client_id: str
    key: str
    request_hash: str
    customer_reference: str
    now: datetime
    expires: datetime

    def answer(self, existing: ApiOrderRecord) -> IdempotencyRecord:
        """The problem naming the order taken first, with its Location."""
        problem = ProblemError(
            409,
            "order-exists",
            "Order already submitted",
            f"this client already submitted customer reference {self.customer_reference!r} as order "
            f"{existing.number}; GET /v1/orders/{existing.order_id} for its status",
            headers={"Location": f"/v1/orders/{existing.order_id}"},
        )
        return stored_problem(problem, self.path, self.client_id, self.key, self.request_hash, self.now, self.expires)


async def visible_order(ctx: ApiContext, principal: Principal, order_id: str) -> OrderFacts:
    """The order if the caller may see it: its own for a partner, any for internal callers."""

    def read(uow: UnitOfWork) -> OrderFacts | None:
        record = uow.api.get_order(order_id)
        if record is None or (principal.kind is ClientKind.PARTNER and record.partner_id != principal.partner_id):
            return None
        return OrderFacts.read(uow, record)

    facts = await ctx.read(read)
    if facts is None:
        raise not_found(f"order {order_id}")
    return facts


def order_view(facts: OrderFacts, principal: Principal) -> OrderView:
    """The order with the properties the caller's scopes allow."""
    return facts.view(
        shipments=principal.has(Scope.SHIPMENTS_READ),
        invoices=principal.has(Scope.INVOICES_READ),
        internal=principal.kind is not ClientKind.PARTNER,
    )


@router.get("/v1/orders/{order_id}", response_model=OrderView, responses=ERRORS, summary="An order's status")
async def get_order(
    order_id: OrderId,
    principal: Annotated[Principal, Depends(caller(Scope.ORDERS_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> OrderView:
    """Status, lines, and (with the scopes) shipments and invoices."""
    return order_view(await visible_order(ctx, principal, order_id), principal)


@router.get(
    "/v1/orders/{order_id}/status",
    response_model=OrderView,
    responses=ERRORS,
    deprecated=True,
    summary="An order's status (deprecated: use GET /v1/orders/{order_id})",
)
async def get_order_status(
    order_id: OrderId,
    principal: Annotated[Principal, Depends(caller(Scope.ORDERS_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> OrderView:
    """The first release's status route; answers like GET /v1/orders/{order_id} until its sunset."""
    return order_view(await visible_order(ctx, principal, order_id), principal)


async def order_page(
    ctx: ApiContext, principal: Principal, partner_id: str | None, after: str | None, limit: int
) -> tuple[list[OrderFacts], str | None]:
    """A page of orders visible to the caller, and the cursor for the next one."""

    def read(uow: UnitOfWork) -> list[OrderFacts]:
        cursor = None
        if after is not None:
            cursor = uow.api.get_order(after)
            if cursor is None or (partner_id is not None and cursor.partner_id != partner_id):
                raise invalid("`after` names no order of this client; pass the `next_after` of the previous page")
        records = uow.api.list_orders(partner_id=partner_id, after=cursor, limit=limit)
        return [OrderFacts.read(uow, record) for record in records]

    facts = await ctx.read(read)
    next_after = facts[-1].record.order_id if len(facts) == limit else None
    return facts, next_after


Limit = Annotated[int, Query(ge=1, le=200, description="page size (at most 200)")]
After = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:-]{1,200}$", description="the previous page's next_after")]


@router.get("/v1/orders", response_model=OrderPage, responses=ERRORS, summary="List orders")
async def list_orders(
    principal: Annotated[Principal, Depends(caller(Scope.ORDERS_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
    after: After = None,
    limit: Limit = 50,
) -> OrderPage:
    """Orders taken through the API, oldest first: a partner's own, or all for internal callers."""
    partner = principal.partner_id if principal.kind is ClientKind.PARTNER else None
    facts, next_after = await order_page(ctx, principal, partner, after, limit)
    return OrderPage(items=[order_view(f, principal) for f in facts], next_after=next_after)
