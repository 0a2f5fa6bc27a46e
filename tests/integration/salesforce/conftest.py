"""A sandbox org per test, served in process (httpx's ASGI transport) on a clock the test moves.

The connector reaches it through the transport its client is built with; the sandbox's admin API (statistics,
limits, faults, undelete) through a second client with the admin token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossdock.config import SecretRef
from crossdock.connectors.salesforce.client import SalesforceClient
from crossdock.connectors.salesforce.config import SalesforceSettings
from crossdock.connectors.salesforce.connector import SalesforceConnector

pytest.importorskip("fastapi", reason="the Salesforce sandbox needs the sandbox extra (fastapi)")
from crossdock.sandbox.salesforce.app import create_app

HOST = "http://sandbox.test"
CLIENT_ID = "3MVG9sandbox"
CLIENT_SECRET = "sandbox-secret"
ADMIN_TOKEN = "sandbox-admin"


class DateHeader:
    """What an HTTP server (uvicorn) adds in front of the app: a `Date` header, here from the org's own clock."""

    def __init__(self, app: ASGIApp, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the response."""

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = format_datetime(self.clock(), usegmt=True).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_dated)


class MovableClock:
    """The sandbox org's clock: real time plus whatever the test added."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        """Let time pass in the org."""
        self.offset += timedelta(seconds=seconds)


@dataclass
class Sandbox:
    """One sandbox org and the means to inspect it."""

    app: FastAPI
    clock: MovableClock
    admin: httpx.AsyncClient
    make_connector: Callable[..., SalesforceConnector]

    async def stats(self) -> dict[str, Any]:
        """Calls by endpoint and the API usage."""
        response = await self.admin.get("/sandbox/stats")
        return dict(response.json())

    async def reset_stats(self) -> None:
        """Zero the call counters."""
        await self.admin.post("/sandbox/stats/reset")

    async def fault(self, **fault: Any) -> None:
        """Activate a fault (`kind`, `endpoint`, `times`, ...)."""
        response = await self.admin.post("/sandbox/faults", json=fault)
        assert response.status_code == 201, response.text


def settings(**overrides: Any) -> SalesforceSettings:
    """Client-credentials settings for the sandbox's connected app."""
    raw: dict[str, Any] = {
        "login_url": HOST,
        "auth": {"grant": "client_credentials", "client_id": CLIENT_ID, "client_secret": SecretRef("env:SF_SECRET")},
        "capture": {"cdc_transport": "sandbox", "cdc_wait_s": 0, "overlap_s": 60},
        "allow_private_network": True,  # the sandbox is a local test host
    }
    raw.update(overrides)
    return SalesforceSettings.model_validate(raw)


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    """A fresh org; `sandbox.make_connector(**settings)` gives connectors to it."""
    monkeypatch.setenv("SF_SECRET", CLIENT_SECRET)
    clock = MovableClock()
    app = create_app(
        tmp_path / "org.db",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        admin_token=ADMIN_TOKEN,
        clock=clock,
        jwt_public_key=None,
    )
    transport = httpx.ASGITransport(app=DateHeader(app, clock))
    connectors: list[SalesforceConnector] = []

    def make_connector(**overrides: Any) -> SalesforceConnector:
        config = settings(**overrides)
        client = SalesforceClient("crm", config, transport=transport)
        connector = SalesforceConnector("crm", config, client=client)
        connectors.append(connector)
        return connector

    admin = httpx.AsyncClient(transport=transport, base_url=HOST, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    yield Sandbox(app, clock, admin, make_connector)
    for connector in connectors:
        await connector.close()
    await admin.aclose()
    app.state.org.close()
