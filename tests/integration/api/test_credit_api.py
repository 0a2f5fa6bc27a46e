"""Credit checks through the API: the ERP's standing, a partner's own account only, the credit limit for internal
callers only, 503 while the ERP is down, and idempotent replays."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import wire_erp

PROBLEM = "application/problem+json"


async def check(api: Api, client_id: str, key: str, **body: Any) -> httpx.Response:
    headers = await api.as_(client_id) | {"Idempotency-Key": key}
    return await api.http.post("/v1/credit-checks", json={"amount": "500", **body}, headers=headers)


async def test_a_partner_checks_its_own_credit_and_does_not_see_its_limit(api: Api) -> None:
    wire_erp(api)
    response = await check(api, "acme-buyer", "c-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "cus-acme"
    assert (body["approved"], body["reason"], body["available_credit"], body["on_hold"]) == (True, None, "800", False)
    assert "credit_limit" not in body  # property-level: the limit is the distributor's business

    internal = (await check(api, "webshop", "c-2", customer_id="cus-acme", amount="1000")).json()
    assert (internal["approved"], internal["reason"], internal["credit_limit"]) == (False, "over_credit", "5000")
    held = (await check(api, "webshop", "c-3", customer_id="cus-zeta")).json()
    assert (held["approved"], held["reason"], held["on_hold"]) == (False, "on_hold", True)


async def test_a_partner_cannot_check_another_customer(api: Api) -> None:
    desk = wire_erp(api)
    other = await check(api, "acme-buyer", "c-other", customer_id="cus-zeta")
    assert other.status_code == 403
    assert other.headers["content-type"] == PROBLEM
    assert "own account" in other.json()["detail"]
    itself = await check(api, "acme-buyer", "c-self", customer_id="cus-acme")
    assert itself.status_code == 200
    assert desk.calls == [("customer_standing", ("17",))]  # the ERP was never asked about zeta


async def test_a_customer_the_erp_does_not_know_is_a_404_and_a_foreign_currency_a_422(api: Api) -> None:
    wire_erp(api)
    unknown = await check(api, "webshop", "c-unknown", customer_id="cus-nobody")
    assert unknown.status_code == 404
    assert "cus-nobody is not known to the ERP" in unknown.json()["detail"]
    missing = await check(api, "webshop", "c-missing")
    assert missing.status_code == 422  # internal callers name the customer
    euros = await check(api, "webshop", "c-eur", customer_id="cus-acme", currency="EUR")
    assert euros.status_code == 422
    assert "send the amount in USD" in euros.json()["detail"]


async def test_an_erp_outage_is_a_503_that_is_not_stored_and_a_retry_replays_the_first_answer(api: Api) -> None:
    desk = wire_erp(api)
    desk.down = True
    down = await check(api, "acme-buyer", "c-retry")
    assert down.status_code == 503
    assert down.headers["content-type"] == PROBLEM
    assert int(down.headers["retry-after"]) >= 1
    assert "cannot reach" in down.json()["detail"]
    desk.down = False
    first = await check(api, "acme-buyer", "c-retry")  # the same key: the 503 was not kept
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    again = await check(api, "acme-buyer", "c-retry")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(desk.calls) == 2  # the outage and the first answer; the replay asked nothing
    reused = await check(api, "acme-buyer", "c-retry", amount="900")
    assert reused.status_code == 422


async def test_without_an_erp_or_a_key_the_check_says_what_to_do(api: Api) -> None:
    unconfigured = await check(api, "webshop", "c-none", customer_id="cus-acme")
    assert unconfigured.status_code == 503
    assert "orders:" in unconfigured.json()["detail"]
    wire_erp(api)
    keyless = await api.http.post("/v1/credit-checks", json={"amount": "1"}, headers=await api.as_("acme-buyer"))
    assert keyless.status_code == 400
    assert "Idempotency-Key" in keyless.json()["detail"]
    no_scope = await check(api, "acme-portal", "c-scope")
    assert no_scope.status_code == 403
