"""The console over HTTP: sign-in, cookies and CSRF, every page behind a session, roles, security headers."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from crossdock.console.app import attach, create_console_app
from crossdock.ports.store import BusinessException, ExceptionClass, ExceptionStatus
from tests.unit.console.conftest import PASSWORD, SENSITIVE, Console

PAGES = [
    "/console/",
    "/console/lineage?q=cus_1",
    "/console/exceptions",
    "/console/dead-letters",
    "/console/replays",
    "/console/processes",
    "/console/business",
    "/console/audit",
]


@pytest.fixture
def app(console: Console) -> FastAPI:
    api = FastAPI()
    attach(api, create_console_app(console.context))
    return api


@pytest.fixture
async def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, html[:500]
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf(form.text), "next": "/console/exceptions"},
    )


@pytest.mark.parametrize("page", PAGES)
async def test_every_page_needs_a_session(client: httpx.AsyncClient, page: str) -> None:
    answer = await client.get(page)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=/console/")


async def test_signing_in_sets_a_strict_http_only_cookie_and_goes_where_asked(client: httpx.AsyncClient) -> None:
    answer = await sign_in(client, "ana")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/exceptions"
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("crossdock_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http here; over https the flag is set
    for page in PAGES:
        shown = await client.get(page)
        assert shown.status_code == 200, page
        assert "content-security-policy" in shown.headers
        assert shown.headers["cache-control"] == "no-store"
        assert "ana" in shown.text


async def test_a_wrong_password_or_a_forged_login_form_is_refused(client: httpx.AsyncClient) -> None:
    assert (await sign_in(client, "ana", "wrong password here")).status_code == 401
    assert (await sign_in(client, "nobody")).status_code == 401
    await client.get("/console/login")
    forged = await client.post("/console/login", data={"username": "ana", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 400


async def test_repeated_failures_slow_a_username_down(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await sign_in(client, "bo", "not the password")).status_code == 401
    assert (await sign_in(client, "bo")).status_code == 429


async def test_a_form_without_the_session_token_is_refused(client: httpx.AsyncClient, console: Console) -> None:
    with console.store.unit_of_work() as uow:
        exception_id = uow.exceptions.raise_exception(
            BusinessException(ExceptionClass.DATA_QUALITY, "bad postcode", "crm-customer")
        )
        uow.commit()
    await sign_in(client, "cy")
    forged = await client.post(f"/console/exceptions/{exception_id}/resolve", data={"csrf_token": "guess"})
    assert forged.status_code == 403
    page = await client.get(f"/console/exceptions/{exception_id}")
    answer = await client.post(
        f"/console/exceptions/{exception_id}/assign", data={"csrf_token": csrf(page.text), "assignee": "cy"}
    )
    assert answer.status_code == 303
    with console.store.unit_of_work(read_only=True) as uow:
        stored = uow.exceptions.get(exception_id)
    assert stored is not None
    assert (stored.status, stored.assignee) == (ExceptionStatus.ASSIGNED, "cy")


async def test_an_approver_without_the_operator_role_cannot_work_exceptions(
    client: httpx.AsyncClient, console: Console
) -> None:
    with console.store.unit_of_work() as uow:
        exception_id = uow.exceptions.raise_exception(
            BusinessException(ExceptionClass.DATA_QUALITY, "bad postcode", "crm-customer")
        )
        uow.commit()
    await sign_in(client, "bo")
    page = await client.get(f"/console/exceptions/{exception_id}")
    assert "Resolve" not in page.text
    refused = await client.post(f"/console/exceptions/{exception_id}/resolve", data={"csrf_token": csrf(page.text)})
    assert refused.status_code == 403
    assert "operator role" in refused.text


async def test_the_requester_of_a_sensitive_replay_sees_no_approve_button(
    client: httpx.AsyncClient, console: Console
) -> None:
    letter = await console.dead_letter(SENSITIVE, "cus_1", {"id": "cus_1", "number": "C-1", "name": "Acme"})
    await sign_in(client, "ana")
    page = await client.get(f"/console/dead-letters/{letter.id}")
    assert "Replay preview" in page.text
    requested = await client.post(
        "/console/dead-letters/replay",
        data={"csrf_token": csrf(page.text), "dead_letter": str(letter.id), "reason": "crm back"},
    )
    assert requested.status_code == 303
    shown = await client.get(requested.headers["location"])
    assert "second person" in shown.text
    assert "Approve and replay" not in shown.text
    refused = await client.post(requested.headers["location"] + "/approve", data={"csrf_token": csrf(shown.text)})
    assert refused.status_code == 303
    assert "another approver" in (await client.get(refused.headers["location"])).text


async def test_logging_out_ends_the_session(client: httpx.AsyncClient) -> None:
    await sign_in(client, "ana")
    page = await client.get("/console/")
    out = await client.post("/console/logout", data={"csrf_token": csrf(page.text)})
    assert out.status_code == 303
    assert (await client.get("/console/")).status_code == 303
