"""Availability through the API: ATP from the cache with its as-of time, refreshed when too old, served stale while
the ERP is down, 503 only for SKUs never read, and one ERP call for concurrent requests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import httpx

from crossdock.model.common import Sourcing
from crossdock.ports.orders import ItemSupply
from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import wire_erp

PROBLEM = "application/problem+json"


async def availability(api: Api, client_id: str, *skus: str, **params: str) -> httpx.Response:
    query: list[tuple[str, str | int | float | bool | None]] = [("sku", sku) for sku in skus]
    query += params.items()
    return await api.http.get("/v1/availability", params=query, headers=await api.as_(client_id))


async def test_atp_per_sku_with_unknown_skus_listed_and_the_supplier_for_internal_callers_only(api: Api) -> None:
    desk = wire_erp(api)
    response = await availability(api, "acme-buyer", "SKU-1", "SKU-2", "SKU-GONE", "SKU-1")
    assert response.status_code == 200, response.text
    items = {item["sku"]: item for item in response.json()["items"]}
    assert list(items) == ["SKU-1", "SKU-2", "SKU-GONE"]  # as asked, each once
    assert items["SKU-1"]["available"] == "40"
    assert (items["SKU-1"]["known"], items["SKU-1"]["stale"], items["SKU-1"]["location"]) == (True, False, "default")
    assert (items["SKU-2"]["sourcing"], items["SKU-2"]["lead_time_days"]) == ("drop_ship", 6)
    assert (items["SKU-GONE"]["known"], items["SKU-GONE"]["available"]) == (False, None)
    assert items["SKU-1"]["as_of"] == items["SKU-GONE"]["as_of"]
    assert items["SKU-1"]["supplier_id"] is None  # property-level: partners do not see who supplies
    internal = (await availability(api, "webshop", "SKU-1", location="default")).json()
    assert internal["items"][0]["supplier_id"] == "77"
    assert desk.calls == [("item_supply", ("SKU-1", "SKU-2", "SKU-GONE"))]  # the second answer came from the cache


async def test_old_entries_are_refreshed_and_served_stale_while_the_erp_is_down(api: Api) -> None:
    desk = wire_erp(api)
    first = (await availability(api, "webshop", "SKU-1")).json()["items"][0]
    start = api.context.clock()
    later = start + timedelta(seconds=api.context.config.availability_max_age_s + 1)
    api.context.clock = lambda: later
    desk.supply["SKU-1"] = ItemSupply("SKU-1", "101", Sourcing.STOCKED, Decimal(35), "u")
    refreshed = (await availability(api, "webshop", "SKU-1")).json()["items"][0]
    assert (refreshed["available"], refreshed["stale"]) == ("35", False)
    assert datetime.fromisoformat(refreshed["as_of"]) == later > datetime.fromisoformat(first["as_of"])

    much_later = later + timedelta(hours=1)
    api.context.clock = lambda: much_later
    desk.down = True
    stale = await availability(api, "webshop", "SKU-1")
    assert stale.status_code == 200
    item = stale.json()["items"][0]
    assert (item["available"], item["stale"], item["as_of"]) == ("35", True, refreshed["as_of"])
    assert len(desk.calls) == 3


async def test_nothing_cached_and_the_erp_down_is_a_503_naming_the_skus(api: Api) -> None:
    desk = wire_erp(api)
    await availability(api, "webshop", "SKU-1")
    desk.down = True
    response = await availability(api, "webshop", "SKU-1", "SKU-2")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["uncached_skus"] == ["SKU-2"]
    assert "SKU-2" in response.json()["detail"]
    # The ERP is left alone for a moment after it failed: the cached SKU is answered without asking it again.
    cached = await availability(api, "webshop", "SKU-1")
    assert cached.status_code == 200
    assert len(desk.calls) == 2


async def test_concurrent_requests_for_the_same_skus_share_one_erp_call(api: Api) -> None:
    desk = wire_erp(api)
    desk.gate = asyncio.Event()
    await api.token("acme-buyer")
    await api.token("zeta-buyer")
    requests = [
        asyncio.create_task(availability(api, "acme-buyer", "SKU-1", "SKU-2")),
        asyncio.create_task(availability(api, "zeta-buyer", "SKU-2", "SKU-1")),
        asyncio.create_task(availability(api, "acme-buyer", "SKU-1")),
    ]
    for _ in range(100):
        await asyncio.sleep(0.01)
        if desk.calls:
            break
    await asyncio.sleep(0.05)  # the others reach the cache and find the call under way
    desk.gate.set()
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert desk.calls == [("item_supply", ("SKU-1", "SKU-2"))]
    assert answers[0].json()["items"][0]["as_of"] == answers[1].json()["items"][1]["as_of"]


async def test_requests_the_cache_cannot_serve_are_refused_with_what_to_do(api: Api) -> None:
    unconfigured = await availability(api, "webshop", "SKU-1")
    assert unconfigured.status_code == 503
    assert "orders:" in unconfigured.json()["detail"]
    wire_erp(api)
    too_many = await availability(api, "webshop", *(f"SKU-{n}" for n in range(51)))
    assert too_many.status_code == 422
    assert "at most 50" in too_many.json()["detail"]
    elsewhere = await availability(api, "webshop", "SKU-1", location="dallas")
    assert elsewhere.status_code == 422
    none = await api.http.get("/v1/availability", headers=await api.as_("webshop"))
    assert none.status_code == 422
    no_scope = await availability(api, "acme-portal", "SKU-1")
    assert no_scope.status_code == 403
