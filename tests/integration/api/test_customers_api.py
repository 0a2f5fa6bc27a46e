"""Customer onboarding through the API: validated against the canonical model, matched against golden customers
before anything is created, a prospect logged for review otherwise, idempotent, and closed to partners."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import httpx

from crossdock.api.customer_matching import NormalisedCustomerMatcher
from crossdock.events.envelope import event_type
from crossdock.ports.store import GoldenRecord, UnitOfWork
from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import wire_erp

PROBLEM = "application/problem+json"


def applicant(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Harbor Fresh Markets, LLC",
        "tax_id": "47-1234567",
        "email": "ap@harborfresh.example",
        "phone": "+1 614 555 0100",
        "reference": "WEB-884",
        "billing_address": {
            "lines": ["12 Pier Rd"],
            "city": "Columbus",
            "region": "OH",
            "postal_code": "43215",
            "country": "US",
        },
        "shipping_addresses": [
            {"name": "Harbor DC", "lines": ["900 Dock St"], "city": "Dublin", "region": "OH", "postal_code": "43017",
             "country": "US"},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


async def onboard(api: Api, body: dict[str, Any], key: str, client_id: str = "webshop") -> httpx.Response:
    headers = await api.as_(client_id) | {"Idempotency-Key": key}
    return await api.http.post("/v1/customers", json=body, headers=headers)


async def logged_customers(api: Api) -> list[dict[str, Any]]:
    # A new consumer group each time reads the log from its start.
    batch = await api.runtime.log.fetch(f"test.customers.{uuid.uuid4()}", "t", max_events=100, wait_s=0.05)
    return [e.event.data for e in batch if e.event.type == event_type("customer", "created")]


def golden_customers(api: Api, *documents: dict[str, Any]) -> None:
    """Golden customer records in the store, and a matcher that reads exactly those (the store cannot list them)."""
    with api.runtime.store.unit_of_work() as uow:
        for document in documents:
            uow.golden.put(GoldenRecord("customer", document["id"], document, {"name": "erp"}))
        uow.commit()
    ids = [document["id"] for document in documents]

    def candidates(uow: UnitOfWork, limit: int) -> Iterable[GoldenRecord]:
        return [found for i in ids[:limit] if (found := uow.golden.get("customer", i)) is not None]

    api.context.customer_matcher = NormalisedCustomerMatcher(candidates)


ACME = {
    "id": "cus-acme",
    "number": "C-1001",
    "name": "ACME Supply, Inc.",
    "roles": ["bill_to"],
    "currency": "USD",
    "addresses": [
        {"kind": "bill_to", "lines": ["1 Main"], "city": "Columbus", "region": "OH", "postal_code": "43215-0001",
         "country": "US"},
    ],
}  # fmt: skip
ZETA = {
    "id": "cus-zeta",
    "number": "C-1002",
    "name": "Zeta Foods",
    "roles": ["bill_to"],
    "currency": "USD",
    "identifiers": [{"scheme": "ein", "value": "47-1234567", "country": "US"}],
}


async def test_a_new_applicant_is_logged_as_a_prospect_for_review_once(api: Api) -> None:
    wire_erp(api)
    response = await onboard(api, applicant(), "k-new")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["number"]) == ("pending_review", "WEB-884")
    customer_id = body["customer_id"]
    assert body["links"] == {"erp_reference": f"/v1/systems/erp/xrefs/customer/{customer_id}"}
    [logged] = await logged_customers(api)
    assert (logged["id"], logged["status"], logged["name"]) == (customer_id, "prospect", "Harbor Fresh Markets, LLC")
    assert [(a["kind"], a["postal_code"]) for a in logged["addresses"]] == [("bill_to", "43215"), ("ship_to", "43017")]
    assert {p["channel"] for p in logged["contact_points"]} == {"email", "phone"}

    replay = await onboard(api, applicant(), "k-new")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == response.content
    # The same company under another key is the same prospect, and the log keeps its first request only.
    again = await onboard(api, applicant(email="sales@harborfresh.example"), "k-again")
    assert (again.status_code, again.json()["customer_id"]) == (202, customer_id)
    assert len(await logged_customers(api)) == 1


async def test_a_likely_existing_customer_is_matched_and_nothing_is_created(api: Api) -> None:
    golden_customers(api, ACME, ZETA)
    by_name = await onboard(
        api,
        applicant(
            name="Acme Supply LLC",
            tax_id=None,
            billing_address={**applicant()["billing_address"], "postal_code": "43215-1234"},
        ),
        "k-acme",
    )
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == {
        "status": "matched",
        "customer_id": "cus-acme",
        "matched_on": ["name", "postal_code"],
        "links": {},
    }
    by_tax_id = (await onboard(api, applicant(name="Something Else", tax_id="471234567"), "k-zeta")).json()
    assert (by_tax_id["customer_id"], by_tax_id["matched_on"]) == ("cus-zeta", ["tax_id"])
    elsewhere = await onboard(api, applicant(name="Acme Supply", tax_id=None, shipping_addresses=[]), "k-other")
    assert elsewhere.status_code == 200  # billing 43215 is ACME's postal code
    moved = applicant(name="Acme Supply", tax_id=None, shipping_addresses=[])
    moved["billing_address"] = {**moved["billing_address"], "postal_code": "10001", "city": "New York", "region": "NY"}
    assert (await onboard(api, moved, "k-moved")).status_code == 202  # same name elsewhere: a person decides
    assert len(await logged_customers(api)) == 1


async def test_requests_are_validated_against_the_canonical_model_before_matching(api: Api) -> None:
    cases = {
        "bad-zip": applicant(billing_address={**applicant()["billing_address"], "postal_code": "4321"}),
        "no-region": applicant(billing_address={**applicant()["billing_address"], "region": None}),
        "bad-email": applicant(email="ap at harborfresh"),
        "no-name": {k: v for k, v in applicant().items() if k != "name"},
        "read-only": applicant(status="active", credit_limit="100000"),
        "unknown": applicant(discount_percent=5),
    }
    for key, body in cases.items():
        response = await onboard(api, body, key)
        assert response.status_code == 422, key
        assert response.headers["content-type"] == PROBLEM
    detail = (await onboard(api, cases["bad-zip"], "bad-zip-2")).json()
    assert "ZIP code" in detail["detail"]
    assert detail["errors"][0]["pointer"] == "/billing_address"
    assert "read-only" in (await onboard(api, cases["read-only"], "ro-2")).json()["detail"]
    assert await logged_customers(api) == []


async def test_partners_cannot_onboard_customers_even_with_the_scope(api: Api) -> None:
    wire_erp(api)  # acme-buyer holds customers:write
    response = await onboard(api, applicant(), "k-partner", client_id="acme-buyer")
    assert response.status_code == 403
    assert "internal or operator" in response.json()["detail"]
    assert await logged_customers(api) == []
