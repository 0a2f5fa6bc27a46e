"""A merge carried into the Salesforce sandbox: the losing account is marked in its Description, never deleted;
an unmerge is noted on it too."""

from __future__ import annotations

import pytest

from crossdock.ports.connector import ConnectorError
from crossdock.ports.mdm import DuplicateRetirement, MergesDuplicates

from .conftest import Sandbox
from .test_salesforce_connector import customer, request


async def test_a_duplicate_account_is_marked_and_kept(sandbox: Sandbox) -> None:
    connector = sandbox.make_connector()
    assert isinstance(connector, MergesDuplicates)
    kept, lost = await connector.upsert("customer", [request(customer(1)), request(customer(2))])
    assert kept.local_id is not None
    assert lost.local_id is not None
    await connector.client.update_collection("Account", [{"Id": lost.local_id, "Description": "Buys for Dayton"}])
    note = f"Duplicate: merged into record {kept.local_id} (Crossdock customer cus_00001) by dana."
    done = await connector.retire_duplicate(
        DuplicateRetirement("customer", lost.local_id, "cus_00001", kept.local_id, note)
    )
    assert done == "marked merged in its description"
    [row] = await connector.client.query_all(f"SELECT Id, Description FROM Account WHERE Id = '{lost.local_id}'")
    assert row["Description"] == f"[Merged] {note}\nBuys for Dayton", "marked, and what it said is kept"
    assert await connector.restore_duplicate("customer", lost.local_id, "unmerged by lee") == "marked unmerged"
    [row] = await connector.client.query_all(f"SELECT Id, Description FROM Account WHERE Id = '{lost.local_id}'")
    assert row["Description"].startswith("[Unmerged] ")
    assert "[Merged]" in row["Description"]
    with pytest.raises(ConnectorError, match="not a Salesforce record id"):
        await connector.retire_duplicate(DuplicateRetirement("customer", "x' OR 1=1", "cus_1", None, "x"))
