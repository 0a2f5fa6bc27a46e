"""Change capture from a real Tryton: creates, updates and child-row changes seen once across overlapping polls."""

from __future__ import annotations

from datetime import datetime

import pytest

from crossdock.connectors.tryton.capture import Cursor, Position
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.mapping.catalog import MappingCatalog
from crossdock.ports.connector import ConnectorError, ErrorKind, SourceRecord, UpsertRequest
from tests.integration.tryton.conftest import SYSTEM, customer, item

pytestmark = pytest.mark.tryton


async def drain(
    connector: TrytonConnector, entity: str, cursor: str | None, limit: int = 500
) -> tuple[list[SourceRecord], str]:
    """Every change after `cursor`, polling until Tryton reports no more, and the cursor after them."""
    records: list[SourceRecord] = []
    while True:
        batch = await connector.read_changes(entity, cursor, limit)
        records.extend(batch.records)
        assert batch.next_cursor is not None
        if not batch.more:
            return records, batch.next_cursor
        cursor = batch.next_cursor


def of(records: list[SourceRecord], local_id: str) -> list[SourceRecord]:
    """The records about one local id."""
    return [record for record in records if record.local_id == local_id]


async def test_creates_updates_and_an_address_only_change_are_each_seen_once(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    cursor = await connector.cursor_at_end("customer")
    outbound = catalog.get(SYSTEM, "customer", "outbound")
    document = customer(unique)
    (created,) = await connector.upsert("customer", [UpsertRequest(document["id"], outbound.apply(document))])
    local = str(created.local_id)

    seen, cursor = await drain(connector, "customer", cursor)
    assert len(of(seen, local)) == 1
    first = of(seen, local)[0]
    assert first.payload["crossdock_id"] == document["id"]
    again, cursor = await drain(connector, "customer", cursor)  # inside the overlap window: read again, not emitted
    assert of(again, local) == []

    renamed = {**document, "name": f"Acme Renamed {unique}"}
    await connector.upsert("customer", [UpsertRequest(document["id"], outbound.apply(renamed), local_id=local)])
    seen, cursor = await drain(connector, "customer", cursor)
    assert [r.payload["name"] for r in of(seen, local)] == [f"Acme Renamed {unique}"]
    again, cursor = await drain(connector, "customer", cursor)
    assert of(again, local) == []

    # A change to an address alone leaves the party row untouched; its party must still surface, once.
    addresses = await connector.client.search("party.address", [("party", "=", int(local))])
    await connector.client.write("party.address", addresses[:1], {"city": "Savannah"})
    seen, cursor = await drain(connector, "customer", cursor)
    (changed,) = of(seen, local)
    assert changed.payload["addresses"][0]["city"] == "Savannah"
    assert changed.changed_at is not None
    assert first.changed_at is not None
    assert datetime.fromisoformat(changed.changed_at) > datetime.fromisoformat(first.changed_at)
    again, cursor = await drain(connector, "customer", cursor)
    assert of(again, local) == []

    await connector.client.create(
        "party.contact_mechanism", [{"party": int(local), "type": "skype", "value": f"acme-{unique}"}]
    )
    seen, cursor = await drain(connector, "customer", cursor)
    assert len(of(seen, local)) == 1


async def test_pages_inside_one_transaction_neither_repeat_nor_skip(connector: TrytonConnector, unique: str) -> None:
    cursor = await connector.cursor_at_end("customer")
    # One create call is one transaction: every row carries the same last_modified_at.
    ids = await connector.client.create("party.party", [{"name": f"Bulk {unique} {n}"} for n in range(7)])
    seen, _ = await drain(connector, "customer", cursor, limit=2)
    assert sorted(int(r.local_id) for r in seen if int(r.local_id) in ids) == sorted(ids)
    assert len({r.local_id for r in seen}) == len(seen)


async def test_a_change_that_commits_late_is_caught_by_the_look_back(connector: TrytonConnector, unique: str) -> None:
    cursor = await connector.cursor_at_end("customer")
    (party,) = await connector.client.create("party.party", [{"name": f"Late {unique}"}])
    (row,) = await connector.client.read("party.party", [party], ["last_modified_at"])
    # As if the forward scan had already passed this row's timestamp before its transaction committed.
    state = Cursor.parse(cursor)
    state.positions["party.party"] = Position(
        row["last_modified_at"], party + 1000, state.positions["party.party"].seen
    )
    seen, cursor = await drain(connector, "customer", state.dump())
    assert [r.local_id for r in seen] == [str(party)]
    again, _ = await drain(connector, "customer", cursor)
    assert of(again, str(party)) == []


async def test_a_template_change_surfaces_its_variant(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    cursor = await connector.cursor_at_end("item")
    document = item(unique)
    outbound = catalog.get(SYSTEM, "item", "outbound")
    (created,) = await connector.upsert("item", [UpsertRequest(document["id"], outbound.apply(document))])
    seen, cursor = await drain(connector, "item", cursor)
    assert len(of(seen, str(created.local_id))) == 1
    (variant,) = await connector.client.read("product.product", [int(str(created.local_id))], ["template"])
    await connector.client.write("product.template", [variant["template"]], {"name": f"Hex bolt {unique}"})
    seen, cursor = await drain(connector, "item", cursor)
    assert [r.payload["name"] for r in of(seen, str(created.local_id))] == [f"Hex bolt {unique}"]
    again, _ = await drain(connector, "item", cursor)
    assert of(again, str(created.local_id)) == []


async def test_a_foreign_cursor_or_an_unknown_entity_is_a_configuration_error(connector: TrytonConnector) -> None:
    with pytest.raises(ConnectorError) as bad_cursor:
        await connector.read_changes("customer", "12345", 10)
    assert bad_cursor.value.kind is ErrorKind.CONFIGURATION
    assert "reset the flow's cursor" in str(bad_cursor.value)
    with pytest.raises(ConnectorError) as unknown:
        await connector.read_changes("invoice", None, 10)
    assert unknown.value.kind is ErrorKind.CONFIGURATION
    assert "it knows customer, item" in str(unknown.value)


async def test_no_cursor_reads_from_the_beginning_and_the_end_cursor_from_now(
    connector: TrytonConnector, unique: str
) -> None:
    (party,) = await connector.client.create("party.party", [{"name": f"Old {unique}"}])
    everything, _ = await drain(connector, "customer", None)
    assert len(of(everything, str(party))) == 1
    from_now, _ = await drain(connector, "customer", await connector.cursor_at_end("customer"))
    assert of(from_now, str(party)) == []
