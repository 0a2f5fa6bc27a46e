"""Who is calling and what they may do: bearer tokens verified on every request, scopes, revocation, rate plans.

`caller(Scope.ORDERS_WRITE)` is the dependency a route declares; it answers 401 for a missing, expired or forged
token, 403 for a token without the scope, and 429 when the client's rate plan is spent. The rate-limit headers it
decides are put on the response by `ResponseHeadersMiddleware`, whatever the route returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from crossdock.api.context import ApiContext
from crossdock.api.limits import DEFAULT_PLANS, ratelimit_headers
from crossdock.api.problems import ProblemError, forbidden, unauthorized
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal, TokenRefusedError
from crossdock.ports.api import ClientKind

EXTRA_HEADERS = "crossdock.headers"  # request.scope key: headers a dependency wants on the response

# Declared as OAuth 2.0 client credentials with its scopes, so the OpenAPI document tells clients how to get in.
oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/v1/oauth/token", scopes={scope.value: scope.description for scope in Scope}
        )
    ),
    scheme_name="oauth2",
    description="Short-lived access tokens from POST /v1/oauth/token (client credentials); send as a Bearer token.",
    auto_error=False,
)


def context_of(request: Request) -> ApiContext:
    """The API's collaborators."""
    ctx: ApiContext = request.app.state.crossdock
    return ctx


async def context(request: Request) -> ApiContext:
    """The API's collaborators, as a dependency (async: FastAPI would run a plain function on a thread)."""
    return context_of(request)


def add_response_headers(request: Request, headers: dict[str, str]) -> None:
    """Headers the response must carry, whatever the route returns (rate limits, deprecation)."""
    request.scope.setdefault(EXTRA_HEADERS, {}).update(headers)


async def authenticate(
    request: Request, authorization: str | None, scopes: tuple[Scope, ...], kinds: tuple[ClientKind, ...] = ()
) -> Principal:
    """The verified principal for an `Authorization` header, holding every one of `scopes` (and of one of
    `kinds`, if given); raises the 401, 403 or 429 problem otherwise."""
    return authenticate_in(context_of(request), request.scope, authorization, scopes, kinds)


def authenticate_in(
    ctx: ApiContext,
    scope: MutableMapping[str, Any],
    authorization: str | None,
    scopes: tuple[Scope, ...],
    kinds: tuple[ClientKind, ...] = (),
) -> Principal:
    """`authenticate` for an ASGI scope rather than a Starlette request (the order submission's own route);
    the rate-limit headers it decides go into `scope` for the response."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized(
            "send an access token: `Authorization: Bearer <token>` (get one from POST /v1/oauth/token)",
            error="invalid_request",
        )
    try:
        principal = ctx.issuer.verify(token.strip())
    except TokenRefusedError as refused:
        raise unauthorized(f"{refused} (POST /v1/oauth/token issues tokens)") from None
    client = ctx.clients.get(principal.client_id)
    if client is None or client.revoked_at is not None:
        raise unauthorized("the client this token was issued to has been revoked or removed")
    plan = ctx.plans.get(client.rate_plan) or DEFAULT_PLANS["partner"]
    decision = ctx.limiter.take(principal.client_id, plan)
    headers = ratelimit_headers(plan, decision)
    scope.setdefault(EXTRA_HEADERS, {}).update(headers)
    if not decision.allowed:
        raise ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            f"this client's rate plan '{plan.name}' allows {plan.burst} requests at once and "
            f"{plan.requests_per_second:g} per second; retry after {headers['Retry-After']} s",
            headers=headers,
        )
    if kinds and principal.kind not in kinds:
        raise forbidden(f"this route is for {' or '.join(k.value for k in kinds)} clients")
    missing = [scope for scope in scopes if scope not in principal.scopes]
    if missing:
        problem = forbidden(
            f"the access token lacks the scope(s) {' '.join(missing)}; ask for them at the token endpoint"
        )
        problem.headers["WWW-Authenticate"] = (
            f'Bearer realm="crossdock", error="insufficient_scope", scope="{" ".join(missing)}"'
        )
        raise problem
    return principal


def caller(*scopes: Scope, kinds: tuple[ClientKind, ...] = ()) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the verified principal, holding every one of `scopes` (and of one of `kinds`, if given)."""

    async def dependency(request: Request, authorization: str | None = Security(oauth2, scopes=scopes)) -> Principal:
        return await authenticate(request, authorization, scopes, kinds)

    return dependency


def security_of(*scopes: Scope) -> dict[str, Any]:
    """The OpenAPI `security` of a route that authenticates without a dependency (see `authenticate`)."""
    return {"security": [{"oauth2": [scope.value for scope in scopes]}]}
