"""The partner portal's experience API: `/v1/partners/me/...`, a partner's own orders, shipments and invoices.

Always scoped to the partner the token names: there is no partner id in these paths to tamper with.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.routes.orders import ERRORS, After, Limit, order_page, order_view
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import InvoicePage, OrderPage, ShipmentPage
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.ports.api import ClientKind

router = APIRouter(tags=["partner portal"], route_class=GuardedRoute)
PARTNER = (ClientKind.PARTNER,)


class PartnerProfile(BaseModel):
    """Who the token speaks for."""

    model_config = ConfigDict(frozen=True)

    partner_id: str
    client_id: str
    scopes: list[str]


def _partner(principal: Principal) -> str:
    assert principal.partner_id is not None  # `caller(kinds=PARTNER)` let only partner tokens through
    return principal.partner_id


@router.get("/v1/partners/me", response_model=PartnerProfile, responses=ERRORS)
async def me(principal: Annotated[Principal, Depends(caller(kinds=PARTNER))]) -> PartnerProfile:
    """The partner and client this token speaks for, and what it may do."""
    return PartnerProfile(
        partner_id=_partner(principal), client_id=principal.client_id, scopes=sorted(principal.scopes)
    )


@router.get("/v1/partners/me/orders", response_model=OrderPage, responses=ERRORS)
async def my_orders(
    principal: Annotated[Principal, Depends(caller(Scope.ORDERS_READ, kinds=PARTNER))],
    ctx: Annotated[ApiContext, Depends(context)],
    after: After = None,
    limit: Limit = 50,
) -> OrderPage:
    """The partner's orders, oldest first."""
    facts, next_after = await order_page(ctx, principal, _partner(principal), after, limit)
    return OrderPage(items=[order_view(f, principal) for f in facts], next_after=next_after)


@router.get("/v1/partners/me/shipments", response_model=ShipmentPage, responses=ERRORS)
async def my_shipments(
    principal: Annotated[Principal, Depends(caller(Scope.SHIPMENTS_READ, kinds=PARTNER))],
    ctx: Annotated[ApiContext, Depends(context)],
    after: After = None,
    limit: Limit = 50,
) -> ShipmentPage:
    """Shipments of the partner's orders; a page covers `limit` orders, `next_after` continues after them."""
    facts, next_after = await order_page(ctx, principal, _partner(principal), after, limit)
    return ShipmentPage(items=[s for f in facts for s in f.shipments()], next_after=next_after)


@router.get("/v1/partners/me/invoices", response_model=InvoicePage, responses=ERRORS)
async def my_invoices(
    principal: Annotated[Principal, Depends(caller(Scope.INVOICES_READ, kinds=PARTNER))],
    ctx: Annotated[ApiContext, Depends(context)],
    after: After = None,
    limit: Limit = 50,
) -> InvoicePage:
    """Invoices of the partner's orders; a page covers `limit` orders, `next_after` continues after them."""
    facts, next_after = await order_page(ctx, principal, _partner(principal), after, limit)
    return InvoicePage(items=[i for f in facts for i in f.invoices()], next_after=next_after)
