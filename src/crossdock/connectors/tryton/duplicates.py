"""A merge carried into Tryton: the losing party is made inactive, with a note naming the party that replaces it.

Tryton's own `replaced_by` is read-only over RPC (only its Replace wizard sets it, and the wizard also moves every
sale, invoice and move of the party onto the other one, which is the ERP team's decision, not a side effect of a
merge in Crossdock). So the reference is a note (`ir.note`) on the party, which Tryton shows on the record; an
unmerge reactivates the party and adds a note saying so. Nothing is ever deleted.
"""

from __future__ import annotations

from crossdock.connectors.tryton.client import TrytonClient
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.mdm import DuplicateRetirement

PARTY = "party.party"
NOTE = "ir.note"
_ALL = {"active_test": False}  # the party may be inactive already


def _party_id(local_id: str) -> int:
    try:
        return int(local_id)
    except ValueError:
        raise ConnectorError(ErrorKind.DATA_QUALITY, f"{local_id!r} is not a Tryton party id") from None


async def _note(client: TrytonClient, party: int, message: str) -> None:
    await client.create(NOTE, [{"resource": f"{PARTY},{party}", "message": message}])


async def retire_party(client: TrytonClient, retirement: DuplicateRetirement) -> str:
    """Deactivate the losing party and note which party replaces it; say what was done."""
    if retirement.entity != "customer":
        raise ConnectorError(ErrorKind.CONFIGURATION, f"Tryton retires customers only, not {retirement.entity}")
    party = _party_id(retirement.local_id)
    found = await client.read(PARTY, [party], ["active"], context=_ALL)
    if not found:
        raise ConnectorError(ErrorKind.DATA_QUALITY, f"party {party} is not in Tryton any more; nothing to retire")
    survivor = f"party {retirement.survivor_local_id}" if retirement.survivor_local_id else "the surviving party"
    if found[0]["active"]:
        await client.write(PARTY, [party], {"active": False}, context=_ALL)
    await _note(client, party, retirement.note)
    return f"deactivated, noted as replaced by {survivor}"


async def restore_party(client: TrytonClient, local_id: str, note: str) -> str:
    """Reactivate a party a merge retired, and note why."""
    party = _party_id(local_id)
    await client.write(PARTY, [party], {"active": True}, context=_ALL)
    await _note(client, party, note)
    return "reactivated"
