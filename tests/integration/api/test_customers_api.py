"""Customer onboarding through the API: validated against the canonical model, matched against golden customers
through the master-data gate before anything is created (a likely match waits for a steward), a prospect logged
for review otherwise, idempotent, and closed to partners."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from crossdock.api.customer_matching import GateCustomerMatcher
from crossdock.events.envelope import event_type
from crossdock.mdm.golden import GoldenKeeper
from crossdock.mdm.model import Thresholds
from crossdock.mdm.online import CustomerGate
from crossdock.mdm.release import EventsRelease
from crossdock.mdm.stewardship import Decision, StewardshipService
from crossdock.mdm.store_index import MatchKeys
from crossdock.mdm.survivorship import SurvivorshipPolicy
from crossdock.ports.store import GoldenRecord
from tests.integration.api.conftest import Api
from tests.integration.api.fake_erp import wire_erp
from tests.unit.mdm.mdm_world import table_matcher

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


# How likely each applicant's name is the golden customer it shares a postal code with: the route and the gate's
# adapter are tested against fixed scores (the matching engine itself has its own tests).
SCORES = {"Acme Supply LLC": 0.99, "Acme Supply": 0.80, "Acme Supplies": 0.80}


def golden_customers(api: Api, *documents: dict[str, Any]) -> StewardshipService:
    """Golden customers, indexed for the MDM gate the API asks; the steward's desk over the same store."""
    keys = MatchKeys(table_matcher(Thresholds(), SCORES))
    keeper = GoldenKeeper(SurvivorshipPolicy(), keys)
    with api.runtime.store.unit_of_work() as uow:
        for document in documents:
            uow.golden.put(GoldenRecord("customer", document["id"], document, {"name": "erp"}))
            keys.index_golden(uow, document["id"])
        uow.commit()
    api.context.customer_matcher = GateCustomerMatcher(CustomerGate(keeper))
    release = EventsRelease(api.runtime.store, keeper, api.runtime.publisher)
    return StewardshipService(api.runtime.store, keeper, releasers={"events": release})


ACME = {
    "id": "cus-acme",
    "number": "C-1001",
    "name": "ACME Supply, Inc.",
    "roles": ["bill_to"],
    "currency": "USD",
    "addresses": [
        {"kind": "bill_to", "lines": ["12 Pier Rd"], "city": "Columbus", "region": "OH", "postal_code": "43215-0001",
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


async def test_a_confident_match_is_the_customer_we_have_and_nothing_is_created(api: Api) -> None:
    golden_customers(api, ACME, ZETA)
    matched = await onboard(api, applicant(name="Acme Supply LLC", tax_id=None), "k-acme")
    assert matched.status_code == 200, matched.text
    assert matched.json() == {
        "status": "matched",
        "customer_id": "cus-acme",
        "matched_on": ["name", "address"],
        "links": {},
    }
    stranger = await onboard(api, applicant(name="Harbor Fresh Markets", tax_id=None), "k-harbor")
    assert stranger.status_code == 202
    assert [c["name"] for c in await logged_customers(api)] == ["Harbor Fresh Markets"]


async def test_a_likely_match_waits_for_a_steward_who_decides_once(api: Api) -> None:
    desk = golden_customers(api, ACME, ZETA)
    likely = applicant(name="Acme Supply", tax_id=None)
    held = await onboard(api, likely, "k-likely")
    assert held.status_code == 202, held.text
    assert held.json()["status"] == "pending_review"
    again = await onboard(api, likely, "k-likely-2")
    assert again.json()["customer_id"] == held.json()["customer_id"]
    assert await logged_customers(api) == [], "the prospect waits in its case"
    [case] = desk.open_cases()
    assert (case.right, case.source_system, case.left_record["name"]) == ("cus-acme", "api", "Acme Supply")
    assert case.id is not None
    await desk.decide(case.id, Decision.KEEP_APART, actor="dana")
    [logged] = await logged_customers(api)
    assert (logged["id"], logged["status"]) == (held.json()["customer_id"], "prospect")
    after = await onboard(api, likely, "k-likely-3")
    assert after.status_code == 202
    assert desk.open_cases() == [], "a pair decided is not asked again"

    other = applicant(name="Acme Supplies", tax_id=None, reference="WEB-885")
    await onboard(api, other, "k-other")
    [second] = desk.open_cases()
    assert second.id is not None
    await desk.decide(second.id, Decision.MERGE, actor="dana")
    merged = await onboard(api, other, "k-other-2")
    assert merged.status_code == 200
    assert (merged.json()["customer_id"], merged.json()["matched_on"]) == ("cus-acme", ["steward"])
    assert len(await logged_customers(api)) == 1, "the merged applicant's prospect is never logged"


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
