"""Purchase orders out: a `purchase_order.issued` for an EDI supplier becomes an 850 in its mailbox.

The 850 is written once per purchase order: its control numbers are taken and the exact file is journaled in one
store transaction before it is sent, so a resend (a crash after the send, a replay of the log) sends the same
bytes with the same control numbers, and a partner never sees a number twice or a gap. The purchase order's number
is cross-referenced to its canonical id under the partner's system name; that is how the supplier's 855, 856 and
810, which quote the number, find the order they answer. The ids the order names in other systems (the ERP's
purchase id) are cross-referenced with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from crossdock.edi.x12 import X12Error, X12Writer
from crossdock.edi.x12.maps import purchase_order_to_x12
from crossdock.events.envelope import event_type
from crossdock.model.purchasing import PurchaseOrder
from crossdock.partners.control_numbers import StoreControlNumbers
from crossdock.partners.profiles import PartnerProfile
from crossdock.ports.event_log import EventLog, LoggedEvent
from crossdock.ports.partners import DocumentDirection, PartnerDocument, PartnerMailbox
from crossdock.ports.store import CrossReference, LineageEntry, Store

logger = logging.getLogger(__name__)

GROUP = "partners.outbound"
PURCHASE_ORDER_ISSUED = event_type("purchase_order", "issued")
PO_ENTITY = "purchase_order"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RETRY_S = 60.0  # a mailbox that is down: try again in a minute, for as long as it takes (the PO waits in order)
_MAX_ATTEMPTS = 10_000


class DuplicatePurchaseOrderNumberError(ValueError):
    """Two purchase orders to one supplier share a number: an 850 could not say which one an answer is for."""


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """An outbound file, journaled and ready to send."""

    file_name: str
    payload: bytes


class PurchaseOrderSender:
    """Reads `purchase_order.issued` and sends an 850 to each EDI supplier's mailbox."""

    def __init__(
        self,
        log: EventLog,
        store: Store,
        suppliers: Mapping[str, PartnerProfile],  # by the supplier's canonical id
        mailboxes: Mapping[str, PartnerMailbox],  # by partner name
        *,
        consumer: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._log = log
        self._store = store
        self._suppliers = suppliers
        self._mailboxes = mailboxes
        self._consumer = consumer
        self._clock = clock

    async def run_once(self, wait_s: float = 0.05) -> int:
        """Send what was issued since the last pass; return how many 850s went out."""
        batch = await self._log.fetch(GROUP, self._consumer, max_events=100, wait_s=wait_s)
        sent = 0
        handled: list[LoggedEvent] = []
        stopped: set[int] = set()
        for logged in batch:
            if logged.partition in stopped:
                continue
            if logged.event.type != PURCHASE_ORDER_ISSUED:
                handled.append(logged)
                continue
            try:
                sent += await self._send(logged)
            except (ValidationError, DuplicatePurchaseOrderNumberError, X12Error) as refused:
                await self._log.dead_letter(GROUP, self._consumer, logged, error=f"no 850 can be made: {refused}")
                continue
            except Exception as error:  # noqa: BLE001 - the mailbox or the store is down: keep the PO, retry later
                logger.warning("850 for event %s not sent yet: %s", logged.event.id, error)
                stopped.add(logged.partition)  # later POs of this partition wait behind it, in order
                await self._log.nack(
                    GROUP, self._consumer, logged, error=str(error), retry_in_s=_RETRY_S, max_attempts=_MAX_ATTEMPTS
                )
                continue
            handled.append(logged)
        if handled:
            await self._log.ack(GROUP, self._consumer, handled)
        return sent

    async def _send(self, logged: LoggedEvent) -> int:
        order = PurchaseOrder.model_validate(logged.event.data)
        profile = self._suppliers.get(order.supplier_id)
        if profile is None:
            return 0  # not an EDI supplier: e-mail or a portal, outside this flow
        document = await asyncio.to_thread(self._prepare, profile, order, logged.event.id)
        await self._mailboxes[profile.name].send(document.file_name, document.payload)
        logger.info("850 for PO %s sent to %s as %s", order.number, profile.name, document.file_name)
        return 1

    def _prepare(self, profile: PartnerProfile, order: PurchaseOrder, event_id: str) -> PreparedDocument:
        """The 850 as journaled: made now with new control numbers, or as it was made the first time."""
        with self._store.unit_of_work() as uow:
            known = uow.xrefs.find_canonical(PO_ENTITY, profile.system, order.number)
            if known is not None and known.canonical_id != order.id:
                raise DuplicatePurchaseOrderNumberError(
                    f"purchase orders {known.canonical_id} and {order.id} both have number {order.number} for "
                    f"{profile.name}; give the second a number of its own in the ERP and issue it again"
                )
            for sent in uow.partners.find(profile.name, DocumentDirection.OUTBOUND, "850", order.number):
                if sent.payload is not None and sent.file_name is not None:
                    return PreparedDocument(sent.file_name, sent.payload)  # resent exactly as first sent
            writer = X12Writer(
                profile.outbound_parties(),
                StoreControlNumbers(uow),
                delimiters=profile.delimiters,
                version=profile.version,
                usage=profile.usage,
                clock=self._clock,
            )
            payload = writer.write(purchase_order_to_x12(order, profile.codes()))
            digest = hashlib.sha256(payload).hexdigest()[:8]
            file_name = f"850_{_UNSAFE.sub('_', order.number)}_{digest}.edi"
            now = self._clock()
            uow.partners.record(
                PartnerDocument(
                    partner=profile.name,
                    direction=DocumentDirection.OUTBOUND,
                    kind="850",
                    reference=order.number,
                    file_name=file_name,
                    event_id=event_id,
                    payload=payload,
                    at=now,
                )
            )
            uow.xrefs.link(CrossReference(PO_ENTITY, order.id, profile.system, order.number))
            for ref in order.external_refs:
                # The ERP's own id of the purchase: how the supplier's 810 finds the purchase it bills.
                uow.xrefs.link(CrossReference(PO_ENTITY, order.id, ref.system, ref.local_id))
            uow.lineage.record(
                [
                    LineageEntry(
                        correlation_id=order.sales_order_id or order.id,
                        system=profile.system,
                        step="850 sent",
                        outcome="sent",
                        subject=order.id,
                        event_id=event_id,
                        business_keys={"po": order.number},
                        detail={"file": file_name, "partner": profile.name},
                        started_at=now,
                    )
                ]
            )
            uow.commit()
        return PreparedDocument(file_name, payload)
