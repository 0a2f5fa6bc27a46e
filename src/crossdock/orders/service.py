"""The order service a worker runs: intake from the log, due processes, the outbox relay, and suppliers' invoices
booked in the ERP, one pass at a time."""

from __future__ import annotations

from crossdock.orders.intake import OrderIntake
from crossdock.orders.supplier_invoices import SupplierInvoiceBooking
from crossdock.ports.event_log import EventLog
from crossdock.process import ProcessEngine

RUN_LIMIT = 64  # processes claimed per pass
CONCURRENCY = 16  # processes in flight at once: ERP calls overlap, the ERP is not flooded


class OrderService:
    """Starts processes for submitted orders, runs what is due, and publishes what processes emitted."""

    name = "orders"

    def __init__(
        self,
        intake: OrderIntake,
        engine: ProcessEngine,
        log: EventLog,
        supplier_invoices: SupplierInvoiceBooking | None = None,
    ) -> None:
        self.intake = intake
        self.engine = engine
        self.supplier_invoices = supplier_invoices
        self._log = log

    async def run_once(self) -> int:
        """One pass; how many events, processes and outbox entries it handled."""
        report = await self.intake.run_once(wait_s=0.05)
        ran = await self.engine.run_due(limit=RUN_LIMIT, concurrency=CONCURRENCY)
        published = await self.engine.publish_outbox(self._log)
        booked = await self.supplier_invoices.run_once() if self.supplier_invoices is not None else 0
        return report.fetched + ran + published + booked
