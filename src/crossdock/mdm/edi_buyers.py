"""The buyer an EDI partner's 850 names (its N1*BY loop), matched against golden customers before its order is
logged: the same buyer spelt another way is the customer we have, not a new account.

For each order in a partner's file whose 850 names a buyer:
- a buyer the gate knows or links with confidence: the order is for that golden customer;
- a likely duplicate: a stewardship case holds the buyer's creation and the order, and neither is logged until a
  steward decides (merged: the order is logged for the existing customer; kept apart: the buyer is created first);
- a new buyer: `customer.created` is logged from the partner's system (`edi-<partner>`; a flow of that source
  delivers it to the ERP) and it becomes a golden record; the order is for it.

An 850 without a BY loop keeps the partner's own account as its customer, as before.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from crossdock.edi.x12 import TransactionSet
from crossdock.edi.x12.maps.common import read_party, value
from crossdock.edi.x12.maps.context import X12Context
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.mdm.model import CustomerRecord
from crossdock.mdm.normalize import company_words
from crossdock.mdm.online import Admission, Arrival, CustomerGate, GateAnswer
from crossdock.mdm.release import EventsRelease, HeldEvents, Outcome
from crossdock.model.party import Customer
from crossdock.ports.store import Store

_NAMESPACE = uuid.UUID("9d3e6b1a-4c2f-4f7e-8a5d-1b6c0e9f2a47")
ORDER_SUBMITTED = event_type("order", "submitted")
CUSTOMER_CREATED = event_type("customer", "created")
# N104 qualifiers that name a buyer by a registry number rather than the partner's own code.
_REGISTRIES = {"1": "duns", "9": "duns", "UL": "gln"}


def _system_source(system: str) -> str:
    return f"/systems/{system}"


@dataclass(frozen=True, slots=True)
class Buyer:
    """An 850's buyer: its id in the partner's system, flattened for matching, and as a canonical customer."""

    po_number: str
    local_id: str
    record: CustomerRecord
    document: dict[str, Any]


def provisional_id(system: str, local_id: str) -> str:
    """The canonical id a new buyer gets: the same whenever the same partner names it the same way."""
    return str(uuid.uuid5(_NAMESPACE, f"customer|{system}|{local_id}"))


def buyer_of(transaction: TransactionSet, context: X12Context) -> Buyer | None:
    """The buyer an 850 names in its header's N1*BY loop, or None (no loop, no name, or not a valid customer)."""
    segments = transaction.segments
    beg = next((s for s in segments if s[0] == "BEG"), None)
    if beg is None:
        return None
    index = 1
    while index < len(segments) and segments[index][0] != "PO1":
        if segments[index][0] != "N1":
            index += 1
            continue
        party, index = read_party(segments, index, transaction.position)
        if party.entity != "BY" or not party.name:
            continue
        country = party.country or context.country
        postal = party.postal_code or ""
        if party.id_code:
            local_id = f"{party.id_qualifier or 'ZZ'}:{party.id_code}"
        else:
            local_id = f"name:{' '.join(company_words(party.name))}|{country}:{postal[:5]}"
        street = " ".join(party.lines) or None
        record = CustomerRecord(
            record_id=f"{context.system}:{local_id}",
            system=context.system,
            name=party.name,
            street=street,
            city=party.city or None,
            region=party.region or None,
            postal_code=postal or None,
            country=country,
        )
        document = _customer_document(party, country, context, local_id)
        if document is None:
            return None
        return Buyer(value(beg, 3), local_id, record, document)
    return None


def _customer_document(party: Any, country: str, context: X12Context, local_id: str) -> dict[str, Any] | None:
    identifiers = []
    scheme = _REGISTRIES.get(party.id_qualifier)
    if scheme is not None and party.id_code:
        identifiers.append({"scheme": scheme, "value": party.id_code})
    addresses = []
    if party.lines and party.city:
        postal = party.postal_code or None
        if postal and country == "US" and len(postal) == 9 and postal.isdigit():
            postal = f"{postal[:5]}-{postal[5:]}"
        addresses.append(
            {
                "kind": "bill_to",
                "country": country,
                "lines": party.lines[:5],
                "city": party.city,
                "region": party.region or None,
                "postal_code": postal,
                "is_default": True,
            }
        )
    canonical_id = provisional_id(context.system, local_id)
    try:
        customer = Customer.model_validate(
            {
                "id": canonical_id,
                "number": f"EDI-{canonical_id[:8].upper()}",
                "name": party.name,
                "roles": ["sold_to", "bill_to", "ship_to"],
                "currency": context.currency,
                "channel": "edi",
                "identifiers": identifiers,
                "addresses": addresses,
            }
        )
    except ValidationError:
        return None  # a buyer we cannot describe as a customer: the order keeps the partner's account
    return customer.model_dump(mode="json", exclude_none=True)


class BuyerScreen:
    """Resolves the buyers of a partner file's orders through the customer gate; holds orders of doubtful buyers."""

    def __init__(self, store: Store, gate: CustomerGate, release: EventsRelease) -> None:
        self._store = store
        self._gate = gate
        self._release = release

    async def screen(
        self, sets: Sequence[TransactionSet], events: Sequence[CloudEvent], context: X12Context
    ) -> list[CloudEvent]:
        """The events to log: orders re-pointed at their buyer's golden customer, held orders left out."""
        buyers: dict[str, Buyer] = {}
        for transaction in sets:
            if transaction.set_id == "850":
                buyer = buyer_of(transaction, context)
                if buyer is not None:
                    buyers[buyer.po_number] = buyer
        if not buyers:
            return list(events)
        kept: list[CloudEvent] = []
        for event in events:
            buyer = buyers.get(str(event.data.get("customer_po") or "")) if event.type == ORDER_SUBMITTED else None
            if buyer is None:
                kept.append(event)
                continue
            customer_id = await self._customer_for(buyer, event, context.system)
            if customer_id is not None:
                kept.append(event.with_data({**event.data, "customer_id": customer_id}))
        return kept

    async def _customer_for(self, buyer: Buyer, order: CloudEvent, system: str) -> str | None:
        """The order's customer id, or None when the order is held with its buyer."""
        new_id = provisional_id(system, buyer.local_id)
        held = HeldEvents(
            system=system,
            local_id=buyer.local_id,
            provisional_id=new_id,
            created=CloudEvent(
                type=CUSTOMER_CREATED,
                source=_system_source(system),
                subject=new_id,
                data=buyer.document,
                id=str(uuid.uuid5(_NAMESPACE, f"created|{system}|{buyer.local_id}")),
                correlationid=order.correlationid,
                businesskeys={f"{system}_id": buyer.local_id, "customer": str(buyer.document.get("number", ""))},
            ),
            events=(order,),
        )
        answer = await asyncio.to_thread(self._admit, buyer, held)
        if answer.admission in (Admission.KNOWN, Admission.LINKED):
            return answer.canonical_id
        if answer.admission is Admission.HELD:
            return None
        await self._release.let_through(replace(held, events=()), Outcome.NEW, new_id)
        return new_id

    def _admit(self, buyer: Buyer, held: HeldEvents) -> GateAnswer:
        arrival = Arrival(held.system, buyer.local_id, buyer.record, buyer.document)
        with self._store.unit_of_work() as uow:
            answer = self._gate.screen(uow, arrival)
            if answer.admission is Admission.HELD and answer.case is not None and answer.case.id is not None:
                # The buyer is waiting for a steward already: its new order waits with it.
                waiting = HeldEvents.from_json(answer.case.held) if answer.case.held else held
                for event in held.events:
                    waiting = waiting.with_event(event)
                uow.mdm.hold(answer.case.id, waiting.to_json())
            else:
                answer = self._gate.admit(uow, arrival, held=held.to_json(), link=True)
            uow.commit()
        return answer
