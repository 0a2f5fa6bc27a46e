"""The FastAPI application: `/v1` routes, problem+json errors, limits, OpenAPI 3.1 and AsyncAPI 3.0 documents.

`create_app(context)` is all there is: the composition root (`bootstrap.Runtime.api_context`) builds the context,
and nothing here connects to anything at import time.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from crossdock import __version__
from crossdock.api import problems
from crossdock.api.asyncapi import asyncapi_document
from crossdock.api.auth import authenticate
from crossdock.api.context import ApiContext
from crossdock.api.metrics import CONTENT_TYPE
from crossdock.api.middleware import ApiMiddleware, Deprecation
from crossdock.api.openapi import build_openapi
from crossdock.api.routes import availability, credit, customers, orders, partners, prices, systems, token, webhooks
from crossdock.api.security.scopes import Scope
from crossdock.api.shortcuts import OrderSubmissionShortcut

# Routes that still answer but are on their way out: `Deprecation` and `Sunset` headers say when (RFC 9745, 8594).
STATUS_ROUTE_DEPRECATION = Deprecation(
    deprecated_at=1_793_577_600,  # 2026-11-02
    sunset="Mon, 31 May 2027 00:00:00 GMT",
    successor="/v1/orders/{order_id}",
)


def deprecation_for(path: str) -> Deprecation | None:
    """The deprecation notice for a request path, if its route is deprecated."""
    if path.startswith("/v1/orders/") and path.endswith("/status"):
        return STATUS_ROUTE_DEPRECATION
    return None


class CrossdockApi(FastAPI):
    """FastAPI, with `POST /v1/orders` answered by its shortcut (`api.shortcuts`) before the framework's stack."""

    order_submission: ASGIApp | None = None

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if (
            self.order_submission is not None
            and scope["type"] == "http"
            and scope["path"] == "/v1/orders"
            and scope["method"] == "POST"
        ):
            await self.order_submission(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(context: ApiContext) -> FastAPI:
    """The API over the given collaborators."""
    app = CrossdockApi(
        title="Crossdock API",
        version=__version__,
        description=(
            "Governed process, system and experience APIs in front of a distributor's ERP, CRM and partners: "
            "order submission and status, customers, credit, availability, prices, webhooks. Errors are "
            "RFC 9457 problem+json; every POST takes an Idempotency-Key."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.crossdock = context
    problems.install(app)
    app.include_router(orders.submission_router)
    for module in (token, orders, partners, webhooks, customers, credit, availability, prices, systems):
        app.include_router(module.router)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        return JSONResponse(asyncapi_document(version=__version__))

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await authenticate(request, request.headers.get("authorization"), (Scope.SYSTEMS_READ,))
        body = await context.metrics.scrape(context.log, context.store, context.connectors)
        return Response(body, media_type=CONTENT_TYPE)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        ApiMiddleware,
        max_body_bytes=context.config.max_body_bytes,
        deprecation_for=deprecation_for,
        observe=context.metrics.observe,
    )
    submission_route = next(
        route
        for route in orders.submission_router.routes
        if isinstance(route, APIRoute) and route.path == "/v1/orders" and "POST" in (route.methods or ())
    )
    app.order_submission = ApiMiddleware(
        OrderSubmissionShortcut(context, submission_route),
        max_body_bytes=context.config.max_body_bytes,
        deprecation_for=deprecation_for,
        observe=context.metrics.observe,
    )
    return app
