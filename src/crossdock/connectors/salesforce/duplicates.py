"""A merge carried into Salesforce: the losing account is marked, never deleted.

Salesforce's own merge (SOAP `merge`, Apex `Database.merge`) deletes the losing account after moving its children,
which Crossdock never does on its own. The account keeps everything; its Description starts with a line saying it
was merged into which account, so a sales rep opening it knows to use the other. An unmerge adds a line saying so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crossdock.connectors.salesforce.client import SalesforceClient
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.mdm import DuplicateRetirement

MERGED = "[Merged]"
UNMERGED = "[Unmerged]"
_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _account_id(local_id: str) -> str:
    if len(local_id) not in (15, 18) or not set(local_id) <= _ID:
        raise ConnectorError(ErrorKind.DATA_QUALITY, f"{local_id!r} is not a Salesforce record id")
    return local_id


async def _describe(client: SalesforceClient, sobject: str, account: str, line: str) -> None:
    # The id was checked to be 15 or 18 letters and digits: nothing else can reach the query.
    soql = f"SELECT Id, Description FROM {sobject} WHERE Id = '{account}'"  # noqa: S608
    rows = await client.query_all(soql)
    if not rows:
        raise ConnectorError(ErrorKind.DATA_QUALITY, f"{sobject} {account} is not in Salesforce any more")
    before = rows[0].get("Description") or ""
    [result] = await client.update_collection(sobject, [{"Id": account, "Description": f"{line}\n{before}".strip()}])
    if not result.success:
        messages = "; ".join(str(e.get("message")) for e in result.errors) or "refused"
        raise ConnectorError(ErrorKind.DATA_QUALITY, f"{sobject} {account} was not marked: {messages}")


async def mark_merged(client: SalesforceClient, sobject: str, retirement: DuplicateRetirement) -> str:
    """Mark the losing account's Description with the merge; say what was done."""
    account = _account_id(retirement.local_id)
    await _describe(client, sobject, account, f"{MERGED} {retirement.note}")
    return "marked merged in its description"


async def mark_unmerged(client: SalesforceClient, sobject: str, local_id: str, note: str) -> str:
    """Note on the account that its merge was undone."""
    account = _account_id(local_id)
    await _describe(client, sobject, account, f"{UNMERGED} {datetime.now(UTC):%Y-%m-%d}: {note}")
    return "marked unmerged"
