"""The people in the demo: a sales rep working in the CRM and a finance clerk working in the ERP.

They use the systems' own APIs, not Crossdock, so their changes are news that Crossdock must carry, never echoes.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import httpx

from crossdock.demo.landscape import Landscape

API = "/services/data/v62.0"


class CrmUser:
    """A sales rep in the Salesforce sandbox (REST with a client name of its own)."""

    def __init__(self, landscape: Landscape) -> None:
        self._sandbox = landscape.salesforce
        self._http = httpx.AsyncClient(base_url=landscape.salesforce.url, timeout=60)
        self._token: str | None = None

    async def _headers(self) -> dict[str, str]:
        if self._token is None:
            token = await self._http.post("/services/oauth2/token", data=self._sandbox.client_credentials_form())
            token.raise_for_status()
            self._token = str(token.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}", "Sforce-Call-Options": "client=salesui"}

    async def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """Create one record; return its id."""
        response = await self._http.post(f"{API}/sobjects/{sobject}", json=fields, headers=await self._headers())
        response.raise_for_status()
        return str(response.json()["id"])

    async def create_many(self, sobject: str, records: list[dict[str, Any]]) -> list[str]:
        """Create records 200 per call, as a data import would; return their ids."""
        ids: list[str] = []
        for start in range(0, len(records), 200):
            chunk = [{"attributes": {"type": sobject}, **fields} for fields in records[start : start + 200]]
            response = await self._http.post(
                f"{API}/composite/sobjects", json={"allOrNone": True, "records": chunk}, headers=await self._headers()
            )
            response.raise_for_status()
            ids.extend(str(result["id"]) for result in response.json())
        return ids

    async def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Change a record."""
        response = await self._http.patch(
            f"{API}/sobjects/{sobject}/{record_id}", json=fields, headers=await self._headers()
        )
        response.raise_for_status()

    async def update_many(self, sobject: str, records: list[dict[str, Any]]) -> None:
        """Change records (each with its `Id`) 200 per call, as a list view's mass edit would."""
        for start in range(0, len(records), 200):
            chunk = [{"attributes": {"type": sobject}, **fields} for fields in records[start : start + 200]]
            response = await self._http.patch(
                f"{API}/composite/sobjects", json={"allOrNone": True, "records": chunk}, headers=await self._headers()
            )
            response.raise_for_status()
            failed = [result for result in response.json() if not result.get("success")]
            if failed:
                raise RuntimeError(f"{len(failed)} {sobject} updates failed: {failed[0].get('errors')}")

    async def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        """One record."""
        response = await self._http.get(f"{API}/sobjects/{sobject}/{record_id}", headers=await self._headers())
        response.raise_for_status()
        return dict(response.json())

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """All records a SOQL query returns (every page)."""
        records: list[dict[str, Any]] = []
        response = await self._http.get(f"{API}/query", params={"q": soql}, headers=await self._headers())
        while True:
            response.raise_for_status()
            body = response.json()
            records.extend(body["records"])
            if body.get("done", True):
                return records
            response = await self._http.get(body["nextRecordsUrl"], headers=await self._headers())

    async def write_calls(self) -> int:
        """Calls that changed data in the org so far, from the sandbox's own statistics."""
        stats = await self._http.get("/sandbox/stats", headers={"Authorization": f"Bearer {self._sandbox.admin_token}"})
        stats.raise_for_status()
        return sum(
            count
            for route, count in stats.json()["byEndpoint"].items()
            if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"} and "oauth2" not in route
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def crm_accounts(count: int, rng: random.Random, *, first: int = 0) -> list[dict[str, Any]]:
    """Distributor customer accounts as sales enters them (numbered from `first`): bill-to, ship-to, phone."""
    names = ("Summit", "Harbor", "Prairie", "Granite", "Cedar", "Keystone", "Lakeside", "Pioneer", "Redwood")
    trades = ("Plumbing Supply", "Electrical", "Hardware", "Building Products", "HVAC Supply", "Industrial Supply")
    cities = (
        ("Atlanta", "GA", "30303"),
        ("Denver", "CO", "80202"),
        ("Columbus", "OH", "43215"),
        ("Tampa", "FL", "33602"),
        ("Omaha", "NE", "68102"),
        ("Spokane", "WA", "99201"),
    )
    accounts = []
    for n in range(first, first + count):
        city, state, postal = rng.choice(cities)
        accounts.append(
            {
                "Name": f"{rng.choice(names)} {rng.choice(trades)} {n:03d}",
                "AccountNumber": f"C-{10000 + n}",
                "Phone": f"+1 404 555 {1000 + n % 9000:04d}",
                "CurrencyIsoCode": "USD",
                "BillingStreet": f"{rng.randrange(100, 9999)} Commerce Pkwy",
                "BillingCity": city,
                "BillingState": state,
                "BillingPostalCode": postal,
                "BillingCountry": "US",
                "ShippingStreet": f"{rng.randrange(100, 9999)} Warehouse Rd\nDock 2",
                "ShippingCity": city,
                "ShippingState": state,
                "ShippingPostalCode": postal,
                "ShippingCountry": "US",
            }
        )
    return accounts


class ErpUser:
    """A finance clerk and a product manager in Tryton (JSON-RPC through the connector's client)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def create_items(self, count: int, rng: random.Random, *, first: int = 0) -> list[str]:
        """Items with a SKU (numbered from `first`), a list price and a category, 20 per call; return the SKUs."""
        client = self._client
        [unit] = await client.search("product.uom", [("symbol", "=", "u")], limit=1)
        [goods] = await client.search("product.category", [("name", "=", "Goods")], limit=1)
        categories = await client.search("product.category", [("name", "in", ["Fasteners", "Safety", "Janitorial"])])
        kinds = ("Hex Bolt", "Wood Screw", "Safety Glasses", "Nitrile Gloves", "Floor Cleaner", "Anchor")
        skus = []
        for start in range(
            first, first + count, 20
        ):  # Tryton on SQLite overflows its SQL parser validating ~100 codes at once
            templates = []
            for n in range(start, min(first + count, start + 20)):
                sku = f"SKU-{n:05d}"
                skus.append(sku)
                templates.append(
                    {
                        "name": f"{rng.choice(kinds)} {n:05d}",
                        "type": "goods",
                        "default_uom": unit,
                        "list_price": Decimal(rng.randrange(50, 50000)) / 100,
                        "account_category": goods,
                        "categories": [["add", [rng.choice(categories)]]],
                        "salable": True,
                        "sale_uom": unit,
                        "products": [["create", [{"suffix_code": sku}]]],
                    }
                )
            await client.create("product.template", templates)
        return skus

    async def set_payment_terms(self, party_ids: list[int], term: str) -> None:
        """Give parties a customer payment term by name."""
        [term_id] = await self._client.search("account.invoice.payment_term", [("name", "=", term)], limit=1)
        await self._client.write("party.party", party_ids, {"customer_payment_term": term_id})

    async def parties_with_canonical_ids(self) -> dict[str, list[int]]:
        """Canonical id → party ids carrying it (more than one would be a duplicate)."""
        rows = await self._client.search_read(
            "party.identifier", [("code", "like", "crossdock:%")], fields=["code", "party"]
        )
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(str(row["code"]).removeprefix("crossdock:"), []).append(int(row["party"]))
        return found
