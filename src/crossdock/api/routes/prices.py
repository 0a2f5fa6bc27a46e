"""Contract prices: what one customer pays for a quantity of one item, as the ERP prices it now.

The price is the ERP's (the customer's price list, else the list price), asked for each request: prices change
with quantity breaks and contract dates, and a stale price is a promise the order desk then refuses. A partner
asks for its own prices only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.erp import SERVICE_UNAVAILABLE, account_for, ask_erp, erp_party, order_desk, settled
from crossdock.api.problems import ProblemError
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import CanonicalRef, PositiveQuantity, Sku
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.ports.orders import PriceQuery

router = APIRouter(tags=["prices"], route_class=GuardedRoute)


class ContractPrice(BaseModel):
    """The customer's net price per unit for the quantity, in the customer's currency."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    currency: str
    as_of: datetime


@router.get(
    "/v1/prices",
    response_model=ContractPrice,
    responses={**ERRORS, **SERVICE_UNAVAILABLE},
    summary="A customer's contract price for an item",
)
async def contract_price(
    principal: Annotated[Principal, Depends(caller(Scope.PRICES_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
    sku: Annotated[Sku, Query(description="the item's SKU")],
    quantity: Annotated[PositiveQuantity, Query(description="how many, in the item's sales unit")] = Decimal(1),
    customer_id: Annotated[
        CanonicalRef | None, Query(description="the customer's canonical id; partners leave it out")
    ] = None,
) -> ContractPrice:
    """The price the ERP would charge this customer for `quantity` of `sku` today."""
    account = account_for(principal, customer_id)
    desk, erp = order_desk(ctx)
    local_id = await erp_party(ctx, account, erp)
    # Both at once: the price list answers the amount, the customer's standing its currency.
    priced, standing = await asyncio.gather(
        ask_erp(ctx, erp, "price the item", lambda: desk.contract_prices(local_id, [PriceQuery(sku, quantity)])),
        ask_erp(ctx, erp, "tell the customer's currency", lambda: desk.customer_standing(local_id)),
        return_exceptions=True,
    )
    unit_price = settled(priced).get(sku)
    currency = settled(standing).currency
    if unit_price is None:
        raise ProblemError(
            404,
            "not-found",
            "Not found",
            f"item {sku} is not known to the ERP ({erp}) or has no price; check the SKU",
        )
    return ContractPrice(
        customer_id=account,
        sku=sku,
        quantity=quantity,
        unit_price=unit_price,
        currency=currency,
        as_of=ctx.clock(),
    )
