"""Order intake: submitted orders from the log start quote-to-order; partner answers wake the processes waiting.

One consumer group reads `order.submitted` (from the CRM's capture today; the API and EDI publish the same event)
and a drop-ship supplier's answers, `po_acknowledgement.received` (855) and `ship_notice.received` (856), which become
signals for the purchase order's process. Starting is idempotent twice over:
one live process per order number, and the ERP sale is found again by its reference; so the same order submitted
twice (a double click, a replayed CDC event) gives one process and one ERP sale.

An event that cannot be read as an order is dead-lettered with the reason (the console shows its raw payload);
an event whose order is not yet cross-referenced to the CRM still starts the process, without CRM updates.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from crossdock.events.envelope import event_type
from crossdock.model.purchasing import PoAcknowledgement
from crossdock.model.sales import SalesOrder
from crossdock.model.ship_notice import ShipNotice
from crossdock.observability import tracing
from crossdock.orders.drop_ship import SHIP_NOTICE as SHIP_NOTICE_KIND
from crossdock.orders.drop_ship import acknowledgement_signal
from crossdock.orders.quote_to_order import NAME, SHIP_NOTICE, process_input
from crossdock.ports.event_log import EventLog, LoggedEvent
from crossdock.ports.store import Store
from crossdock.process import ProcessEngine
from crossdock.sync.flow import system_source

logger = logging.getLogger(__name__)

GROUP = "orders.intake"
# The capture logs an order before it commits the order's cross-reference; a few seconds covers that gap.
_XREF_WAIT_S = 2.0
_XREF_ATTEMPTS = 10
ORDER_SUBMITTED = event_type("order", "submitted")
PO_ACKNOWLEDGEMENT = event_type("po_acknowledgement", "received")
PROCESS_KEY = "process"  # the business key naming the process instance an order's submitter was promised


@dataclass
class IntakeReport:
    """What one pass did."""

    fetched: int = 0
    started: int = 0
    signals: int = 0
    refused: int = 0


class OrderIntake:
    """Reads the log for submitted orders and partner answers; starts and wakes processes."""

    def __init__(
        self, log: EventLog, engine: ProcessEngine, store: Store, *, consumer: str, crm_system: str | None
    ) -> None:
        self._log = log
        self._engine = engine
        self._store = store
        self._consumer = consumer
        self._crm_system = crm_system

    async def run_once(self, wait_s: float = 0.2) -> IntakeReport:
        """Handle one batch from the log; acknowledged only after every process start is durable.

        Per partition, the first event that must wait (its CRM cross-reference is not committed yet) is put back
        and the partition stops there, so orders about one subject keep their order.
        """
        report = IntakeReport()
        batch = await self._log.fetch(GROUP, self._consumer, max_events=200, wait_s=wait_s)
        report.fetched = len(batch)
        handled: list[LoggedEvent] = []
        stopped: set[int] = set()
        for logged in batch:
            if logged.partition in stopped:
                continue
            try:
                if logged.event.type == ORDER_SUBMITTED:
                    with tracing.consuming(logged.event, f"{GROUP} {ORDER_SUBMITTED}"):
                        started = await self._start(logged)
                    if not started:
                        stopped.add(logged.partition)
                        await self._log.nack(
                            GROUP,
                            self._consumer,
                            logged,
                            error="the CRM order's cross-reference is not committed yet",
                            retry_in_s=_XREF_WAIT_S,
                            max_attempts=_XREF_ATTEMPTS,
                        )
                        continue
                    report.started += 1
                elif logged.event.type == SHIP_NOTICE:
                    report.signals += await self._ship_notice(logged)
                elif logged.event.type == PO_ACKNOWLEDGEMENT:
                    report.signals += await self._acknowledgement(logged)
            except (ValidationError, ValueError, KeyError) as exc:
                report.refused += 1
                await self._log.dead_letter(GROUP, self._consumer, logged, error=f"not a usable order event: {exc}")
                continue
            handled.append(logged)
        if handled:
            await self._log.ack(GROUP, self._consumer, handled)
        return report

    async def _start(self, logged: LoggedEvent) -> bool:
        """Start (or find) the order's process; False when it must wait for the CRM cross-reference."""
        order = SalesOrder.model_validate(logged.event.data)
        if order.ship_to is None:
            raise ValueError(f"order {order.number} has no ship-to address; add one in the system it came from")
        crm_order_id = await asyncio.to_thread(self._crm_order_id, order)
        from_crm = self._crm_system is not None and logged.event.source == system_source(self._crm_system)
        if from_crm and crm_order_id is None and logged.attempt < _XREF_ATTEMPTS:
            return False
        instance = await self._engine.start_async(
            NAME,
            business_key=order.number,
            input=process_input(
                order, crm_system=self._crm_system, crm_order_id=crm_order_id, partner_id=logged.event.partnerid
            ),
            correlation_id=logged.event.correlationid or logged.event.id,
            # An API answered its caller with the process id before the process existed; keep that promise.
            instance_id=(logged.event.businesskeys or {}).get(PROCESS_KEY),
        )
        logger.info("order %s: quote-to-order process %s", order.number, instance)
        return True

    def _crm_order_id(self, order: SalesOrder) -> str | None:
        """The CRM's id of the order: carried on the order, else its cross-reference."""
        if self._crm_system is None:
            return None
        carried = order.ref(self._crm_system)
        if carried is not None:
            return carried
        with self._store.unit_of_work(read_only=True) as uow:
            ref = uow.xrefs.find_local("order", order.id, self._crm_system)
        return None if ref is None else ref.local_id

    async def _ship_notice(self, logged: LoggedEvent) -> int:
        notice = ShipNotice.model_validate(logged.event.data)
        for order in notice.orders:
            lines: list[dict[str, Any]] = [
                {"sku": item.sku, "quantity": item.quantity.model_dump(mode="json")}
                for item in order.all_items()
                if item.sku
            ]
            await self._engine.deliver(
                event_type=SHIP_NOTICE,
                # The canonical PO id when the partner mapping resolved it, else the number as the supplier sent it.
                correlation_key=order.purchase_order_id or order.po_number,
                payload={
                    "kind": SHIP_NOTICE_KIND,
                    "notice": notice.number,
                    "tracking": notice.tracking_number,
                    "lines": lines,
                },
                event_id=f"{logged.event.id}:{order.po_number}",
            )
        return len(notice.orders)

    async def _acknowledgement(self, logged: LoggedEvent) -> int:
        """A supplier's 855, for the drop-ship purchase it answers (one signal type with its 856s, in order)."""
        ack = PoAcknowledgement.model_validate(logged.event.data)
        await self._engine.deliver(
            event_type=SHIP_NOTICE,
            correlation_key=ack.purchase_order_id or ack.po_number,
            payload=acknowledgement_signal(ack),
            event_id=f"{logged.event.id}:ack",
        )
        return 1
