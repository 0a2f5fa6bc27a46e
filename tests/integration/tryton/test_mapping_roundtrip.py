"""The packaged mappings against a real Tryton: canonical → Tryton → canonical gives back what Tryton holds.

The echo check of the core hashes what the inbound mapping makes of the payload it wrote and of the record it reads
back; the two must be equal, or every write would come back as a change.
"""

from __future__ import annotations

from typing import Any

import pytest

from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.mapping.catalog import MappingCatalog
from crossdock.model.item import Item
from crossdock.model.party import Customer
from crossdock.ports.connector import SourceRecord, UpsertRequest
from tests.integration.tryton.conftest import SYSTEM, customer, item
from tests.integration.tryton.test_capture import drain

pytestmark = pytest.mark.tryton


async def write_and_read_back(
    connector: TrytonConnector, catalog: MappingCatalog, entity: str, document: dict[str, Any]
) -> tuple[dict[str, Any], SourceRecord]:
    """Upsert a canonical document through the outbound mapping; the payload sent and the record read back."""
    cursor = await connector.cursor_at_end(entity)
    payload = catalog.get(SYSTEM, entity, "outbound").apply(document)
    (result,) = await connector.upsert(entity, [UpsertRequest(document["id"], payload)])
    assert result.ok, result.error
    records, _ = await drain(connector, entity, cursor)
    (record,) = [r for r in records if r.local_id == result.local_id]
    return payload, record


async def test_a_customer_comes_back_as_it_went_in(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    original = Customer.model_validate(customer(unique)).model_dump(mode="json")
    sent, record = await write_and_read_back(connector, catalog, "customer", original)
    inbound = catalog.get(SYSTEM, "customer", "inbound")
    back = Customer.model_validate({**inbound.apply(record.payload), "id": original["id"]})
    assert back.model_dump(mode="json") == original
    assert inbound.apply(record.payload) == inbound.apply(sent)  # what the echo check relies on


async def test_an_item_comes_back_as_it_went_in(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    original = Item.model_validate(item(unique)).model_dump(mode="json")
    sent, record = await write_and_read_back(connector, catalog, "item", original)
    inbound = catalog.get(SYSTEM, "item", "inbound")
    back = Item.model_validate({**inbound.apply(record.payload), "id": original["id"]})
    assert back.model_dump(mode="json") == original
    assert inbound.apply(record.payload) == inbound.apply(sent)


async def test_a_party_made_in_tryton_maps_to_a_valid_customer(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    cursor = await connector.cursor_at_end("customer")
    client = connector.client
    us = await client.search("country.country", [("code", "=", "US")])
    texas = await client.search("country.subdivision", [("code", "=", "US-TX")])
    (party,) = await client.create(
        "party.party",
        [
            {
                "name": f"Lone Star Supply {unique}",
                "addresses": [
                    [
                        "create",
                        [
                            {
                                "street": "500 Commerce St",
                                "city": "Dallas",
                                "postal_code": "75202",
                                "country": us[0],
                                "subdivision": texas[0],
                                "invoice": True,
                                "delivery": True,
                            }
                        ],
                    ]
                ],
                "contact_mechanisms": [
                    [
                        "create",
                        [{"type": "website", "value": "https://lonestar.example"}, {"type": "sip", "value": "x"}],
                    ]
                ],
                "identifiers": [["create", [{"type": "us_ein", "code": "45-2345678"}]]],
            }
        ],
    )
    records, _ = await drain(connector, "customer", cursor)
    (record,) = [r for r in records if r.local_id == str(party)]
    mapped = catalog.get(SYSTEM, "customer", "inbound").apply(record.payload)
    account = Customer.model_validate({**mapped, "id": f"cus_{unique}"})
    assert account.currency == "USD"  # none on the party: Tryton sells in the company's currency
    assert account.payment_terms is not None
    assert account.payment_terms.code == "N30"
    assert [(a.kind.value, a.region, a.lines) for a in account.addresses] == [
        ("bill_to", "TX", ["500 Commerce St"]),
        ("ship_to", "TX", ["500 Commerce St"]),
    ]
    assert [(p.channel.value, p.value) for p in account.contact_points] == [("web", "https://lonestar.example")]
    assert [(i.scheme.value, i.value) for i in account.identifiers] == [("ein", "45-2345678")]
