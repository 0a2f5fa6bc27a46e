"""Signing in and out: username and password against the store's hashes, a session cookie (HttpOnly, SameSite
Strict, Secure over https) whose token the store keeps only hashed, and a CSRF token per session for every form.
Repeated failures for one username slow that username down."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from crossdock.console.audit import record
from crossdock.console.security import new_token, same, token_hash
from crossdock.console.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ConsoleState,
    SignInRequired,
    Viewer,
    base,
    console_state,
    form,
    redirect,
    render,
    secure,
    viewer,
)
from crossdock.ports.console import ConsoleSession
from crossdock.ports.store import UnitOfWork

router = APIRouter()
_FAILURES_ALLOWED = 5
_FAILURE_WINDOW_S = 900.0
_LOCKOUT_S = 60.0


def _safe_next(request: Request, candidate: str | None) -> str:
    """Where to go after signing in: only a path inside the console, never another site."""
    root = base(request)
    if candidate and candidate.startswith(f"{root}/") and not candidate.startswith("//") and "\\" not in candidate:
        return candidate
    return f"{root}/"


def _throttled(state: ConsoleState, username: str) -> bool:
    now = time.monotonic()
    recent = [at for at in state.failures.get(username, []) if now - at < _FAILURE_WINDOW_S]
    state.failures[username] = recent
    return len(recent) >= _FAILURES_ALLOWED and now - recent[-1] < _LOCKOUT_S


def _failed(state: ConsoleState, username: str) -> None:
    if len(state.failures) > 10_000:
        state.failures.clear()  # bounded memory under a spray of made-up names
    state.failures.setdefault(username, []).append(time.monotonic())


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = new_token()
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf=token,
        error=error,
        next=_safe_next(request, request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=base(request) or "/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.get("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    """The sign-in form."""
    try:
        await viewer(request)
    except SignInRequired:
        return _login_page(request)
    return redirect(request, "")


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """Check the password, open a session, go where the person was headed."""
    state = console_state(request)
    data = await request.form()
    values = {key: value for key, value in data.items() if isinstance(value, str)}
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not same(values.get("csrf_token", ""), cookie):
        return _login_page(request, error="The form expired; please sign in again.", status_code=400)
    username = values.get("username", "").strip().lower()
    password = values.get("password", "")
    if _throttled(state, username):
        return _login_page(request, error="Too many failed attempts; wait a minute and try again.", status_code=429)
    user = await asyncio.to_thread(state.users.authenticate, username, password) if username else None
    now = state.context.clock()
    if user is None:
        _failed(state, username)

        def refused(uow: UnitOfWork) -> None:
            record(
                uow,
                username or "(blank)",
                "login.failed",
                "session",
                username or "-",
                at=now,
                ip=request.client.host if request.client else None,
            )

        await state.context.write(refused)
        return _login_page(request, error="Unknown username or wrong password.", status_code=401)
    state.failures.pop(username, None)
    token = new_token()
    session = ConsoleSession(token_hash(token), user.username, new_token(), now, now + state.context.session_ttl)
    await state.context.write(lambda uow: _open(uow, session, now, request))
    response = RedirectResponse(_safe_next(request, values.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(state.context.session_ttl.total_seconds()),
        path=base(request) or "/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path=base(request) or "/")
    return response


def _open(uow: UnitOfWork, session: ConsoleSession, now: datetime, request: Request) -> None:
    uow.console.purge_sessions(now=now)
    uow.console.add_session(session)
    record(
        uow,
        session.username,
        "login",
        "session",
        session.username,
        at=now,
        ip=request.client.host if request.client else None,
    )


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """End the session."""
    await form(request, who)
    state = console_state(request)

    def close(uow: UnitOfWork) -> None:
        uow.console.remove_session(who.session.token_hash)
        record(uow, who.name, "logout", "session", who.name, at=state.context.clock())

    await state.context.write(close)
    response = RedirectResponse(f"{base(request)}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=base(request) or "/")
    return response
