"""Credit checks: may this customer buy this much on credit now? Asked of the ERP, never answered from a copy.

A partner checks its own account only, and sees what it has left to spend but not its credit limit (which the
distributor's credit department sets and may not want to disclose); internal callers see both. It is a POST
because each check is a decision at a moment: an Idempotency-Key makes a retry get the same decision.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.erp import SERVICE_UNAVAILABLE, ErpUnavailableError, account_for, ask_erp, erp_party, order_desk
from crossdock.api.idempotency import Answer, once, require_key
from crossdock.api.problems import invalid
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import Amount, CanonicalRef, Currency
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.ports.api import ClientKind
from crossdock.ports.orders import CustomerStanding

router = APIRouter(tags=["credit"], route_class=GuardedRoute)


class CreditCheckIn(BaseModel):
    """An amount a customer wants to buy on credit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: CanonicalRef | None = Field(
        default=None, description="the customer's canonical id; partners leave it out (they check themselves)"
    )
    amount: Amount = Field(description="the order value to check, in `currency`")
    currency: Currency = "USD"


class CreditCheckResult(BaseModel):
    """The ERP's answer: approved when the account is active, not on hold, and the amount fits its credit."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    approved: bool
    reason: str | None = Field(default=None, description="why not: inactive, on_hold or over_credit")
    amount: Decimal
    currency: str
    available_credit: Decimal | None = Field(description="credit left to use; null when the account has no limit")
    credit_limit: Decimal | None = Field(default=None, description="internal callers only; null: no limit set")
    on_hold: bool
    checked_at: datetime


def decide(customer_id: str, check: CreditCheckIn, standing: CustomerStanding, now: datetime) -> CreditCheckResult:
    """The credit decision for `check` against the customer's standing in the ERP."""
    if standing.currency != check.currency:
        raise invalid(
            f"customer {customer_id}'s credit is kept in {standing.currency}; send the amount in {standing.currency}",
            [{"pointer": "/currency", "detail": f"must be {standing.currency}"}],
        )
    available = standing.available_credit
    reason = None
    if not standing.active:
        reason = "inactive"
    elif standing.credit_hold:
        reason = "on_hold"
    elif available is not None and check.amount > available:
        reason = "over_credit"
    return CreditCheckResult(
        customer_id=customer_id,
        approved=reason is None,
        reason=reason,
        amount=check.amount,
        currency=check.currency,
        available_credit=available,
        credit_limit=standing.credit_limit,
        on_hold=standing.credit_hold,
        checked_at=now,
    )


@router.post(
    "/v1/credit-checks",
    response_model=CreditCheckResult,
    responses={**ERRORS, **SERVICE_UNAVAILABLE},
    summary="Check a customer's credit",
)
async def check_credit(
    request: Request,
    check: CreditCheckIn,
    principal: Annotated[Principal, Depends(caller(Scope.CREDIT_READ))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Response:
    """Whether the ERP would extend `amount` of credit to the customer now. Needs an `Idempotency-Key`."""
    key = require_key(request)

    async def answer() -> Answer:
        customer_id = account_for(principal, check.customer_id)
        desk, erp = order_desk(ctx)
        local_id = await erp_party(ctx, customer_id, erp)
        try:
            standing = await ask_erp(
                ctx, erp, "tell the customer's credit standing", lambda: desk.customer_standing(local_id)
            )
        except ErpUnavailableError as down:
            raise down.problem() from None
        result = decide(customer_id, check, standing, ctx.clock())
        # Property-level authorisation: the limit is the distributor's business, what is left is the partner's.
        hidden = {"credit_limit"} if principal.kind is ClientKind.PARTNER else set()
        body = orjson.dumps(result.model_dump(mode="json", exclude=hidden))
        return Answer(200, body, {"content-type": "application/json"})

    return await once(ctx, request, principal.client_id, key, answer)
