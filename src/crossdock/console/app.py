"""The console as a FastAPI application, mounted at `/console` by `crossdock serve` (`attach`).

Server-rendered pages (Jinja2 templates in this package), charts as inline SVG, one small stylesheet and one small
script served from the package: nothing is fetched from elsewhere, and the Content-Security-Policy says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossdock.console import auth
from crossdock.console.business import Limits
from crossdock.console.context import ConsoleContext
from crossdock.console.dashboards import LagSampler
from crossdock.console.pages import ConsolePage, default_pages
from crossdock.console.replay import ReplayService
from crossdock.console.users import ConsoleUsers
from crossdock.console.web import ConsoleState, NotAllowed, SignInRequired, base, console_state, render, viewer

MOUNT_PATH = "/console"
_STATIC = Path(__file__).with_name("static")
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


class _SecurityHeaders:
    """Adds the console's security headers to every response (pages may hold business data: never cached)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in _HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_console_app(
    context: ConsoleContext, *, pages: Sequence[ConsolePage] | None = None, limits: Limits | None = None
) -> FastAPI:
    """The console over the given collaborators, with the default pages unless told otherwise."""
    pages = tuple(pages if pages is not None else default_pages())
    app = FastAPI(title="Crossdock console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = ConsoleState(
        context=context,
        nav=sorted((page.nav for page in pages if page.nav is not None), key=lambda entry: entry.order),
        users=ConsoleUsers(context.store),
        replays=ReplayService(context),
        sampler=LagSampler(context),
        limits=limits or Limits(),
    )
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(auth.router)
    for page in pages:
        app.include_router(page.router)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"{base(request)}/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        try:
            who = await viewer(request)
        except SignInRequired:
            return RedirectResponse(f"{base(request)}/login", status_code=303)
        return render(request, "error.html", who, status_code=403, message=str(exc))

    app.add_middleware(_SecurityHeaders)
    return app


def attach(api: FastAPI, console: FastAPI) -> None:
    """Mount the console on the API app at `/console`, and send a browser at `/` there."""
    api.mount(MOUNT_PATH, console)

    @api.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{MOUNT_PATH}/", status_code=307)


__all__ = ["MOUNT_PATH", "attach", "console_state", "create_console_app"]
