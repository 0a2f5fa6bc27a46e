"""Writes into a real Tryton: idempotent by canonical id, nested rows synced in one write, refusals per record."""

from __future__ import annotations

from typing import Any

import pytest

from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.mapping.catalog import MappingCatalog
from crossdock.ports.connector import ErrorKind, UpsertRequest
from tests.integration.tryton.conftest import SYSTEM, customer, item

pytestmark = pytest.mark.tryton


def outbound(catalog: MappingCatalog, entity: str, document: dict[str, Any]) -> dict[str, Any]:
    """The payload the delivery runner would send for a canonical document."""
    return catalog.get(SYSTEM, entity, "outbound").apply(document)


async def parties_carrying(connector: TrytonConnector, canonical_id: str) -> list[int]:
    """Parties whose identifiers hold the canonical id marker."""
    return await connector.client.search(
        "party.party", [("identifiers.code", "=", f"crossdock:{canonical_id}")], context={"active_test": False}
    )


async def test_the_same_canonical_id_upserted_twice_without_local_id_is_one_party(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    document = customer(unique)
    request = UpsertRequest(document["id"], outbound(catalog, "customer", document))
    # The delivery journal repeats a write whose outcome it did not record: no local id the second time either.
    first = await connector.upsert("customer", [request])
    second = await connector.upsert("customer", [request])
    assert first[0].ok
    assert second[0].ok
    assert first[0].created is True
    assert second[0].created is False
    assert second[0].details == {"changed": False}
    assert second[0].local_id == first[0].local_id
    assert await parties_carrying(connector, document["id"]) == [int(str(first[0].local_id))]


async def test_an_update_syncs_addresses_and_contact_points_in_one_write(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    document = customer(unique)
    (created,) = await connector.upsert(
        "customer", [UpsertRequest(document["id"], outbound(catalog, "customer", document))]
    )
    party = int(str(created.local_id))
    client = connector.client
    (skype,) = await client.create("party.contact_mechanism", [{"party": party, "type": "skype", "value": "acme.ops"}])
    before = await client.search("party.address", [("party", "=", party)])
    changed = {
        **document,
        "name": f"Acme Holdings {unique}",
        "payment_terms": {"code": "N60", "net_days": 60},
        "addresses": [document["addresses"][0] | {"lines": ["1 Peachtree St", "Suite 300"]}],
        "contact_points": [{"channel": "email", "value": f"orders-{unique.lower()}@acme.example"}],
    }
    (updated,) = await connector.upsert(
        "customer", [UpsertRequest(document["id"], outbound(catalog, "customer", changed), local_id=str(party))]
    )
    assert updated.ok
    assert updated.details == {"changed": True}
    (row,) = await client.read("party.party", [party], ["name", "customer_payment_term.name"])
    assert row["name"] == f"Acme Holdings {unique}"
    assert row["customer_payment_term."]["name"] == "N60"
    active = await client.search_read("party.address", [("party", "=", party)], ["street"])
    retired = await client.search_read(
        "party.address", [("party", "=", party), ("active", "=", False)], ["street"], context={"active_test": False}
    )
    assert [a["street"] for a in active] == ["1 Peachtree St\nSuite 300"]
    assert active[0]["id"] == before[0]  # edited in place, not deleted and re-added
    assert [a["street"] for a in retired] == ["9 Dock Rd"]  # sales may refer to it: retired, never deleted
    mechanisms = await client.search_read("party.contact_mechanism", [("party", "=", party)], ["type", "value"])
    assert sorted((m["type"], m["value"]) for m in mechanisms) == [
        ("email", f"orders-{unique.lower()}@acme.example"),
        ("skype", "acme.ops"),  # no canonical channel: left as Tryton has it
    ]
    assert skype in [m["id"] for m in mechanisms]


async def test_a_refused_record_fails_alone_and_the_rest_of_the_batch_is_written(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    good = customer(unique)
    unknown_terms = customer(unique + "X", payment_terms={"code": "N45", "net_days": 45})
    bad_tax_id = customer(unique + "Y", identifiers=[{"scheme": "ein", "value": "00-0000000"}])
    results = await connector.upsert(
        "customer",
        [
            UpsertRequest(unknown_terms["id"], outbound(catalog, "customer", unknown_terms)),
            UpsertRequest(bad_tax_id["id"], outbound(catalog, "customer", bad_tax_id)),
            UpsertRequest(good["id"], outbound(catalog, "customer", good)),
        ],
    )
    assert [r.ok for r in results] == [False, False, True]
    assert results[0].error is not None
    assert results[0].error.kind is ErrorKind.DATA_QUALITY
    assert "Tryton has no payment term 'N45'" in str(results[0].error)
    assert results[1].error is not None
    assert results[1].error.kind is ErrorKind.DATA_QUALITY
    assert "is not valid" in str(results[1].error)
    assert await parties_carrying(connector, unknown_terms["id"]) == []


async def test_a_cross_referenced_party_deleted_in_tryton_is_reported_not_recreated(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    document = customer(unique)
    (created,) = await connector.upsert(
        "customer", [UpsertRequest(document["id"], outbound(catalog, "customer", document))]
    )
    await connector.client.delete("party.party", [int(str(created.local_id))])
    (result,) = await connector.upsert(
        "customer",
        [UpsertRequest(document["id"], outbound(catalog, "customer", document), local_id=created.local_id)],
    )
    assert result.error is not None
    assert result.error.kind is ErrorKind.DATA_QUALITY
    assert "no longer exists in Tryton" in str(result.error)


async def test_an_item_is_created_then_updated_in_place(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    document = item(unique)
    (created,) = await connector.upsert("item", [UpsertRequest(document["id"], outbound(catalog, "item", document))])
    (repeat,) = await connector.upsert("item", [UpsertRequest(document["id"], outbound(catalog, "item", document))])
    assert created.created
    assert not repeat.created
    assert repeat.local_id == created.local_id
    assert repeat.details == {"changed": False}
    variant = int(str(created.local_id))
    changed = {
        **document,
        "description": f"Hex bolt {unique}",
        "category": "Safety",
        "sales_uom": "DZ",
        "packs": [{"uom": "DZ", "units": "12"}],
        "manufacturer": None,
    }
    (updated,) = await connector.upsert(
        "item", [UpsertRequest(document["id"], outbound(catalog, "item", changed), local_id=str(variant))]
    )
    assert updated.ok
    assert updated.details == {"changed": True}
    (product,) = await connector.client.read("product.product", [variant], ["code", "template"])
    (template,) = await connector.client.read(
        "product.template",
        [product["template"]],
        ["name", "categories", "account_category.name", "sale_uom.symbol", "default_uom.symbol", "list_price"],
    )
    identifiers = await connector.client.search_read(
        "product.identifier", [("product", "=", variant)], ["type", "code"]
    )
    safety = await connector.client.search("product.category", [("name", "=", "Safety")])
    assert product["code"] == f"FB-{unique}"
    assert template["name"] == f"Hex bolt {unique}"
    assert template["categories"] == safety
    assert template["account_category."]["name"] == "Goods"  # the configured default for items with no tax class
    assert (template["default_uom."]["symbol"], template["sale_uom."]["symbol"]) == ("u", "dz")
    assert template["list_price"] is None  # the canonical item carries no price: Tryton's is left alone
    assert sorted((i["type"] or "", i["code"]) for i in identifiers) == [
        ("", f"crossdock:{document['id']}"),
        ("mpn", f"M8-40-{unique}"),
    ]


async def test_a_discontinued_item_retires_its_variant_only(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    document = item(unique)
    (created,) = await connector.upsert("item", [UpsertRequest(document["id"], outbound(catalog, "item", document))])
    cursor = await connector.cursor_at_end("item")
    discontinued = {**document, "status": "discontinued"}
    (result,) = await connector.upsert(
        "item", [UpsertRequest(document["id"], outbound(catalog, "item", discontinued), local_id=created.local_id)]
    )
    assert result.ok
    variant = int(str(created.local_id))
    everything = {"active_test": False}
    (product,) = await connector.client.search_read(
        "product.product", [("id", "=", variant)], ["active", "template.active"], context=everything
    )
    assert not product["active"]
    assert product["template."]["active"]  # other SKUs of the template stay sellable
    batch = await connector.read_changes("item", cursor, 100)
    (record,) = [r for r in batch.records if r.local_id == str(variant)]
    assert catalog.get(SYSTEM, "item", "inbound").apply(record.payload)["status"] == "discontinued"
