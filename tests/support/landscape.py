"""The whole landscape for end-to-end and fault tests: a real Tryton, the Salesforce sandbox, Crossdock between."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import load_settings
from crossdock.demo.landscape import Landscape
from crossdock.sandbox.tryton import tryton_bin_dir

API = "/services/data/v62.0"


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    """Tryton and the Salesforce sandbox, started fresh for one test."""
    try:
        tryton_bin_dir()
    except RuntimeError as exc:
        pytest.skip(f"no Tryton here: {exc}")
    world = Landscape(tmp_path)
    world.start()
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
async def runtime(landscape: Landscape) -> AsyncIterator[Runtime]:
    """Crossdock wired to the landscape by its crossdock.yaml."""
    wired = await bootstrap(load_settings(landscape.config_path))
    try:
        yield wired
    finally:
        await wired.close()


class SalesUser:
    """Someone working in the CRM: REST calls that are not Crossdock's (their changes are news, not echoes)."""

    def __init__(self, landscape: Landscape) -> None:
        self._sandbox = landscape.salesforce
        self._http = httpx.AsyncClient(base_url=landscape.salesforce.url, timeout=30)

    async def _headers(self) -> dict[str, str]:
        token = await self._http.post("/services/oauth2/token", data=self._sandbox.client_credentials_form())
        token.raise_for_status()
        return {"Authorization": f"Bearer {token.json()['access_token']}", "Sforce-Call-Options": "client=salesui"}

    async def create(self, sobject: str, fields: dict[str, Any]) -> str:
        response = await self._http.post(f"{API}/sobjects/{sobject}", json=fields, headers=await self._headers())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        response = await self._http.patch(
            f"{API}/sobjects/{sobject}/{record_id}", json=fields, headers=await self._headers()
        )
        assert response.status_code == 204, response.text

    async def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        response = await self._http.get(f"{API}/sobjects/{sobject}/{record_id}", headers=await self._headers())
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def query(self, soql: str) -> list[dict[str, Any]]:
        response = await self._http.get(f"{API}/query", params={"q": soql}, headers=await self._headers())
        assert response.status_code == 200, response.text
        return list(response.json()["records"])

    async def write_calls(self) -> int:
        """Calls that changed data in the org so far (from the sandbox's own statistics)."""
        stats = await self._http.get("/sandbox/stats", headers={"Authorization": f"Bearer {self._sandbox.admin_token}"})
        stats.raise_for_status()
        return sum(
            count
            for route, count in stats.json()["byEndpoint"].items()
            if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"} and "oauth2" not in route
        )

    async def close(self) -> None:
        await self._http.aclose()


@pytest.fixture
async def sales_user(landscape: Landscape) -> AsyncIterator[SalesUser]:
    """A CRM user."""
    user = SalesUser(landscape)
    try:
        yield user
    finally:
        await user.close()


async def create_accounts(user: SalesUser, count: int, prefix: str = "Acct") -> list[str]:
    """Accounts created in the CRM 200 at a time, as a data import would."""
    ids: list[str] = []
    for start in range(0, count, 200):
        records = [
            {
                "attributes": {"type": "Account"},
                "Name": f"{prefix} {n:05d} Supply",
                "AccountNumber": f"C-{n:05d}",
                "BillingStreet": f"{n} Commerce Pkwy",
                "BillingCity": "Columbus",
                "BillingState": "OH",
                "BillingPostalCode": "43215",
                "BillingCountry": "US",
                "CurrencyIsoCode": "USD",
            }
            for n in range(start, min(count, start + 200))
        ]
        response = await user._http.post(
            f"{API}/composite/sobjects", json={"allOrNone": True, "records": records}, headers=await user._headers()
        )
        assert response.status_code == 200, response.text
        ids.extend(result["id"] for result in response.json())
    return ids
