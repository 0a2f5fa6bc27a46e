"""Supplier invoices into the ERP: a supplier's 810 (`invoice.received`) is checked against its purchase order and
booked as the supplier invoice of the ERP's purchase, or raised for payables when the amounts do not agree.

The purchase is found through the PO's cross-references: the partner flow resolved the PO number the 810 quotes to
our PO's canonical id (`order_ids`), and recorded the ERP's purchase id beside it when the 850 went out. The ERP drafts
a supplier invoice for what was received (Tryton: purchases invoiced on fulfilment); the 810 must agree with it and
with the PO before it is posted under the supplier's invoice number:

- every line's SKU is on the PO and its unit price is the PO's unit cost (to the cent);
- per SKU, the quantity billed is the quantity received and not yet invoiced (the ERP's draft);
- the 810's total is the draft's total (charges and taxes the ERP does not expect show up here).

A mismatch posts nothing: the draft stays as it is and an exception for `payables` lists every difference, with the
810 in it; a corrected 810 (usually under a new number) is booked in its place. The number is the idempotency key:
an 810 whose number is already on a posted invoice of the purchase changes nothing. An 810 that arrives before the
goods (no draft yet: its 856 is still being processed) waits and is tried again, for up to a day.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import ValidationError

from crossdock.events.envelope import event_type
from crossdock.model.billing import Invoice, InvoiceKind
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.event_log import EventLog, LoggedEvent
from crossdock.ports.orders import ErpInvoice, ErpPurchase, OrderDesk
from crossdock.ports.store import BusinessException, ExceptionClass, LineageEntry, Store

logger = logging.getLogger(__name__)

GROUP = "orders.supplier_invoices"
INVOICE_RECEIVED = event_type("invoice", "received")
OWNER_QUEUE = "payables"
PO_ENTITY = "purchase_order"  # the entity PO cross-references are kept under (by the partner flow)
CENT = Decimal("0.01")
_WAIT_S = 60.0  # an 810 ahead of its goods (its 856 is being processed): look again in a minute
_WAIT_ATTEMPTS = 1440  # for a day, then it is raised for payables
_OUTAGE_RETRY_S = 60.0
_DRAFT_STATES = ("draft", "validated")


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What became of one 810: booked, raised for a person, or waiting for its goods."""

    kind: str  # booked, raised, waiting
    detail: str = ""


class SupplierInvoiceBooking:
    """Reads `invoice.received` and books each supplier invoice against its purchase in the ERP."""

    name = "supplier-invoices"

    def __init__(
        self, log: EventLog, store: Store, erp: OrderDesk, *, consumer: str, goods_wait_s: float = _WAIT_S
    ) -> None:
        self._log = log
        self._store = store
        self._erp = erp
        self._consumer = consumer
        self._goods_wait_s = goods_wait_s  # how long an 810 ahead of its goods waits before it is tried again

    async def run_once(self, wait_s: float = 0.05) -> int:
        """Book what arrived since the last pass; return how many 810s were booked or raised."""
        batch = await self._log.fetch(GROUP, self._consumer, max_events=100, wait_s=wait_s)
        done = 0
        handled: list[LoggedEvent] = []
        stopped: set[int] = set()
        for logged in batch:
            if logged.partition in stopped:
                continue
            if logged.event.type != INVOICE_RECEIVED or not logged.event.source.startswith("/partners"):
                handled.append(logged)
                continue
            try:
                outcome = await self._book(logged)
            except ValidationError as error:
                await self._log.dead_letter(GROUP, self._consumer, logged, error=f"not a supplier invoice: {error}")
                continue
            except ConnectorError as error:
                if error.kind in (ErrorKind.DATA_QUALITY, ErrorKind.CONFIGURATION):
                    await asyncio.to_thread(self._raise_refusal, logged, str(error))
                    handled.append(logged)
                    done += 1
                    continue
                # The ERP is down: the invoice waits, and so do later ones of its partition, in order.
                stopped.add(logged.partition)
                await self._log.nack(
                    GROUP,
                    self._consumer,
                    logged,
                    error=str(error),
                    retry_in_s=error.retry_after_s or _OUTAGE_RETRY_S,
                    max_attempts=_WAIT_ATTEMPTS,
                    count_attempt=False,
                )
                continue
            if outcome.kind == "waiting":
                stopped.add(logged.partition)
                await self._log.nack(
                    GROUP,
                    self._consumer,
                    logged,
                    error=outcome.detail,
                    retry_in_s=self._goods_wait_s,
                    max_attempts=_WAIT_ATTEMPTS,
                )
                continue
            handled.append(logged)
            done += 1
        if handled:
            await self._log.ack(GROUP, self._consumer, handled)
        return done

    async def _book(self, logged: LoggedEvent) -> _Outcome:
        invoice = Invoice.model_validate(logged.event.data)
        if invoice.kind is InvoiceKind.CREDIT_NOTE:
            return await self._raised(logged, invoice, ["it is a credit note; book it against its invoice by hand"])
        purchase_id = await asyncio.to_thread(self._purchase_id, invoice)
        if purchase_id is None:
            return await self._raised(
                logged,
                invoice,
                [
                    f"no purchase in {self._erp.system} is known for PO {invoice.customer_po or '(none quoted)'}; "
                    "check the PO number with the supplier"
                ],
            )
        purchase = await self._erp.read_purchase(purchase_id)
        booked = [i for i in purchase.invoices if i.reference == invoice.number and i.state in ("posted", "paid")]
        if booked:
            return _Outcome("booked", "already posted")  # the same 810 again: nothing changes
        drafts = [i for i in purchase.invoices if i.state in _DRAFT_STATES and i.reference in (None, invoice.number)]
        differences = po_differences(invoice, purchase)
        draft = _matching_draft(invoice, drafts)
        if draft is None and not differences:
            if logged.attempt < _WAIT_ATTEMPTS:
                return _Outcome("waiting", f"{self._erp.system} has not invoiced the receipt of PO {purchase.number}")
            differences = [f"{self._erp.system} has no draft supplier invoice for the goods received on the PO"]
        if draft is not None:
            differences += receipt_differences(invoice, draft)
        if differences:
            return await self._raised(logged, invoice, differences, purchase=purchase)
        assert draft is not None
        posted = await self._erp.post_supplier_invoice(
            purchase.purchase_id, draft.invoice_id, reference=invoice.number, invoice_date=invoice.invoice_date
        )
        await asyncio.to_thread(self._record, logged, invoice, purchase, posted)
        logger.info("supplier invoice %s booked on purchase %s", invoice.number, purchase.number)
        return _Outcome("booked")

    def _purchase_id(self, invoice: Invoice) -> str | None:
        with self._store.unit_of_work(read_only=True) as uow:
            for po_id in invoice.order_ids:
                ref = uow.xrefs.find_local(PO_ENTITY, po_id, self._erp.system)
                if ref is not None:
                    return ref.local_id
        return None

    async def _raised(
        self, logged: LoggedEvent, invoice: Invoice, differences: Sequence[str], *, purchase: ErpPurchase | None = None
    ) -> _Outcome:
        po = purchase.number if purchase is not None else invoice.customer_po
        reason = (
            f"supplier invoice {invoice.number} for PO {po or '(none)'} was not booked: {'; '.join(differences)}; "
            "settle it with the supplier (a corrected 810 is booked by itself) or book it by hand"
        )
        await asyncio.to_thread(self._raise, logged, invoice, reason, list(differences), po)
        return _Outcome("raised", reason)

    def _raise(
        self, logged: LoggedEvent, invoice: Invoice, reason: str, differences: list[str], po: str | None
    ) -> None:
        with self._store.unit_of_work() as uow:
            uow.exceptions.raise_exception(
                BusinessException(
                    exception_class=ExceptionClass.DATA_QUALITY,
                    reason=reason,
                    owner_queue=OWNER_QUEUE,
                    system=self._erp.system,
                    entity="supplier_invoice",
                    subject=invoice.number,
                    event_id=logged.event.id,
                    correlation_id=logged.event.correlationid,
                    raw_payload=json.dumps(logged.event.data, sort_keys=True),
                    details={"po": po, "supplier": logged.event.partnerid, "differences": differences},
                    dedupe_key=f"supplier-invoice:{logged.event.partnerid}:{invoice.number}",
                )
            )
            uow.commit()

    def _raise_refusal(self, logged: LoggedEvent, error: str) -> None:
        number = str(logged.event.data.get("number") or logged.event.subject or logged.event.id)
        with self._store.unit_of_work() as uow:
            uow.exceptions.raise_exception(
                BusinessException(
                    exception_class=ExceptionClass.DATA_QUALITY,
                    reason=f"supplier invoice {number} was not booked: {error}",
                    owner_queue=OWNER_QUEUE,
                    system=self._erp.system,
                    entity="supplier_invoice",
                    subject=number,
                    event_id=logged.event.id,
                    raw_payload=json.dumps(logged.event.data, sort_keys=True),
                    dedupe_key=f"supplier-invoice:{logged.event.partnerid}:{number}",
                )
            )
            uow.commit()

    def _record(self, logged: LoggedEvent, invoice: Invoice, purchase: ErpPurchase, posted: ErpInvoice) -> None:
        with self._store.unit_of_work() as uow:
            uow.lineage.record(
                [
                    LineageEntry(
                        correlation_id=logged.event.correlationid or invoice.number,
                        system=self._erp.system,
                        step="supplier_invoice.post",
                        outcome="posted",
                        subject=invoice.id,
                        event_id=logged.event.id,
                        business_keys={"po": purchase.number or purchase.purchase_id, "invoice": invoice.number},
                        detail={"erp_invoice": posted.number or posted.invoice_id, "total": str(posted.total)},
                        started_at=datetime.now(UTC),
                    )
                ]
            )
            uow.commit()


def po_differences(invoice: Invoice, purchase: ErpPurchase) -> list[str]:
    """How the 810 disagrees with the purchase order: currency, SKUs not ordered, prices off the unit cost."""
    differences = []
    if purchase.currency and invoice.currency != purchase.currency:
        differences.append(f"it is in {invoice.currency}, the PO in {purchase.currency}")
    ordered = {line.sku for line in purchase.lines}
    for line in invoice.lines:
        if line.sku is None or line.sku not in ordered:
            differences.append(f"line {line.line_number} bills {line.sku or line.description}, which is not on the PO")
            continue
        cost = purchase.unit_costs.get(line.sku)
        if cost is not None and abs(line.unit_price.amount - cost) >= CENT:
            differences.append(f"{line.sku} is billed at {line.unit_price.amount}, the PO's unit cost is {cost}")
    return differences


def receipt_differences(invoice: Invoice, draft: ErpInvoice) -> list[str]:
    """How the 810 disagrees with what the ERP expects to be billed for the goods received: quantities, total."""
    billed, expected = _quantities(invoice), _draft_quantities(draft)
    zero = Decimal(0)
    differences = [
        f"{sku} is billed for {_plain(billed.get(sku, zero))}, {_plain(expected.get(sku, zero))} was received and "
        "not yet invoiced"
        for sku in sorted(set(billed) | set(expected))
        if billed.get(sku, zero) != expected.get(sku, zero)
    ]
    if abs(invoice.total.amount - draft.total) >= CENT:
        differences.append(f"it totals {invoice.total.amount} {invoice.currency}, the receipt {draft.total}")
    return differences


def _matching_draft(invoice: Invoice, drafts: Sequence[ErpInvoice]) -> ErpInvoice | None:
    """The draft for the same quantities, else the oldest draft, else None."""
    billed = _quantities(invoice)
    return next((d for d in drafts if _draft_quantities(d) == billed), drafts[0] if drafts else None)


def _quantities(invoice: Invoice) -> dict[str, Decimal]:
    quantities: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        quantities[line.sku or line.description] += line.quantity.value
    return dict(quantities)


def _draft_quantities(draft: ErpInvoice) -> dict[str, Decimal]:
    quantities: dict[str, Decimal] = defaultdict(Decimal)
    for line in draft.lines:
        quantities[line.sku or line.description] += line.quantity
    return dict(quantities)


def _plain(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"
