"""Webhook subscriptions per partner (out), and webhooks other systems send us (in).

A partner manages only its own subscriptions; a URL that points at a private, loopback, link-local or cloud
metadata address is refused (SSRF, OWASP API7) unless the operator allowed that host. The signing secret is
shown once, when the subscription is made.

An inbound webhook is verified (Standard Webhooks, 5 minutes' tolerance), logged as an event and acknowledged;
a retry of one already logged is acknowledged again and logged under the same event id, so the log keeps one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.problems import ProblemError, invalid, not_found, unauthorized
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.events.catalogue import UnknownEventTypeError
from crossdock.events.envelope import CloudEvent
from crossdock.ports.api import ClientKind, WebhookSubscription
from crossdock.ports.egress import EgressRefusedError
from crossdock.webhooks.inbound import InboundPayloadError, receive
from crossdock.webhooks.signing import WebhookVerificationError
from crossdock.webhooks.subscriptions import subscribe

router = APIRouter(tags=["webhooks"], route_class=GuardedRoute)
SubscriptionId = Annotated[str, Path(pattern=r"^sub_[0-9a-f]{32}$")]
Source = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class SubscriptionIn(BaseModel):
    """Where to send which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://", description="an http(s) URL on the internet")
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description="event types (crossdock.order.accepted.v1), prefixes (crossdock.order.*) or *",
    )
    description: str = Field(default="", max_length=200)


class SubscriptionView(BaseModel):
    """A subscription, without its secret."""

    model_config = ConfigDict(frozen=True)

    id: str
    url: str
    event_types: list[str]
    state: str
    description: str
    disabled_reason: str | None = None


class SubscriptionCreated(SubscriptionView):
    """A new subscription, with the secret its deliveries are signed with: shown this once."""

    secret: str


def _view(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": sorted(subscription.event_types),
        "state": subscription.state.value,
        "description": subscription.description,
        "disabled_reason": subscription.disabled_reason,
    }


def _owner(principal: Principal) -> str | None:
    return principal.partner_id if principal.kind is ClientKind.PARTNER else None


@router.post("/v1/webhooks/subscriptions", status_code=201, response_model=SubscriptionCreated, responses=ERRORS)
async def create_subscription(
    body: SubscriptionIn,
    principal: Annotated[Principal, Depends(caller(Scope.WEBHOOKS_MANAGE))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> SubscriptionCreated:
    """Subscribe a URL to event types; deliveries are signed per Standard Webhooks with the returned secret."""
    try:
        subscription, secret = await asyncio.to_thread(
            subscribe,
            ctx.store,
            ctx.egress,
            partner_id=_owner(principal),
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            now=ctx.clock(),
        )
    except EgressRefusedError:
        raise invalid(
            "the webhook URL points to a private, loopback, link-local or metadata address; give a public URL "
            "(or ask the operator to allow this host)",
            [{"pointer": "/url", "detail": "not a public address"}],
        ) from None
    except UnknownEventTypeError as error:
        raise invalid(f"event_types: {error}", [{"pointer": "/event_types", "detail": str(error)}]) from None
    return SubscriptionCreated(**_view(subscription), secret=secret)


@router.get("/v1/webhooks/subscriptions", response_model=list[SubscriptionView], responses=ERRORS)
async def list_subscriptions(
    principal: Annotated[Principal, Depends(caller(Scope.WEBHOOKS_MANAGE))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> list[SubscriptionView]:
    """The caller's subscriptions (a partner's own; internal callers see the internal ones)."""
    owner = _owner(principal)
    found = await ctx.read(lambda uow: uow.webhooks.list_subscriptions(partner_id=owner))
    return [SubscriptionView(**_view(s)) for s in found if s.partner_id == owner]


async def _own(ctx: ApiContext, principal: Principal, subscription_id: str) -> WebhookSubscription:
    found = await ctx.read(lambda uow: uow.webhooks.get_subscription(subscription_id))
    if found is None or found.partner_id != _owner(principal):
        raise not_found(f"webhook subscription {subscription_id}")
    return found


@router.get("/v1/webhooks/subscriptions/{subscription_id}", response_model=SubscriptionView, responses=ERRORS)
async def get_subscription(
    subscription_id: SubscriptionId,
    principal: Annotated[Principal, Depends(caller(Scope.WEBHOOKS_MANAGE))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> SubscriptionView:
    """One of the caller's subscriptions."""
    return SubscriptionView(**_view(await _own(ctx, principal, subscription_id)))


@router.delete("/v1/webhooks/subscriptions/{subscription_id}", status_code=204, responses=ERRORS)
async def delete_subscription(
    subscription_id: SubscriptionId,
    principal: Annotated[Principal, Depends(caller(Scope.WEBHOOKS_MANAGE))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Response:
    """Stop a subscription; its pending deliveries are cancelled."""
    await _own(ctx, principal, subscription_id)
    await ctx.write(lambda uow: uow.webhooks.delete_subscription(subscription_id))
    return Response(status_code=204)


@router.post(
    "/v1/webhooks/in/{source}",
    status_code=204,
    responses={400: ERRORS[400], 401: ERRORS[401], 404: ERRORS[404]},
    summary="Receive a Standard Webhook from a connected system",
)
async def inbound_webhook(source: Source, request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> Response:
    """Verify the signature, log the payload as an event, acknowledge. Authenticated by the signature itself."""
    secrets = ctx.inbound_secrets.get(source)
    if not secrets:
        raise not_found(f"inbound webhook source {source}")
    body = await request.body()
    try:
        result = await asyncio.to_thread(
            receive, ctx.store, list(secrets), source, dict(request.headers), body, now=ctx.clock()
        )
    except WebhookVerificationError as refused:
        raise unauthorized(f"the webhook signature was not accepted: {refused}", error="invalid_signature") from None
    except InboundPayloadError as error:
        raise ProblemError(400, "invalid-webhook", "Webhook refused", str(error)) from None
    data = result.payload if isinstance(result.payload, dict) else {"payload": result.payload}
    event = CloudEvent(
        type=ctx.inbound_event_types[source],
        source=f"/webhooks/{source}",
        subject=str(data.get("id") or result.webhook_id),
        data=data,
        id=result.event_id,  # logged again on a retry: the log keeps the first copy only
        businesskeys={"webhook": result.webhook_id},
    )
    await ctx.publisher.publish([event])
    return Response(status_code=204)
