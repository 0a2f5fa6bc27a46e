"""What every console page shares: the signed-in viewer, CSRF checks on forms, rendering with the navigation, flash
messages, and the answers for "sign in first" and "not allowed"."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crossdock.console.business import Limits
from crossdock.console.context import ConsoleContext
from crossdock.console.dashboards import LagSampler
from crossdock.console.replay import ReplayService
from crossdock.console.security import same, token_hash
from crossdock.console.sla import describe
from crossdock.console.users import ConsoleUsers
from crossdock.ports.console import ConsoleRole, ConsoleSession, ConsoleUser

SESSION_COOKIE = "crossdock_console"
LOGIN_COOKIE = "crossdock_console_login"  # the login form's CSRF token (double submit: there is no session yet)
FLASH_COOKIE = "crossdock_console_flash"
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A page's place in the navigation bar."""

    label: str
    path: str  # below the console's root, "" for the overview
    order: int


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request, and their session."""

    user: ConsoleUser
    session: ConsoleSession

    @property
    def name(self) -> str:
        """How the audit trail names them."""
        return self.user.username

    def has(self, role: ConsoleRole) -> bool:
        """True when they hold the role."""
        return role in self.user.roles


class SignInRequired(Exception):  # noqa: N818 - a control-flow signal, turned into a redirect to the login page
    """No valid session: send the browser to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class NotAllowed(Exception):  # noqa: N818 - answered with a 403 page
    """Signed in, but without the role (or a valid form token) this needs."""


@dataclass
class ConsoleState:
    """The console app's own state, on `app.state.console`."""

    context: ConsoleContext
    nav: Sequence[NavEntry]
    users: ConsoleUsers
    replays: ReplayService
    sampler: LagSampler
    limits: Limits = field(default_factory=Limits)
    templates: jinja2.Environment = field(init=False)
    failures: dict[str, list[float]] = field(default_factory=dict)  # sign-in failures per username, for throttling

    def __post_init__(self) -> None:
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["ago"] = lambda at: describe(self.context.clock() - at) if at else ""
        self.templates.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M:%S") if at else ""
        self.templates.filters["duration"] = describe
        self.templates.filters["millis"] = _millis


def _millis(value: float | None) -> str:
    """A latency: `85 ms`, `38.7 s`, `—` when unknown."""
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def console_state(request: Request) -> ConsoleState:
    """The console's state, from the app the request reached."""
    state: ConsoleState = request.app.state.console
    return state


def base(request: Request) -> str:
    """The console's path prefix (`/console` when mounted there)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


async def viewer(request: Request) -> Viewer:
    """The signed-in viewer; SignInRequired without a live session. Every page depends on this."""
    state = console_state(request)
    state.sampler.start()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = await state.context.read(lambda uow: _session_and_user(uow, token_hash(token), state))
        if found is not None:
            return found
    # After signing in, a page comes back as it was; a form post does not (its session and token are gone).
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(target if request.method == "GET" else f"{base(request)}/")


def _session_and_user(uow: Any, hashed: str, state: ConsoleState) -> Viewer | None:
    session = uow.console.get_session(hashed, now=state.context.clock())
    if session is None:
        return None
    user = uow.console.get_user(session.username)
    return None if user is None else Viewer(user, session)


async def form(request: Request, who: Viewer) -> dict[str, str]:
    """A posted form, after its CSRF token was checked against the session's."""
    data = await request.form()
    values = {key: value for key, value in data.items() if isinstance(value, str)}
    if not same(values.get("csrf_token", ""), who.session.csrf_token):
        raise NotAllowed("the form is out of date or did not come from this console; reload the page and try again")
    return values


async def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated form field (checkboxes)."""
    data = await request.form()
    return [value for value in data.getlist(name) if isinstance(value, str)]


def require(who: Viewer, role: ConsoleRole) -> None:
    """NotAllowed unless the viewer holds `role`."""
    if not who.has(role):
        raise NotAllowed(f"this needs the {role.value} role; ask an administrator (crossdock console users add)")


def render(request: Request, template: str, who: Viewer | None, *, status_code: int = 200, **values: Any) -> Response:
    """A page, with the navigation, the viewer, their form token and any flash message."""
    state = console_state(request)
    flash = request.cookies.get(FLASH_COOKIE)
    html = state.templates.get_template(template).render(
        base=base(request),
        nav=state.nav,
        path=request.url.path.removeprefix(base(request)).strip("/"),
        viewer=who,
        csrf=who.session.csrf_token if who is not None else values.pop("csrf", ""),
        flash=_read_flash(flash),
        roles=ConsoleRole,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path=base(request) or "/")
    return response


def _read_flash(raw: str | None) -> tuple[str, str] | None:
    if not raw:
        return None
    kind, _, text = urllib.parse.unquote(raw).partition(":")
    return (kind, text) if kind in ("ok", "error") else None


def redirect(request: Request, path: str, *, ok: str | None = None, error: str | None = None) -> Response:
    """See-other to a console path (post, redirect, get), carrying a one-time message."""
    response = RedirectResponse(f"{base(request)}/{path.lstrip('/')}", status_code=303)
    message = ("ok", ok) if ok else ("error", error) if error else None
    if message is not None:
        response.set_cookie(
            FLASH_COOKIE,
            urllib.parse.quote(f"{message[0]}:{message[1][:500]}"),
            max_age=60,
            path=base(request) or "/",
            httponly=True,
            samesite="strict",
            secure=secure(request),
        )
    return response


def secure(request: Request) -> bool:
    """Whether cookies get the Secure flag: forced by the context, else when the request came over https."""
    configured = console_state(request).context.secure_cookies
    return request.url.scheme == "https" if configured is None else configured


async def blocking(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a synchronous store or engine call off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)
