"""The daily API limit and its header, call statistics, and each injectable fault."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.sandbox.salesforce.faults import Fault
from tests.integration.salesforce_sandbox.support import ADMIN, BASE_URL, Clock, V, get_token, make_app

COLLECTION = f"{V}/composite/sobjects"


async def add_fault(api: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    response = await api.post("/sandbox/faults", json=fault, headers=ADMIN)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_limit_header_counts_calls(api: httpx.AsyncClient) -> None:
    first = await api.get(f"{V}/limits")
    second = await api.get(f"{V}/sobjects")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    assert first.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 14999}


async def test_request_limit_exceeded(api: httpx.AsyncClient, clock: Clock) -> None:
    await api.post("/sandbox/limits", json={"daily_api_limit": 100, "api_usage": 99}, headers=ADMIN)
    assert (await api.get(f"{V}/limits")).status_code == 200
    refused = await api.get(f"{V}/limits")
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=100/100"
    clock.advance(hours=25)  # the window rolls on
    api.headers["Authorization"] = f"Bearer {await get_token(api)}"
    assert (await api.get(f"{V}/limits")).status_code == 200


async def test_daily_limit_from_the_constructor(tmp_path: Path, clock: Clock) -> None:
    app = make_app(tmp_path / "small.db", clock, daily_api_limit=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        http.headers["Authorization"] = f"Bearer {await get_token(http)}"
        statuses = [(await http.get(f"{V}/limits")).status_code for _ in range(3)]
    app.state.org.close()
    assert statuses == [200, 200, 403]


async def test_stats_count_calls_by_endpoint(api: httpx.AsyncClient) -> None:
    await api.post("/sandbox/stats/reset", headers=ADMIN)
    for _ in range(3):
        await api.patch(f"{COLLECTION}/Account/Crossdock_Id__c", json={"records": []})
    await api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    stats = (await api.get("/sandbox/stats", headers=ADMIN)).json()
    assert stats["byEndpoint"] == {
        "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{field}": 3,
        "GET /services/data/v{version}/query": 1,
    }
    assert stats["calls"] == 4
    assert stats["byStatus"] == {"200": 4}


async def test_admin_endpoints_need_the_admin_token(api: httpx.AsyncClient) -> None:
    for method, url in [("GET", "/sandbox/stats"), ("POST", "/sandbox/faults"), ("POST", "/sandbox/tokens/expire")]:
        response = await api.request(method, url)  # an org token is not enough
        assert response.status_code == 401, url
    assert (await api.get("/sandbox/health")).status_code == 200


async def test_latency(api: httpx.AsyncClient) -> None:
    await add_fault(api, kind="latency", endpoint="limits", latency_ms=150)
    started = time.perf_counter()
    assert (await api.get(f"{V}/limits")).status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    await api.get(f"{V}/sobjects")
    assert time.perf_counter() - started < 0.15


async def test_429_then_recovery(api: httpx.AsyncClient) -> None:
    await add_fault(api, kind="http_429", endpoint="composite/*", method="PATCH", times=2, retry_after_s=3)
    statuses = []
    for _ in range(3):
        response = await api.patch(f"{COLLECTION}/Account/Crossdock_Id__c", json={"records": []})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "3"
            assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert statuses == [429, 429, 200]
    assert (await api.get("/sandbox/faults", headers=ADMIN)).json() == []  # used up


async def test_503_at_a_rate(api: httpx.AsyncClient) -> None:
    fault = await add_fault(api, kind="http_503", endpoint="query*", rate=0.5)
    statuses = [(await api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    assert 8 <= statuses.count(503) <= 32
    assert (await api.delete(f"/sandbox/faults/{fault['id']}", headers=ADMIN)).status_code == 204
    assert (await api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})).status_code == 200


async def test_unable_to_lock_row_per_record(api: httpx.AsyncClient) -> None:
    await add_fault(api, kind="unable_to_lock_row", endpoint="composite/sobjects*", times=2)
    records = [{"attributes": {"type": "Account"}, "Name": f"A{n}", "Crossdock_Id__c": f"L-{n}"} for n in range(4)]
    results = (await api.patch(f"{COLLECTION}/Account/Crossdock_Id__c", json={"records": records})).json()
    assert [result["success"] for result in results] == [False, False, True, True]
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    retry = (await api.patch(f"{COLLECTION}/Account/Crossdock_Id__c", json={"records": records[:2]})).json()
    assert [result["created"] for result in retry] == [True, True]

    await add_fault(api, kind="unable_to_lock_row", endpoint="sobjects/Account*")
    single = await api.patch(f"{V}/sobjects/Account/Crossdock_Id__c/L-1", json={"Phone": "1"})
    assert single.status_code == 400
    assert single.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert "unable to obtain exclusive access to this record" in single.json()[0]["message"]


async def test_token_expiry_fault_and_switch(api: httpx.AsyncClient) -> None:
    await add_fault(api, kind="expire_token", endpoint="query*", times=1)
    expired = await api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert expired.status_code == 401
    assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert (await api.get(f"{V}/limits")).status_code == 401  # the session is gone, not just one call
    api.headers["Authorization"] = f"Bearer {await get_token(api)}"
    assert (await api.get(f"{V}/limits")).status_code == 200
    assert (await api.post("/sandbox/tokens/expire", headers=ADMIN)).json() == {"revoked": 1}
    assert (await api.get(f"{V}/limits")).status_code == 401


async def test_faults_from_the_constructor_and_on_the_token_endpoint(tmp_path: Path, clock: Clock) -> None:
    app = make_app(
        tmp_path / "faulty.db", clock, faults=[Fault("http_503", endpoint="/services/oauth2/token", times=1)]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        form = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
        assert (await http.post("/services/oauth2/token", data=form)).status_code == 503
        assert (await http.post("/services/oauth2/token", data=form)).status_code == 400
    app.state.org.close()


@pytest.mark.parametrize("body", [{"kind": "meteor"}, {"kind": "latency"}, {"kind": "http_503", "rate": 2}, []])
async def test_bad_faults_are_refused(api: httpx.AsyncClient, body: Any) -> None:
    response = await api.post("/sandbox/faults", json=body, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FAULT"
