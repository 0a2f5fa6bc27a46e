"""A merge carried into a real Tryton: the losing party made inactive with a note naming its replacement, never
deleted; an unmerge makes it active again. Its capture still sees it (deactivated records are changes too)."""

from __future__ import annotations

import pytest

from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.mapping.catalog import MappingCatalog
from crossdock.ports.connector import ConnectorError, UpsertRequest
from crossdock.ports.mdm import DuplicateRetirement, MergesDuplicates
from tests.integration.tryton.conftest import SYSTEM, customer

pytestmark = pytest.mark.tryton
ALL = {"active_test": False}


async def test_a_duplicate_party_is_retired_with_a_note_and_restored(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    assert isinstance(connector, MergesDuplicates)
    outbound = catalog.get(SYSTEM, "customer", "outbound")
    survivor, duplicate = customer(unique), customer(f"{unique}D", name=f"ACME SUPPLY {unique}")
    written = await connector.upsert(
        "customer", [UpsertRequest(d["id"], outbound.apply(d)) for d in (survivor, duplicate)]
    )
    kept, lost = (str(result.local_id) for result in written)
    cursor = await connector.cursor_at_end("customer")

    done = await connector.retire_duplicate(
        DuplicateRetirement("customer", lost, survivor["id"], kept, f"Merged into party {kept} by dana.")
    )
    assert done == f"deactivated, noted as replaced by party {kept}"
    client = connector.client
    [party] = await client.read("party.party", [int(lost)], ["active", "name"], context=ALL)
    assert not party["active"], "retired, not deleted"
    notes = await client.search_read("ir.note", [("resource", "=", f"party.party,{lost}")], ["message"])
    assert [n["message"] for n in notes] == [f"Merged into party {kept} by dana."]
    batch = await connector.read_changes("customer", cursor, 100)
    assert [(r.local_id, r.payload["active"]) for r in batch.records if r.local_id == lost] == [(lost, False)]

    # Retiring again (a repeated carry after a crash) changes nothing but the note trail.
    await connector.retire_duplicate(DuplicateRetirement("customer", lost, survivor["id"], kept, "again"))
    assert await connector.restore_duplicate("customer", lost, "unmerged by lee") == "reactivated"
    [party] = await client.read("party.party", [int(lost)], ["active"], context=ALL)
    assert party["active"]
    with pytest.raises(ConnectorError, match="not a Tryton party id"):
        await connector.retire_duplicate(DuplicateRetirement("customer", "P-1", survivor["id"], kept, "x"))
