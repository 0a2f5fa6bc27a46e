"""Order submission and order status: the process API in front of quote-to-order.

`POST /v1/orders` answers 202 only once the order is durably in the event log (invariant 1); quote-to-order picks
it up from there like an order from the CRM or EDI. The order's number is `API-<client>-<customer reference>`, so
a second submission of the same PO by the same client is a 409 pointing at the first, whatever its
Idempotency-Key. Partners see and submit only their own orders; another partner's order is a 404, never a 403,
so order ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from crossdock.api.auth import authenticate_in, caller, context, context_of, security_of
from crossdock.api.context import ApiContext
from crossdock.api.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from crossdock.api.idempotency import Answer, checked_key, hash_request, key_reused, response_for
from crossdock.api.intake_link import IntakeUnavailableError
from crossdock.api.order_intake import Outcome
from crossdock.api.order_submission import OrderTicket
from crossdock.api.order_views import OrderFacts
from crossdock.api.problems import ProblemError, invalid, not_found
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import (
    OrderAccepted,
    OrderPage,
    OrderView,
    Problem,
)
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.observability import tracing
from crossdock.ports.api import ClientKind
from crossdock.ports.store import UnitOfWork

router = APIRouter(tags=["orders"], route_class=GuardedRoute)

OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,200}$", description="the order's id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 422, 429)
}


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
    outcome = await accept_order(
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
    return answered(outcome)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What an order submission's answer depends on, read from the HTTP request."""

    authorization: str | None
    content_type: str
    idempotency_key: str | None
    body: bytes
    path: str


async def accept_order(ctx: ApiContext, scope: MutableMapping[str, Any], request: OrderRequest) -> Outcome:
    """The stored answer to an order submission and whether it is a replay; a 400/401/403/429 before the
    Idempotency-Key is known is raised as ProblemError (it is not stored: there is no key to store it under).

    Shared by the FastAPI route and `api.shortcuts`, which serves this one route without the framework's
    per-request machinery (it cost more than the order itself)."""
    # Authenticated here rather than by a dependency: FastAPI's dependency solving cost this route a third of
    # its time (the OpenAPI document still declares the scope, through `security_of`).
    principal = authenticate_in(ctx, scope, request.authorization, (Scope.ORDERS_WRITE,))
    key = checked_key(request.idempotency_key)
    now = ctx.clock()
    # The body is read, and the order built, where it is stored (`api.order_submission`): not on this loop.
    ticket = OrderTicket(
        client_id=principal.client_id,
        partner_id=principal.partner_id,
        partner=principal.kind is ClientKind.PARTNER,
        key=key,
        request_hash=hash_request("POST", request.path, request.body),
        path=request.path,
        content_type=request.content_type,
        body=request.body,
        received_at=now,
        expires_at=now + timedelta(hours=ctx.config.idempotency_ttl_h),
        correlation_id=scope.get("state", {}).get("correlation_id"),
        traceparent=tracing.current_traceparent(),
    )
    try:
        outcome = await ctx.order_intake.submit(ticket)
    except IntakeUnavailableError as unavailable:
        raise ProblemError(
            503,
            "intake-unavailable",
            "Order intake unavailable",
            f"{unavailable}; send the same request again with the same Idempotency-Key in a few seconds (an order "
            "taken before the interruption is answered from its stored answer, never taken twice)",
            headers={"Retry-After": "2"},
        ) from None
    if outcome.replayed and outcome.request_hash != ticket.request_hash:
        raise key_reused()
    if outcome.status_code == 202 and tracing.recording():  # 1 request in 100, say: read the number then
        tracing.tag({tracing.BUSINESS_KEY: orjson.loads(outcome.body)["number"]})
    return outcome


def answered(outcome: Outcome) -> Response:
    """The response for an order submission's outcome."""
    return response_for(Answer(outcome.status_code, outcome.body, outcome.headers), replayed=outcome.replayed)


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
