"""The sandbox's FastAPI app: routes, Salesforce-shaped errors, and the API gate in front of every REST call.

The gate, for each call under `/services/data/vXX.X/`: checks the version and the bearer token (401
INVALID_SESSION_ID), applies injected faults, enforces the daily API limit (403 REQUEST_LIMIT_EXCEEDED), counts
the call, and adds `Sforce-Limit-Info: api-usage=N/LIMIT` to the answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossdock.sandbox.salesforce import (
    routes_auth,
    routes_collections,
    routes_composite,
    routes_describe,
    routes_query,
    routes_sandbox,
    routes_sobjects,
)
from crossdock.sandbox.salesforce.auth import AuthConfig
from crossdock.sandbox.salesforce.dml import Actor
from crossdock.sandbox.salesforce.errors import SalesforceError, invalid_session, not_found
from crossdock.sandbox.salesforce.faults import Fault, FaultInjector
from crossdock.sandbox.salesforce.org import CallContext, Org, change_origin
from crossdock.sandbox.salesforce.routes_composite import SUBREQUEST_KEY
from crossdock.sandbox.salesforce.web import CONTEXT_KEY, sf_json

_VERSIONED = re.compile(r"^/services/data/v([^/]*)(?:/(.*))?$")
_VERSION = re.compile(r"(\d{2})\.0")
DEFAULT_USERNAME = "integration@crossdock.sandbox"


def create_app(
    database: Path,
    *,
    client_id: str,
    client_secret: str,
    jwt_public_key: str | None = None,
    daily_api_limit: int = 15000,
    admin_token: str,
    username: str = DEFAULT_USERNAME,
    token_ttl_s: int = 7200,
    faults: list[Fault] | None = None,
    fault_seed: int = 0,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """A Salesforce sandbox org persisted in `database` (SQLite), for one connected app and its integration user.

    `jwt_public_key` (PEM) enables the JWT-bearer grant; `faults` are active from the start; `clock` replaces the
    wall clock (tests move time to check expiry, retention and the replication windows).
    """
    org = Org(
        database,
        auth=AuthConfig(client_id, client_secret, username, jwt_public_key, token_ttl_s),
        admin_token=admin_token,
        daily_api_limit=daily_api_limit,
        clock=clock,
        faults=faults,
        fault_seed=fault_seed,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        org.close()

    app = FastAPI(
        title="Crossdock Salesforce sandbox",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/sandbox/openapi.json",
    )
    app.state.org = org
    for module in (
        routes_auth,
        routes_sandbox,
        routes_query,
        routes_composite,
        routes_collections,
        routes_describe,
        routes_sobjects,
    ):
        # Order matters: `sobjects/{sobject}/describe` must be tried before `sobjects/{sobject}/{id}`.
        app.include_router(module.router)
    app.add_exception_handler(SalesforceError, _salesforce_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(ApiGate, org=org)
    return app


async def _salesforce_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, SalesforceError)
    headers = {"WWW-Authenticate": "Token"} if error.status == 401 else None
    return sf_json(error.body(), error.status, headers)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 405:
        allowed = getattr(error, "headers", None) or {}
        return sf_json(
            [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method '{request.method}' not "
                    f"allowed. Allowed are {allowed.get('Allow', allowed.get('allow', ''))}",
                }
            ],
            405,
        )
    if error.status_code == 404:
        return sf_json(not_found().body(), 404)
    return sf_json([{"errorCode": "UNKNOWN_EXCEPTION", "message": str(error.detail)}], error.status_code)


def _answer(error: SalesforceError, headers: dict[str, str] | None = None) -> Response:
    return sf_json(error.body(), error.status, headers)


class ApiGate:
    """ASGI middleware: authentication, faults, the daily limit, call statistics and the limit header."""

    def __init__(self, app: ASGIApp, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gate one request."""
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/services/") or scope.get(SUBREQUEST_KEY):
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            rejection = await self._admit(scope, path)
            if rejection is not None:
                await rejection(scope, receive, counting_send)
            else:
                await self.app(scope, receive, self._with_limit_header(counting_send))
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or path
            self.org.calls[f"{scope['method']} {template}"] += 1
            self.org.statuses[status] += 1

    async def _admit(self, scope: Scope, path: str) -> Response | None:
        """None to let the call through, or the response that refuses it."""
        org = self.org
        method: str = scope["method"]
        match = _VERSIONED.match(path)
        relative = (match.group(2) or "") if match else path
        faults = org.faults.matching(method, path, relative)
        if match is None:
            # Token endpoint and friends: only latency and outage faults apply.
            return await _apply_faults(org.faults, faults, None)
        version = match.group(1)
        if not _VERSION.fullmatch(version) or int(version[:2]) < 20:
            return _answer(not_found())
        headers = Headers(scope=scope)
        now = org.clock()
        session = org.auth.session(headers.get("authorization"), now)
        if session is None:
            return _answer(invalid_session(), {"WWW-Authenticate": "Token"})
        lock_faults = [fault for fault in faults if fault.kind == "unable_to_lock_row"]
        refusal = await _apply_faults(org.faults, faults, session.token, org)
        if refusal is not None:
            return refusal
        usage = org.store.usage(now)
        if usage >= org.daily_api_limit:
            return _answer(
                SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                {"Sforce-Limit-Info": f"api-usage={usage}/{org.daily_api_limit}"},
            )
        org.store.count_call(now)

        def lock_row() -> bool:
            return any(org.faults.fire(fault) for fault in lock_faults)

        actor = Actor(session.user_id, change_origin(version, headers.get("sforce-call-options")), lock_row)
        scope[CONTEXT_KEY] = CallContext(version, session, actor)
        return None

    def _with_limit_header(self, send: Send) -> Send:
        org = self.org

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                usage = org.store.usage(org.clock())
                header = f"api-usage={usage}/{org.daily_api_limit}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"sforce-limit-info", header)]}
            await send(message)

        return send_with_header


async def _apply_faults(
    injector: FaultInjector, faults: list[Fault], token: str | None, org: Org | None = None
) -> Response | None:
    for fault in faults:
        if fault.kind == "unable_to_lock_row" or not injector.fire(fault):
            continue
        if fault.kind == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault.kind == "expire_token" and token is not None and org is not None:
            org.store.revoke_tokens(token)
            return _answer(invalid_session(), {"WWW-Authenticate": "Token"})
        elif fault.kind == "http_503":
            return _answer(
                SalesforceError(
                    503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry (injected by the sandbox)"
                )
            )
        elif fault.kind == "http_429":
            return _answer(
                SalesforceError(
                    429,
                    "REQUEST_LIMIT_EXCEEDED",
                    f"Too many requests; retry after {fault.retry_after_s} s (injected by the sandbox)",
                ),
                {"Retry-After": str(fault.retry_after_s)},
            )
    return None
