"""Customer master sync between the Salesforce sandbox and a real Tryton: ownership, cross-references, no echo."""

from __future__ import annotations

from typing import Any

import pytest

from crossdock.bootstrap import Runtime
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.model.addresses import e164
from crossdock.ports.store import ExceptionClass

pytestmark = [pytest.mark.e2e, pytest.mark.tryton, pytest.mark.timeout(300)]


def erp(runtime: Runtime) -> TrytonConnector:
    inner = runtime.unguarded("erp")
    assert isinstance(inner, TrytonConnector)
    return inner


async def party_of(runtime: Runtime, canonical_id: str) -> dict[str, Any]:
    client = erp(runtime).client
    [party] = await client.search_read(
        "party.party",
        [("identifiers.code", "=", f"crossdock:{canonical_id}")],
        fields=["name", "code", "addresses", "contact_mechanisms", "customer_payment_term", "identifiers"],
    )
    return dict(party)


async def test_an_account_syncs_both_ways_under_ownership_without_echo(
    landscape: Landscape, runtime: Runtime, sales_user: CrmUser
) -> None:
    account_id = await sales_user.create(
        "Account",
        {
            "Name": "Harbor Plumbing Supply",
            "AccountNumber": "C-20417",
            "Phone": "+1 404 555 0147",
            "BillingStreet": "410 Commerce Pkwy",
            "BillingCity": "Atlanta",
            "BillingState": "GA",
            "BillingPostalCode": "30303",
            "BillingCountry": "US",
            "ShippingStreet": "88 Warehouse Rd\nDock 2",
            "ShippingCity": "Marietta",
            "ShippingState": "GA",
            "ShippingPostalCode": "30060",
            "ShippingCountry": "US",
            "CurrencyIsoCode": "USD",
        },
    )
    worker = runtime.worker("e2e")
    await worker.run_once()
    await worker.run_once()

    with runtime.store.unit_of_work(read_only=True) as uow:
        crm_ref = uow.xrefs.find_canonical("customer", "crm", account_id)
        assert crm_ref is not None, "the CRM account is cross-referenced"
        erp_ref = uow.xrefs.find_local("customer", crm_ref.canonical_id, "erp")
        assert erp_ref is not None, "and so is the Tryton party"
    canonical_id = crm_ref.canonical_id
    party = await party_of(runtime, canonical_id)
    assert party["name"] == "Harbor Plumbing Supply"
    assert str(party["id"]) == erp_ref.local_id
    client = erp(runtime).client
    addresses = await client.read("party.address", party["addresses"], ["street", "city", "invoice", "delivery"])
    assert {(a["city"], bool(a["invoice"]), bool(a["delivery"])) for a in addresses} >= {
        ("Atlanta", True, False),
        ("Marietta", False, True),
    }
    mechanisms = await client.read("party.contact_mechanism", party["contact_mechanisms"], ["type", "value"])
    # Tryton formats the number its own way ("+1 404-555-0147"); in canonical terms it is the CRM's number.
    assert ("phone", "+14045550147") in [(m["type"], e164(m["value"])) for m in mechanisms]
    account = await sales_user.get("Account", account_id)
    assert account["Crossdock_Id__c"] == canonical_id, "the canonical id is written back to the CRM"

    [term] = await client.search_read("account.invoice.payment_term", [("name", "=", "2-10-N30")], fields=["name"])
    await client.write("party.party", [party["id"]], {"customer_payment_term": term["id"]})
    await worker.run_once()
    account = await sales_user.get("Account", account_id)
    assert account["Payment_Terms__c"] == "2/10 Net 30", "finance's terms reach the CRM"

    await sales_user.update("Account", account_id, {"Payment_Terms__c": "Net 60", "Name": "Harbor Plumbing Supply Co"})
    await worker.run_once()
    await worker.run_once()
    party = await party_of(runtime, canonical_id)
    assert party["name"] == "Harbor Plumbing Supply Co", "the CRM owns the name"
    assert party["customer_payment_term"] == term["id"], "the CRM does not own payment terms"
    with runtime.store.unit_of_work(read_only=True) as uow:
        violations = uow.exceptions.list(exception_class=ExceptionClass.POLICY_VIOLATION)
    assert [v.details["attribute"] for v in violations] == ["payment_terms"], [v.details for v in violations][:2]
    assert violations[0].details["owner"] == "erp"
    assert "Net 60" in str(violations[0].raw_payload)

    writes_before = await sales_user.write_calls()
    for _ in range(3):
        stats = await worker.run_once()
        assert (stats.captured, stats.delivered) == (0, 0), "no echo: nothing more to publish or write"
    assert await sales_user.write_calls() == writes_before
