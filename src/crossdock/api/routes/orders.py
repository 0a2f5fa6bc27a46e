"""Order submission and order status: the process API in front of quote-to-order.

`POST /v1/orders` answers 202 only once the order is durably in the event log (invariant 1); quote-to-order picks
it up from there like an order from the CRM or EDI. The order's number is `API-<client>-<customer reference>`, so
a second submission of the same PO by the same client is a 409 pointing at the first, whatever its
Idempotency-Key. Partners see and submit only their own orders; another partner's order is a 404, never a 403,
so order ids cannot be probed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.idempotency import Answer, once, require_key
from crossdock.api.order_views import OrderFacts
from crossdock.api.problems import ProblemError, forbidden, invalid, not_found
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import OrderAccepted, OrderPage, OrderSubmission, OrderView, Problem
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.sales import SalesOrder
from crossdock.orders.intake import PROCESS_KEY
from crossdock.ports.api import ApiOrderRecord, ClientKind
from crossdock.ports.store import UnitOfWork

router = APIRouter(tags=["orders"], route_class=GuardedRoute)

ORDER_SUBMITTED = event_type("order", "submitted")
_NAMESPACE = uuid.UUID("6f1d3c52-8a47-4c1e-9b0e-2d5a4f7c9e10")  # ids derived from an order's identity, not random
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
) -> SalesOrder:
    """The submission as a canonical sales order, submitted."""
    ship_to = submission.ship_to
    return SalesOrder.model_validate(
        {
            "id": order_id,
            "number": number,
            "customer_id": customer_id,
            "customer_po": submission.customer_reference,
            "order_date": today,
            "currency": submission.currency,
            "status": "submitted",
            "channel": "ecommerce",
            "requested_date": submission.requested_date,
            "notes": submission.notes,
            "ship_to": {
                "kind": "ship_to",
                "name": ship_to.name,
                "lines": ship_to.lines,
                "city": ship_to.city,
                "region": ship_to.region,
                "postal_code": ship_to.postal_code,
                "country": ship_to.country,
            },
            "lines": [
                {
                    "line_number": n,
                    # API callers name items by SKU; quote-to-order resolves the ERP item by SKU as well.
                    "item_id": f"sku:{line.sku}",
                    "sku": line.sku,
                    "ordered_quantity": {"value": str(line.quantity), "uom": line.uom},
                    "unit_price": {"amount": str(line.unit_price), "currency": submission.currency},
                    "requested_date": line.requested_date,
                }
                for n, line in enumerate(submission.lines, start=1)
            ],
        }
    )


def _json(document: Any, status: int, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, orjson.dumps(document), {"content-type": "application/json", **(headers or {})})


@router.post(
    "/v1/orders",
    status_code=202,
    response_model=OrderAccepted,
    responses={**ERRORS, 202: {"headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Submit an order",
)
async def submit_order(
    request: Request,
    submission: OrderSubmission,
    principal: Annotated[Principal, Depends(caller(Scope.ORDERS_WRITE))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Response:
    """Take a purchase order; quote-to-order validates, prices and fulfils it. Needs an `Idempotency-Key`."""
    key = require_key(request)

    async def answer() -> Answer:
        customer_id = _customer_for(principal, submission)
        number = _order_number(principal.client_id, submission.customer_reference)
        order_id = str(uuid.uuid5(_NAMESPACE, number))
        existing = await ctx.read(lambda uow: uow.api.find_order(number))
        if existing is not None:
            raise ProblemError(
                409,
                "order-exists",
                "Order already submitted",
                f"this client already submitted customer reference {submission.customer_reference!r} as order "
                f"{existing.number}; GET /v1/orders/{existing.order_id} for its status",
                headers={"Location": f"/v1/orders/{existing.order_id}"},
            )
        now = ctx.clock()
        try:
            order = canonical_order(order_id, number, customer_id, submission, now.date().isoformat())
        except ValueError as error:
            raise invalid(f"the order breaks a rule: {error}") from None
        process_id = str(uuid.uuid5(_NAMESPACE, f"process:{order_id}"))
        document = order.model_dump(mode="json", exclude_none=True)
        event = CloudEvent(
            type=ORDER_SUBMITTED,
            source=f"/api/clients/{principal.client_id}",
            subject=order_id,
            data=document,
            # The same order submitted again after a crash is the same event: the log keeps one.
            id=str(uuid.uuid5(_NAMESPACE, f"submitted:{order_id}")),
            correlationid=request.scope.get("state", {}).get("correlation_id"),
            businesskeys={"order": number, "customer_po": submission.customer_reference, PROCESS_KEY: process_id},
            partnerid=principal.partner_id,
        )
        await ctx.publisher.publish([event])
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
        location = f"/v1/orders/{order_id}"
        accepted = OrderAccepted(
            id=order_id,
            number=number,
            customer_reference=submission.customer_reference,
            process_id=process_id,
            submitted_at=now,
            links={"self": location},
        )

        def write(uow: UnitOfWork) -> None:
            uow.api.add_order(record)

        answer = _json(accepted.model_dump(mode="json"), 202, {"location": location})
        answer.write = write
        return answer

    return await once(ctx, request, principal.client_id, key, answer)


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


def submitted_at(view: OrderView) -> datetime:
    """For sorting."""
    return view.submitted_at
