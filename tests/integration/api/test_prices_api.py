"""Contract prices through the API: the ERP's price for the customer and quantity, a partner's own prices only,
404 for unknown items and customers, 503 while the ERP is down."""

from __future__ import annotations

import httpx

from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import wire_erp


async def price(api: Api, client_id: str, **params: str) -> httpx.Response:
    return await api.http.get("/v1/prices", params=params, headers=await api.as_(client_id))


async def test_a_partner_gets_its_own_contract_price_and_an_internal_caller_names_the_customer(api: Api) -> None:
    desk = wire_erp(api)
    own = await price(api, "acme-buyer", sku="SKU-1", quantity="12")
    assert own.status_code == 200, own.text
    body = own.json()
    assert {k: body[k] for k in ("customer_id", "sku", "quantity", "unit_price", "currency")} == {
        "customer_id": "cus-acme",
        "sku": "SKU-1",
        "quantity": "12",
        "unit_price": "9.50",
        "currency": "USD",
    }
    assert body["as_of"]
    zeta = (await price(api, "webshop", customer_id="cus-zeta", sku="SKU-1")).json()
    assert (zeta["unit_price"], zeta["quantity"]) == ("11.00", "1")
    assert ("contract_prices", ("17", "SKU-1")) in desk.calls


async def test_a_partner_cannot_read_another_customers_prices(api: Api) -> None:
    desk = wire_erp(api)
    other = await price(api, "acme-buyer", customer_id="cus-zeta", sku="SKU-1")
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert desk.calls == []


async def test_unknown_items_and_customers_are_404_and_an_outage_a_503(api: Api) -> None:
    desk = wire_erp(api)
    item = await price(api, "acme-buyer", sku="SKU-NOPE")
    assert item.status_code == 404
    assert "SKU-NOPE" in item.json()["detail"]
    customer = await price(api, "webshop", customer_id="cus-nobody", sku="SKU-1")
    assert customer.status_code == 404
    assert "not known to the ERP" in customer.json()["detail"]
    bad = await price(api, "acme-buyer", sku="SKU-1", quantity="-1")
    assert bad.status_code == 422
    desk.down = True
    down = await price(api, "acme-buyer", sku="SKU-1")
    assert down.status_code == 503
    assert int(down.headers["retry-after"]) >= 1
