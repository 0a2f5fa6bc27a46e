"""Order submission and status through the API: durable 202, idempotency keys, duplicates, partner isolation."""

from __future__ import annotations

import uuid

from crossdock.api.schemas import OrderAccepted
from crossdock.events.envelope import event_type
from crossdock.orders.intake import PROCESS_KEY
from tests.integration.api.conftest import Api, order

PROBLEM = "application/problem+json"


async def logged_orders(api: Api) -> list[dict[str, object]]:
    """The order events in the log."""
    batch = await api.runtime.log.fetch("test.reader", "t", max_events=100, wait_s=0.05)
    return [
        {"id": e.event.id, "partner": e.event.partnerid, "keys": e.event.businesskeys, "data": e.event.data}
        for e in batch
        if e.event.type == event_type("order", "submitted")
    ]


async def test_an_order_is_logged_before_the_202_and_reads_back_as_submitted(api: Api) -> None:
    response = await api.submit("acme-portal", order(), key="k-1")
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/orders/{body['id']}"
    assert body["number"] == "API-acme-portal-PO-1001"
    assert body["status"] == "submitted"
    # The route writes the answer by hand (hot path): it must be exactly the documented `OrderAccepted`.
    assert OrderAccepted.model_validate(body).model_dump(mode="json") == body
    [logged] = await logged_orders(api)
    assert logged["partner"] == "cus-acme"
    assert logged["keys"] == {"order": body["number"], "customer_po": "PO-1001", PROCESS_KEY: body["process_id"]}
    data = logged["data"]
    assert isinstance(data, dict)
    assert data["customer_id"] == "cus-acme"
    assert [line["sku"] for line in data["lines"]] == ["SKU-1001", "SKU-2002"]

    status = await api.http.get(body["links"]["self"], headers=await api.as_("acme-portal"))
    assert status.status_code == 200
    view = status.json()
    assert (view["status"], view["customer_reference"], view["shipments"], view["invoices"]) == (
        "submitted",
        "PO-1001",
        [],
        [],
    )
    assert view["process_id"] is None  # internal detail: partners do not see it
    assert [(line["sku"], line["ordered_quantity"], line["uom"]) for line in view["lines"]] == [
        ("SKU-1001", "12", "EA"),
        ("SKU-2002", "1", "CS"),
    ]


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_logs_nothing_more(api: Api) -> None:
    first = await api.submit("acme-portal", order(), key="k-retry")
    again = await api.submit("acme-portal", order(), key="k-retry")
    assert again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert len(await logged_orders(api)) == 1


async def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    await api.submit("acme-portal", order(), key="k-reuse")
    other = await api.submit("acme-portal", order("PO-2002"), key="k-reuse")
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["type"].endswith("/idempotency-key-reused")


async def test_an_error_answer_is_stored_and_replayed_too(api: Api) -> None:
    refused = await api.submit("acme-portal", order(customer_id="cus-zeta"), key="k-err")
    replayed = await api.submit("acme-portal", order(customer_id="cus-zeta"), key="k-err")
    assert (refused.status_code, replayed.status_code) == (403, 403)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.headers["content-type"] == PROBLEM
    assert replayed.json() == refused.json()


async def test_the_same_po_under_a_new_key_is_a_conflict_pointing_at_the_first_order(api: Api) -> None:
    first = await api.submit("acme-portal", order(), key="k-a")
    second = await api.submit("acme-portal", order(), key="k-b")
    assert second.status_code == 409
    assert second.headers["location"] == first.headers["location"]
    assert len(await logged_orders(api)) == 1


async def test_a_post_without_an_idempotency_key_is_refused_with_how_to_send_one(api: Api) -> None:
    response = await api.http.post("/v1/orders", json=order(), headers=await api.as_("acme-portal"))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert await logged_orders(api) == []


async def test_read_only_and_unknown_fields_are_refused_on_write(api: Api) -> None:
    for extra in ({"status": "invoiced"}, {"id": "x"}, {"shipments": []}):
        response = await api.submit("acme-portal", order(**extra), key=f"k-{uuid.uuid4()}")
        assert response.status_code == 422, extra
        assert "read-only" in response.json()["detail"]
    unknown = await api.submit("acme-portal", order(discount_percent=50), key="k-unknown")
    assert unknown.status_code == 422
    assert await logged_orders(api) == []


async def test_a_partner_cannot_read_or_list_another_partners_orders(api: Api) -> None:
    acme = (await api.submit("acme-portal", order(), key="k-acme")).json()
    zeta = (await api.submit("zeta-portal", order("Z-1"), key="k-zeta")).json()
    as_zeta = await api.as_("zeta-portal")
    for path in (f"/v1/orders/{acme['id']}", f"/v1/orders/{acme['id']}/status"):
        response = await api.http.get(path, headers=as_zeta)
        assert response.status_code == 404, path
        assert acme["id"] in response.json()["detail"]
    # Guessed ids look exactly like unknown ones.
    for guess in (str(uuid.uuid4()), acme["process_id"], "1", "API-acme-portal-PO-1001"):
        assert (await api.http.get(f"/v1/orders/{guess}", headers=as_zeta)).status_code == 404
    listed = (await api.http.get("/v1/orders", headers=as_zeta)).json()
    assert [o["id"] for o in listed["items"]] == [zeta["id"]]
    mine = (await api.http.get("/v1/partners/me/orders", headers=as_zeta)).json()
    assert [o["id"] for o in mine["items"]] == [zeta["id"]]
    paged = await api.http.get("/v1/orders", params={"after": acme["id"]}, headers=as_zeta)
    assert paged.status_code == 422  # another partner's order is not even a cursor
    everything = (await api.http.get("/v1/orders", headers=await api.as_("webshop"))).json()
    assert {o["id"] for o in everything["items"]} == {acme["id"], zeta["id"]}
    assert all(o["process_id"] for o in everything["items"])  # internal callers see the process


async def test_a_partner_orders_for_itself_only(api: Api) -> None:
    response = await api.submit("acme-portal", order(customer_id="cus-zeta"), key="k-other")
    assert response.status_code == 403
    assert await logged_orders(api) == []


async def test_an_internal_caller_names_the_customer(api: Api) -> None:
    missing = await api.submit("webshop", order(), key="k-w1")
    assert missing.status_code == 422
    named = await api.submit("webshop", order(customer_id="cus-acme"), key="k-w2")
    assert named.status_code == 202
    [logged] = await logged_orders(api)
    assert logged["partner"] is None


async def test_pages_walk_every_order_once(api: Api) -> None:
    ids = [(await api.submit("acme-portal", order(f"PO-{n}"), key=f"k-{n}")).json()["id"] for n in range(5)]
    seen: list[str] = []
    after = None
    headers = await api.as_("acme-portal")
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = (await api.http.get("/v1/partners/me/orders", params=params, headers=headers)).json()
        seen += [o["id"] for o in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5


async def test_the_deprecated_status_route_says_when_it_goes(api: Api) -> None:
    acme = (await api.submit("acme-portal", order(), key="k-dep")).json()
    response = await api.http.get(f"/v1/orders/{acme['id']}/status", headers=await api.as_("acme-portal"))
    assert response.status_code == 200
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["sunset"].endswith("GMT")
    assert 'rel="successor-version"' in response.headers["link"]
