"""Availability: how much of each SKU can be promised from stock, served from the ATP cache with its as-of time.

Each answer says when the ERP said it (`as_of`) and whether it is older than the API's maximum age because the ERP
could not be asked (`stale`). A SKU the ERP does not know is answered `known: false`, not refused: a web shop asks
for a page of SKUs at once and should not lose the page to one discontinued item.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from crossdock.api.auth import caller, context
from crossdock.api.availability import AvailabilityNotCachedError, SupplyReading
from crossdock.api.context import ApiContext
from crossdock.api.erp import SERVICE_UNAVAILABLE, ask_erp, order_desk
from crossdock.api.problems import ProblemError, invalid
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import Sku
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.ports.api import ClientKind
from crossdock.ports.orders import ItemSupply

router = APIRouter(tags=["availability"], route_class=GuardedRoute)

MAX_SKUS = 50
# The OrderDesk port reports ATP at the ERP's shipping warehouse only; per-location ATP needs the port to grow a
# location argument first, so the one location there is has a name callers can send and read back.
DEFAULT_LOCATION = "default"


class SkuAvailability(BaseModel):
    """One SKU's available-to-promise at a location, as of when the ERP said it."""

    model_config = ConfigDict(frozen=True)

    sku: str
    location: str
    known: bool = Field(description="false: the ERP does not know this SKU (the other fields are then empty)")
    available: Decimal | None = Field(default=None, description="on hand less what open shipments have reserved")
    uom: str | None = Field(default=None, description="the unit `available` is counted in")
    sourcing: str | None = Field(default=None, description="stocked, or drop_ship (shipped by the supplier)")
    lead_time_days: int | None = Field(default=None, description="the supplier's lead time, for backorders")
    supplier_id: str | None = Field(default=None, description="internal callers only: the ERP's supplier party")
    as_of: datetime = Field(description="when the ERP said this")
    stale: bool = Field(description="true: the ERP could not be asked, so this is older than the maximum age")


class Availability(BaseModel):
    """Availability of the SKUs asked for, in the order asked, each once."""

    model_config = ConfigDict(frozen=True)

    items: list[SkuAvailability]
    max_age_s: float = Field(description="how old an answer may be before it is read from the ERP again")


def view(reading: SupplyReading, location: str, *, internal: bool) -> SkuAvailability:
    """A cached reading as the caller may see it (the supplier only for internal callers)."""
    supply: ItemSupply | None = reading.supply
    if supply is None:
        return SkuAvailability(
            sku=reading.sku, location=location, known=False, as_of=reading.as_of, stale=reading.stale
        )
    return SkuAvailability(
        sku=reading.sku,
        location=location,
        known=True,
        available=supply.available,
        uom=supply.unit,
        sourcing=supply.sourcing.value,
        lead_time_days=supply.lead_time_days,
        supplier_id=supply.supplier_id if internal else None,
        as_of=reading.as_of,
        stale=reading.stale,
    )


@router.get(
    "/v1/availability",
    response_model=Availability,
    responses={**ERRORS, **SERVICE_UNAVAILABLE},
    summary="Available-to-promise per SKU",
)
async def availability(
    principal: Annotated[Principal, Depends(caller(Scope.AVAILABILITY_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
    sku: Annotated[list[Sku], Query(min_length=1, description=f"a SKU; repeat for up to {MAX_SKUS}")],
    location: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9._-]{1,64}$", description=f"the stock location; only `{DEFAULT_LOCATION}` today"),
    ] = None,
) -> Availability:
    """How much of each SKU can be promised now, from a cache at most `max_age_s` old while the ERP answers."""
    if len(sku) > MAX_SKUS:
        raise invalid(f"ask for at most {MAX_SKUS} SKUs at once (got {len(sku)}); split the list over requests")
    if location not in (None, DEFAULT_LOCATION):
        raise invalid(
            f"availability per location is not available yet: the ERP reports its shipping warehouse only; leave "
            f"`location` out (or send `{DEFAULT_LOCATION}`)",
            [{"pointer": "/location", "detail": f"only {DEFAULT_LOCATION}"}],
        )
    desk, erp = order_desk(ctx)

    async def fetch(skus: list[str]) -> dict[str, ItemSupply]:
        return await ask_erp(ctx, erp, "tell availability", lambda: desk.item_supply(skus))

    max_age = ctx.config.availability_max_age_s
    try:
        readings = await ctx.availability.read(sku, fetch, max_age=timedelta(seconds=max_age), clock=ctx.clock)
    except AvailabilityNotCachedError as down:
        retry_after = str(max(1, math.ceil(down.retry_after_s)))
        raise ProblemError(
            503,
            "erp-unavailable",
            "The ERP is not answering",
            f"{down} Try again in {retry_after} s.",
            headers={"Retry-After": retry_after},
            extra={"uncached_skus": list(down.missing)},
        ) from None
    internal = principal.kind is not ClientKind.PARTNER
    return Availability(
        items=[view(reading, DEFAULT_LOCATION, internal=internal) for reading in readings], max_age_s=max_age
    )
