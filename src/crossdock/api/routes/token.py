"""The OAuth 2.0 token endpoint, client-credentials grant (RFC 6749 §4.4).

Credentials come as HTTP Basic or as form fields (§2.3.1). Errors follow §5.2 (`{"error": ...}`), which every
OAuth client library reads, rather than problem+json. A wrong secret and an unknown client get the same answer,
so client ids cannot be probed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from crossdock.api.auth import context
from crossdock.api.context import ApiContext
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import TokenError, TokenResponse
from crossdock.api.security.credentials import ApiClient, check_secret, from_record
from crossdock.api.security.scopes import InvalidScopeError, check_requested

router = APIRouter(tags=["authentication"], route_class=GuardedRoute)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": error, "error_description": description})
    return Response(body, status_code=status, media_type="application/json", headers={**_NO_STORE, **(headers or {})})


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


@router.post(
    "/v1/oauth/token",
    response_model=TokenResponse,
    responses={400: {"model": TokenError}, 401: {"model": TokenError}},
    summary="Get an access token (client credentials)",
)
async def token(
    request: Request,
    ctx: Annotated[ApiContext, Depends(context)],
    grant_type: Annotated[str | None, Form(max_length=64)] = None,
    scope: Annotated[str | None, Form(max_length=1024)] = None,
    client_id: Annotated[str | None, Form(max_length=200)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """Exchange a client's id and secret for a short-lived access token with the scopes it asks for."""
    try:
        client = await _authenticate(request, ctx, grant_type, client_id, client_secret)
        scopes = check_requested(scope, client.scopes)
    except _OAuthError as refused:
        return _error(refused.status, refused.error, str(refused), refused.headers)
    except InvalidScopeError as refused:
        return _error(400, "invalid_scope", str(refused))
    issued = ctx.issuer.issue(
        client_id=client.client_id,
        kind=client.kind,
        scopes=scopes,
        partner_id=client.partner_id,
        ttl_s=ctx.config.token_ttl_s,
    )
    return Response(orjson.dumps(issued.to_response()), media_type="application/json", headers=_NO_STORE)


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.headers = status, error, headers


async def _authenticate(
    request: Request, ctx: ApiContext, grant_type: str | None, client_id: str | None, client_secret: str | None
) -> ApiClient:
    if grant_type is None:
        raise _OAuthError(400, "invalid_request", "grant_type is required: send grant_type=client_credentials")
    if grant_type != "client_credentials":
        raise _OAuthError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    basic = _basic(request)
    if basic is not None and client_id is not None:
        raise _OAuthError(
            400, "invalid_request", "send the client's credentials once: HTTP Basic or the form, not both"
        )
    presented = basic or ((client_id, client_secret) if client_id and client_secret else None)
    challenge = {"WWW-Authenticate": 'Basic realm="crossdock"'}
    if presented is None:
        raise _OAuthError(401, "invalid_client", "authenticate the client with HTTP Basic (id:secret)", challenge)
    # Read fresh, not from the request path's short cache: a secret rotated a second ago must work at once.
    wanted = presented[0]
    record = await ctx.read(lambda uow: uow.api.get_client(wanted))
    client = from_record(record) if record is not None else None
    if client is None or not check_secret(client, presented[1], ctx.clock()):
        raise _OAuthError(401, "invalid_client", "unknown client, wrong secret, or a revoked client", challenge)
    return client
