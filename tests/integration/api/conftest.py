"""The API in-process (httpx over ASGI) on a real SQLite store and log, with partner and internal clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.api.app import create_app
from crossdock.api.clients import create_client
from crossdock.api.context import ApiContext
from crossdock.api.security.scopes import Scope
from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import Settings
from crossdock.ports.api import ClientKind

PARTNER_SCOPES = [
    Scope.ORDERS_READ,
    Scope.ORDERS_WRITE,
    Scope.SHIPMENTS_READ,
    Scope.INVOICES_READ,
    Scope.WEBHOOKS_MANAGE,
]


@dataclass
class Api:
    """The app, its runtime, and a client per caller."""

    runtime: Runtime
    context: ApiContext
    http: httpx.AsyncClient
    secrets: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    async def token(self, client_id: str, scope: str | None = None) -> str:
        """An access token for a registered client (cached per scope)."""
        key = f"{client_id} {scope}"
        if key not in self.tokens:
            form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
            response = await self.http.post("/v1/oauth/token", data=form, auth=(client_id, self.secrets[client_id]))
            assert response.status_code == 200, response.text
            self.tokens[key] = response.json()["access_token"]
        return self.tokens[key]

    async def as_(self, client_id: str, scope: str | None = None) -> dict[str, str]:
        """Authorization headers for the client."""
        return {"Authorization": f"Bearer {await self.token(client_id, scope)}"}

    async def submit(self, client_id: str, order: dict[str, Any], key: str, **headers: str) -> httpx.Response:
        """POST /v1/orders as the client."""
        return await self.http.post(
            "/v1/orders", json=order, headers=await self.as_(client_id) | {"Idempotency-Key": key} | headers
        )


def order(reference: str = "PO-1001", **overrides: Any) -> dict[str, Any]:
    """A valid order submission."""
    body: dict[str, Any] = {
        "customer_reference": reference,
        "currency": "USD",
        "ship_to": {
            "name": "Acme Columbus DC",
            "lines": ["100 Distribution Dr"],
            "city": "Columbus",
            "region": "OH",
            "postal_code": "43215",
            "country": "US",
        },
        "lines": [
            {"sku": "SKU-1001", "quantity": "12", "unit_price": "4.25"},
            {"sku": "SKU-2002", "quantity": "1", "uom": "CS", "unit_price": "80.00"},
        ],
    }
    body.update(overrides)
    return body


def api_settings(tmp_path: Path, **api: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        event_log="sqlite",
        event_log_url=str(tmp_path / "log.db"),
        partitions=4,
        api={"rate_plans": {"tight": {"requests_per_second": 1, "burst": 3}}, **api},
    )


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    runtime = await bootstrap(api_settings(tmp_path))
    context = runtime.api_context()
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://crossdock.test") as http:
        wired = Api(runtime, context, http)
        now = context.clock()
        for client_id, partner in (("acme-portal", "cus-acme"), ("zeta-portal", "cus-zeta")):
            _, wired.secrets[client_id] = create_client(
                runtime.store,
                name=client_id,
                kind=ClientKind.PARTNER,
                scopes=PARTNER_SCOPES,
                now=now,
                partner_id=partner,
                client_id=client_id,
            )
        _, wired.secrets["webshop"] = create_client(
            runtime.store,
            name="web shop",
            kind=ClientKind.INTERNAL,
            now=now,
            client_id="webshop",
            scopes=[
                *PARTNER_SCOPES,
                Scope.CUSTOMERS_WRITE,
                Scope.CREDIT_READ,
                Scope.AVAILABILITY_READ,
                Scope.PRICES_READ,
                Scope.SYSTEMS_READ,
            ],
        )
        _, wired.secrets["slow-partner"] = create_client(
            runtime.store,
            name="slow",
            kind=ClientKind.PARTNER,
            scopes=[Scope.ORDERS_READ],
            now=now,
            partner_id="cus-slow",
            client_id="slow-partner",
            rate_plan="tight",
        )
        yield wired
    context.close()
    await runtime.close()
