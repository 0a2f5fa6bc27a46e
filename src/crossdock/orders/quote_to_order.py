"""Quote-to-order: a submitted order checked, created in the ERP, shipped, invoiced, and the CRM kept told.

The process, in the order a distributor's order desk works:

1. the customer: cross-referenced into the ERP, active, not on credit hold;
2. the items: known to the ERP, stocked or drop-shipped, and what can be promised from stock;
3. prices: each quoted price against the customer's contract price, within the tolerance policy;
4. tax and shipping by rule; credit: the order's total against the customer's available credit;
5. the ERP sale, created and confirmed (cancelled again if a later step fails for good);
6. fulfilment: stocked lines released to the warehouse (shipping what is in stock and backordering the rest, or
   holding the order, by policy), drop-ship lines bought from the supplier, whose answers complete them: its
   acknowledgement (855) stops in the ERP what it refuses and tells the CRM what it backorders, its ship notices
   (856) complete the drop shipment (`orders/drop_ship.py`);
7. invoices posted for what shipped; the CRM told at every turn.

A refusal in 1-4 is a business outcome, not a failure: the order ends `rejected`, `order.rejected` says why and the
CRM shows the reason. Every ERP call is a journaled step, so a crash re-runs nothing that finished, and the ERP
operations are idempotent for the one step that may have been in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.common import Sourcing
from crossdock.model.sales import SalesOrder, SalesOrderStatus
from crossdock.orders import documents
from crossdock.orders.drop_ship import SUPPLIER_ANSWER, DropShipPurchase, is_acknowledgement
from crossdock.orders.policy import BackorderPolicy, OrderPolicy, ShipTo
from crossdock.orders.wire import erp_sale_from_json, erp_sale_to_json, supply_from_json, supply_to_json
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.orders import (
    AddressDraft,
    ErpSale,
    ItemSupply,
    OrderDesk,
    OrderLineStatus,
    OrderStatusBoard,
    OrderStatusReport,
    PriceQuery,
    SaleDraft,
    SaleLineDraft,
    ShipmentLine,
)
from crossdock.ports.store import BusinessException, ExceptionClass, LineageEntry, Store, UnitOfWork
from crossdock.process import ProcessContext, ProcessDefinition, RetryPolicy, StepFailedError

logger = logging.getLogger(__name__)

NAME = "quote_to_order"
VERSION = 2
"""Version 2 reads a supplier's 855s as well as its 856s and waits for every committed quantity to ship; version 1
(instances started before it) reads ship notices only and skips 855s."""
SOURCE = "/processes/quote_to_order"
SHIP_NOTICE = SUPPLIER_ANSWER
"""The partner answers a drop-ship purchase waits for (855s and 856s, see `orders.drop_ship`). Their correlation key
is the purchase order's canonical id, which partner mappings resolve from the PO number the supplier quotes: an ERP's
numbers are not always unique (Tryton on SQLite hands out one number twice under concurrent purchases), canonical
ids are by construction."""
CUSTOMER_CHECKS = 10
"""How many times (a minute apart) to look for a customer not yet cross-referenced before refusing the order."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OrderSystems:
    """What quote-to-order works with: the ERP's order desk, the CRM's status board, the store, the rules."""

    erp: OrderDesk
    crm: OrderStatusBoard | None
    store: Store
    policy: OrderPolicy


def process_input(
    order: SalesOrder,
    *,
    crm_system: str | None = None,
    crm_order_id: str | None = None,
    partner_id: str | None = None,
) -> dict[str, Any]:
    """The input a quote-to-order instance starts with: the order, where the CRM holds it (if it came from one),
    and the trading partner that submitted it (through the API or EDI), whose events carry its id."""
    crm = {"system": crm_system, "order_local_id": crm_order_id} if crm_system and crm_order_id else None
    return {"order": order.model_dump(mode="json"), "crm": crm, "partner_id": partner_id}


class QuoteToOrder:
    """The quote-to-order process definition over a set of systems."""

    def __init__(self, systems: OrderSystems) -> None:
        self.systems = systems

    def definition(self, version: int = VERSION) -> ProcessDefinition:
        """The registered definition; bump VERSION for any change to the order of steps."""
        return ProcessDefinition(
            name=NAME,
            version=version,
            run=self.run,
            retry=RetryPolicy(max_attempts=6, initial_s=2.0, max_s=300.0),
        )

    def definitions(self) -> list[ProcessDefinition]:
        """Every version a worker runs: the current one for new orders, the older ones for instances pinned to them."""
        return [self.definition(version) for version in range(1, VERSION + 1)]

    async def run(self, ctx: ProcessContext, data: dict[str, Any]) -> dict[str, Any]:
        """Run one order from submission to its outcome."""
        order = SalesOrder.model_validate(data["order"])
        crm = data.get("crm") or None
        run = _OrderRun(self.systems, ctx, order, crm, data.get("partner_id"))
        run.answers = ctx.definition_version >= 2
        return await run.execute()


class _RejectedError(Exception):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class _OrderRun:
    """One run of one order; every external call goes through `ctx.step`."""

    def __init__(
        self,
        systems: OrderSystems,
        ctx: ProcessContext,
        order: SalesOrder,
        crm: dict[str, Any] | None,
        partner_id: str | None = None,
    ):
        self.systems = systems
        self.partner_id = partner_id
        self.erp = systems.erp
        self.policy = systems.policy
        self.ctx = ctx
        self.order = order
        self.crm_order_id: str | None = crm["order_local_id"] if crm else None
        self.sourcing: dict[str, Sourcing] = {}
        self.promised: dict[int, date] = {}
        self.sale_id: str | None = None
        self.published_invoices: set[str] = set()
        self.answers = True  # read 855s and wait for every committed quantity (version 2 on)
        self.drop_ships: dict[str, DropShipPurchase] = {}  # by the purchase order's canonical id

    # -- the sequence ---------------------------------------------------------------------------------------------

    async def execute(self) -> dict[str, Any]:
        try:
            customer_erp_id = await self.check_customer()
            supply = await self.check_items()
            await self.check_prices(customer_erp_id)
            tax_codes, method, freight = self.tax_and_shipping()
            await self.check_credit(customer_erp_id, freight)
        except _RejectedError as refusal:
            return await self.reject(refusal)
        today = self.ctx.now().date()
        self.plan_promises(supply, today)
        sale = await self.create_and_confirm(customer_erp_id, tax_codes, method, freight)
        await self.announce("accepted", sale)
        return await self.fulfil(sale)

    # -- checks ---------------------------------------------------------------------------------------------------

    async def check_customer(self) -> str:
        customer_id = self.order.customer_id
        for attempt in range(1, CUSTOMER_CHECKS + 1):
            local_id = await self.step(f"find_customer:{attempt}", lambda: self._erp_customer_id(customer_id))
            if local_id is not None:
                break
            if attempt < CUSTOMER_CHECKS:
                await self.ctx.sleep(timedelta(minutes=1))
        else:
            raise _RejectedError(
                f"customer {customer_id} is not in {self.erp.system}: the customer flow has not delivered it; "
                "check the customer's exceptions, then resubmit the order",
                "customer_unknown",
            )

        async def standing() -> dict[str, Any]:
            result = await self.erp.customer_standing(local_id)
            return {
                "name": result.name,
                "active": result.active,
                "credit_hold": result.credit_hold,
                "available": None if result.available_credit is None else str(result.available_credit),
            }

        found = await self.step("customer_standing", standing)
        if not found["active"]:
            raise _RejectedError(f"customer {found['name']} is inactive in {self.erp.system}", "customer_inactive")
        if found["credit_hold"]:
            raise _RejectedError(f"customer {found['name']} is on credit hold", "credit_hold")
        return local_id

    async def _erp_customer_id(self, customer_id: str) -> str | None:
        def find() -> str | None:
            with self.systems.store.unit_of_work(read_only=True) as uow:
                ref = uow.xrefs.find_local("customer", customer_id, self.erp.system)
            return None if ref is None else ref.local_id

        return await asyncio.to_thread(find)  # the store is synchronous; other orders' steps keep running

    async def check_items(self) -> dict[str, ItemSupply]:
        skus = sorted({line.sku for line in self.order.lines})

        async def supply() -> dict[str, Any]:
            return supply_to_json(await self.erp.item_supply(skus))

        found = supply_from_json(await self.step("item_supply", supply))
        unknown = [sku for sku in skus if sku not in found]
        if unknown:
            raise _RejectedError(f"items unknown to {self.erp.system}: {', '.join(unknown)}", "item_unknown")
        self.sourcing = {sku: item.sourcing for sku, item in found.items()}
        return found

    async def check_prices(self, customer_erp_id: str) -> None:
        queries = [PriceQuery(line.sku, line.ordered_quantity.value) for line in self.order.lines]

        async def prices() -> dict[str, str]:
            return {
                sku: str(price) for sku, price in (await self.erp.contract_prices(customer_erp_id, queries)).items()
            }

        contract = {sku: Decimal(price) for sku, price in (await self.step("contract_prices", prices)).items()}
        off = []
        for line in self.order.lines:
            expected = contract.get(line.sku)
            if expected is not None and not self.policy.price_tolerance.allows(line.unit_price.amount, expected):
                off.append(f"line {line.line_number} {line.sku} at {line.unit_price.amount} (contract {expected})")
        if off:
            raise _RejectedError("prices below contract beyond tolerance: " + "; ".join(off), "price_out_of_tolerance")

    def tax_and_shipping(self) -> tuple[tuple[str, ...], str | None, Decimal]:
        ship_to = self.order.ship_to
        where = ShipTo(ship_to.country if ship_to else None, ship_to.region if ship_to else None)
        tax_codes = self.policy.tax.tax_codes(where)
        quote = self.policy.shipping.quote(where, self.order.subtotal.amount)
        return tax_codes, quote.method or self.order.ship_method, quote.freight

    async def check_credit(self, customer_erp_id: str, freight: Decimal) -> None:
        async def available() -> str | None:
            standing = await self.erp.customer_standing(customer_erp_id)
            return None if standing.available_credit is None else str(standing.available_credit)

        # Read again rather than reuse the validation's answer: prices were checked in between, and a sibling
        # order may have used the credit. Tax is not in the check: its rate is the ERP's to apply.
        headroom = await self.step("credit_check", available)
        total = self.order.subtotal.amount + freight
        if headroom is not None and total > Decimal(headroom):
            raise _RejectedError(
                f"order total {total} {self.order.currency} exceeds available credit {headroom}", "over_credit"
            )

    def plan_promises(self, supply: dict[str, ItemSupply], today: date) -> None:
        left = {sku: item.available for sku, item in supply.items()}
        for line in self.order.lines:
            item = supply[line.sku]
            lead = item.lead_time_days if item.lead_time_days is not None else self.policy.default_lead_time_days
            if item.sourcing is Sourcing.DROP_SHIP:
                self.promised[line.line_number] = today + timedelta(days=lead)
                continue
            needed = line.ordered_quantity.value
            self.promised[line.line_number] = today if left[line.sku] >= needed else today + timedelta(days=lead)
            left[line.sku] -= min(left[line.sku], needed)

    # -- the ERP sale ---------------------------------------------------------------------------------------------

    async def create_and_confirm(
        self, customer_erp_id: str, tax_codes: tuple[str, ...], method: str | None, freight: Decimal
    ) -> ErpSale:
        ship_to = self.order.ship_to
        draft = SaleDraft(
            reference=self.order.number,
            customer_local_id=customer_erp_id,
            currency=self.order.currency,
            sale_date=self.order.order_date,
            customer_po=self.order.customer_po,
            ship_to=None
            if ship_to is None
            else AddressDraft(
                street="\n".join(ship_to.lines),
                city=ship_to.city,
                postal_code=ship_to.postal_code,
                subdivision=ship_to.region,
                country=ship_to.country,
            ),
            shipping_method=method,
            freight_amount=freight or None,
            description=f"{self.order.channel.value if self.order.channel else 'order'} {self.order.number}",
            lines=[
                SaleLineDraft(
                    sku=line.sku,
                    quantity=line.ordered_quantity.value,
                    unit_price=line.unit_price.amount,
                    description=line.description,
                    tax_codes=tax_codes,
                )
                for line in self.order.lines
            ],
        )

        async def create() -> dict[str, Any]:
            return erp_sale_to_json(await self.erp.create_sale(draft))

        async def cancel() -> None:
            # Registered before the sale exists: after a crash mid-create the sale may exist without a journaled
            # id, so look it up by our order number rather than trust what the journal holds.
            found = await self.erp.find_sale(self.order.number)
            if found is not None:
                await self.erp.cancel_sale(found.sale_id)
            cancelled = self.order.revised(status=SalesOrderStatus.CANCELLED)
            self.emit("order", "cancelled", self.order.id, cancelled.model_dump(mode="json"))
            await self.tell_crm_now(SalesOrderStatus.CANCELLED, reason="cancelled after a failure; see the process")

        created = erp_sale_from_json(await self.step("create_sale", create, compensate=cancel))
        self.sale_id = created.sale_id
        await self.lineage("create_sale", self.erp.system, "created", {"erp_sale": created.number or created.sale_id})

        async def confirm() -> dict[str, Any]:
            sale = await self.erp.confirm_sale(created.sale_id)
            if sale.state.value not in ("confirmed", "processing", "done"):
                raise ConnectorError(
                    ErrorKind.TRANSIENT, f"sale {sale.number} is {sale.state.value} after confirm; trying again"
                )
            return erp_sale_to_json(sale)

        return erp_sale_from_json(await self.step("confirm_sale", confirm))

    # -- fulfilment -----------------------------------------------------------------------------------------------

    async def fulfil(self, sale: ErpSale) -> dict[str, Any]:
        stocked = any(self.sourcing.get(line.sku) is Sourcing.STOCKED for line in self.order.lines)
        dropped = any(self.sourcing.get(line.sku) is Sourcing.DROP_SHIP for line in self.order.lines)
        ship_partial = self.policy.backorder_policy_for(self.order.customer_id) is BackorderPolicy.SHIP_PARTIAL
        backorder_open = False
        round_ = 1
        if stocked:
            backorder_open = await self.dispatch(round_, ship_partial)
        pending: list[dict[str, Any]] = []
        if dropped:
            pending = await self.order_drop_ship()
        sale = await self.invoice_and_report(round_)
        started = self.ctx.now()
        supplier_deadline = started + self.policy.supplier_answer_timeout
        backorder_deadline = started + self.policy.backorder_give_up
        while pending or backorder_open:
            round_ += 1
            if pending:
                purchase = pending[0]
                wait = self.policy.backorder_recheck if backorder_open else supplier_deadline - self.ctx.now()
                answer = await self.ctx.wait_for(SHIP_NOTICE, purchase["key"], max(wait, timedelta(seconds=1)))
                if answer is not None:
                    if await self.take_answer(round_, purchase, answer):
                        pending.pop(0)
                    supplier_deadline = max(supplier_deadline, self._promised_by_supplier(purchase))
                elif self.ctx.now() >= supplier_deadline:
                    await self.raise_once(
                        f"no_ship_notice:{purchase['number']}",
                        f"no ship notice from {purchase['supplier_name']} for PO {purchase['number']} within "
                        f"{self.policy.supplier_answer_timeout.days} days",
                        "purchasing",
                    )
                    supplier_deadline = self.ctx.now() + self.policy.supplier_answer_timeout
            else:
                await self.ctx.sleep(self.policy.backorder_recheck)
            if backorder_open:
                backorder_open = await self.dispatch(round_, ship_partial)
                if backorder_open and self.ctx.now() >= backorder_deadline:
                    await self.raise_once(
                        "backorder_overdue",
                        f"order {self.order.number} has been backordered for "
                        f"{self.policy.backorder_give_up.days} days; expedite or cancel it",
                        "order-desk",
                    )
                    backorder_deadline = self.ctx.now() + self.policy.backorder_give_up
            sale = await self.invoice_and_report(round_)
        status = documents.order_status(sale)
        if self.answers and status is SalesOrderStatus.CANCELLED:
            await self.announce("cancelled", sale)  # its suppliers refused everything that was still to ship
        return {"outcome": status.value, "erp_sale": sale.number or sale.sale_id}

    async def dispatch(self, round_: int, ship_partial: bool) -> bool:
        """Ship what the warehouse can; True while stocked quantities stay backordered."""
        sale_id = self._sale_id()
        today = self.ctx.now().date()  # journaled outside the step: a step's body does not run on replay

        async def dispatch() -> dict[str, Any]:
            result = await self.erp.dispatch(sale_id, ship_partial=ship_partial)
            shipped = result.shipped
            if shipped is not None:
                document = documents.shipment_document(self.order, shipped, today, None)
                self.emit("shipment", "dispatched", document.id, document.model_dump(mode="json"))
            return {
                "shipped": None if shipped is None else {"id": shipped.shipment_id, "number": shipped.number},
                "backordered": [{"sku": line.sku, "quantity": str(line.quantity)} for line in result.backordered],
            }

        result = await self.step(f"dispatch:{round_}", dispatch)
        if result["shipped"]:
            await self.lineage(
                f"dispatch:{round_}",
                self.erp.system,
                "shipped",
                {"shipment": result["shipped"]["number"] or result["shipped"]["id"]},
            )
        backordered = bool(result["backordered"])
        if backordered and round_ == 1:
            sale = await self.read_sale(f"read_sale:backorder:{round_}")
            self.emit_order("backordered", sale)
        return backordered

    async def order_drop_ship(self) -> list[dict[str, Any]]:
        sale_id = self._sale_id()
        today = self.ctx.now().date()

        async def purchase() -> list[dict[str, Any]]:
            purchases = await self.erp.order_drop_ship(sale_id)
            issued = []
            for po in purchases:
                supplier_id = documents.supplier_id(self.erp.system, po.supplier_id)
                document = documents.purchase_document(self.order, po, supplier_id, today, erp_system=self.erp.system)
                # The hook for partner connectivity: a consumer of purchase_order.issued sends the 850.
                self.emit("purchase_order", "issued", document.id, document.model_dump(mode="json"))
                issued.append(
                    {
                        "key": document.id,
                        "id": po.purchase_id,
                        "number": po.number or po.purchase_id,
                        "supplier_name": po.supplier_name,
                        "supplier": supplier_id,
                        "lines": [{"sku": line.sku, "quantity": str(line.quantity)} for line in po.lines],
                    }
                )
            return issued

        issued: list[dict[str, Any]] = await self.step("order_drop_ship", purchase)
        self.drop_ships = {po["key"]: DropShipPurchase.issued(po) for po in issued}
        for po in issued:
            await self.lineage("order_drop_ship", self.erp.system, "issued", {"po": po["number"]})
        return issued

    async def complete_drop_ship(self, round_: int, purchase: dict[str, Any], notice: dict[str, Any]) -> None:
        sale_id = self._sale_id()
        today = self.ctx.now().date()
        state = self.drop_ships.get(purchase["key"])
        if self.answers and state is not None:
            shipped = _notice_lines(notice) or state.to_ship()
        else:
            shipped = _notice_lines(notice) or [
                ShipmentLine(line["sku"], Decimal(line["quantity"])) for line in purchase["lines"]
            ]

        async def complete() -> dict[str, Any]:
            shipment = await self.erp.complete_drop_shipment(sale_id, shipped)
            document = documents.shipment_document(self.order, shipment, today, purchase["supplier"])
            self.emit("shipment", "dispatched", document.id, document.model_dump(mode="json"))
            return {"id": shipment.shipment_id, "number": shipment.number}

        done = await self.step(f"complete_drop_ship:{purchase['number']}", complete)
        await self.lineage(
            f"complete_drop_ship:{round_}",
            self.erp.system,
            "shipped",
            {"po": purchase["number"], "shipment": done["number"] or done["id"]},
        )
        if self.answers and state is not None:
            # A supplier that committed to part of a line has shipped that part: the rest will not come.
            await self.stop_drop_ship(purchase, state.shipped_now(shipped))

    async def take_answer(self, round_: int, purchase: dict[str, Any], answer: dict[str, Any]) -> bool:
        """A supplier's 855 or 856 about a purchase; True once nothing more is expected of the supplier."""
        if not is_acknowledgement(answer):
            await self.complete_drop_ship(round_, purchase, answer)
            return not self.answers or self.drop_ships[purchase["key"]].settled
        if not self.answers:
            return False  # version 1 reads ship notices only
        await self.take_acknowledgement(purchase, answer)
        # Settled by an 855: the supplier refused everything still open, so no ship notice will come.
        return self.drop_ships[purchase["key"]].settled

    async def take_acknowledgement(self, purchase: dict[str, Any], ack: dict[str, Any]) -> None:
        """The supplier's 855: stop what it refuses, note what it backorders and when it promises to ship."""
        state = self.drop_ships[purchase["key"]]
        refused = state.acknowledge(ack)
        for line in self.order.lines:
            promised = state.promised.get(line.sku)
            if promised is not None and self.sourcing.get(line.sku) is Sourcing.DROP_SHIP:
                self.promised[line.line_number] = promised
        await self.stop_drop_ship(purchase, refused)

    async def stop_drop_ship(self, purchase: dict[str, Any], skus: list[str]) -> None:
        """Close in the ERP what the supplier will not deliver of these SKUs (idempotent there as well)."""
        if not skus:
            return
        sale_id = self._sale_id()
        state = self.drop_ships[purchase["key"]]

        async def stop() -> list[str]:
            await self.erp.stop_drop_ship(sale_id, skus)
            return skus

        stopped = await self.step(f"stop_drop_ship:{purchase['number']}:{','.join(skus)}", stop)
        state.stop(stopped)
        await self.lineage(
            f"stop_drop_ship:{purchase['number']}",
            self.erp.system,
            "stopped",
            {"po": purchase["number"], "skus": ",".join(stopped)},
        )

    def _promised_by_supplier(self, purchase: dict[str, Any]) -> datetime:
        """The day after the latest date the supplier promised to ship (midnight UTC), or the distant past."""
        state = self.drop_ships.get(purchase["key"])
        dates = [d for d in state.promised.values() if d is not None] if state is not None else []
        if not dates:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.combine(max(dates) + timedelta(days=1), time.min, UTC)

    async def invoice_and_report(self, round_: int) -> ErpSale:
        """Post invoices for what shipped, publish new ones, tell the CRM where the order stands; the sale now."""
        sale_id = self._sale_id()

        async def invoice() -> dict[str, Any]:
            invoices = await self.erp.invoice(sale_id)
            sale = await self.erp.read_sale(sale_id)
            return {"sale": erp_sale_to_json(sale), "posted": [i.invoice_id for i in documents.posted(invoices)]}

        result = await self.step(f"invoice:{round_}", invoice)
        sale = erp_sale_from_json(result["sale"])
        fresh = [
            i for i in sale.invoices if i.invoice_id in result["posted"] and i.invoice_id not in self.published_invoices
        ]
        if fresh:

            async def publish() -> list[str]:
                for erp_invoice in fresh:
                    document = documents.invoice_document(self.order, erp_invoice)
                    self.emit("invoice", "posted", document.id, document.model_dump(mode="json"))
                return [i.invoice_id for i in fresh]

            await self.step(f"publish_invoices:{round_}", publish)
            self.published_invoices.update(i.invoice_id for i in fresh)
        await self.report(sale, f"tell_crm:{round_}")
        return sale

    # -- outcomes and the CRM -------------------------------------------------------------------------------------

    async def reject(self, refusal: _RejectedError) -> dict[str, Any]:
        async def publish() -> None:
            rejected = self.order.revised(status=SalesOrderStatus.REJECTED, notes=refusal.reason[:2000])
            self.emit("order", "rejected", self.order.id, rejected.model_dump(mode="json"))

        await self.step("reject", publish)
        await self.lineage("reject", "crossdock", "rejected", {"reason": refusal.code})
        await self.step(
            "tell_crm:rejected", lambda: self.tell_crm_now(SalesOrderStatus.REJECTED, reason=refusal.reason)
        )
        return {"outcome": "rejected", "reason": refusal.code, "detail": refusal.reason}

    async def announce(self, verb: str, sale: ErpSale) -> None:
        async def publish() -> None:
            self.emit_order(verb, sale)

        await self.step(f"publish:{verb}", publish)

    def emit_order(self, verb: str, sale: ErpSale) -> None:
        current = self.order_as_now(sale)
        if verb == "accepted":
            current = current.revised(status=SalesOrderStatus.ACCEPTED)
        self.emit("order", verb, self.order.id, current.model_dump(mode="json"))

    async def report(self, sale: ErpSale, step_name: str) -> None:
        if self.systems.crm is None or self.crm_order_id is None:
            return
        report = self.status_report(sale)

        async def tell() -> None:
            assert self.systems.crm is not None
            await self.systems.crm.report_order_status(report)

        await self.step(step_name, tell)

    def status_report(self, sale: ErpSale) -> OrderStatusReport:
        assert self.crm_order_id is not None
        current = self.order_as_now(sale)
        cancelled = [erp_line.cancelled_quantity for _, erp_line in documents.paired_lines(self.order, sale)]
        promised = [
            line.promised_date
            for line, closed in zip(current.lines, cancelled, strict=True)
            if line.promised_date and line.open_quantity.value > closed
        ]
        invoices = documents.posted(sale.invoices)
        notes = []
        if current.status is SalesOrderStatus.BACKORDERED:
            short = [
                f"{line.sku} x{line.backordered_quantity.value}"
                for line in current.lines
                if line.backordered_quantity.value > 0
            ]
            notes.append("backordered: " + ", ".join(short))
        notes += [summary for state in self.drop_ships.values() if (summary := state.summary())]
        return OrderStatusReport(
            order_local_id=self.crm_order_id,
            status=current.status.value,
            erp_order_number=sale.number,
            promised_date=max(promised) if promised else None,
            reason="; ".join(notes) or None,
            tracking=[s.tracking or s.number or s.shipment_id for s in sale.shipments if s.state.value == "done"],
            invoice_numbers=[i.number or i.invoice_id for i in invoices],
            invoice_state="posted" if invoices else None,
            lines=[
                OrderLineStatus(
                    line_local_id=str(line.line_number),
                    shipped_quantity=line.shipped_quantity.value,
                    backordered_quantity=line.backordered_quantity.value,
                    cancelled_quantity=closed,
                )
                for line, closed in zip(current.lines, cancelled, strict=True)
            ],
        )

    def order_as_now(self, sale: ErpSale) -> SalesOrder:
        """The canonical order as the ERP sale and the suppliers' answers have it now."""
        backorders: dict[str, Decimal] = {}
        for state in self.drop_ships.values():
            for sku, quantity in state.supplier_backorders().items():
                backorders[sku] = backorders.get(sku, Decimal(0)) + quantity
        return documents.order_as_now(self.order, sale, self.sourcing, self.promised, backorders)

    async def tell_crm_now(self, status: SalesOrderStatus, *, reason: str) -> None:
        if self.systems.crm is None or self.crm_order_id is None:
            return
        await self.systems.crm.report_order_status(
            OrderStatusReport(order_local_id=self.crm_order_id, status=status.value, reason=reason[:255])
        )

    # -- plumbing -------------------------------------------------------------------------------------------------

    async def read_sale(self, name: str) -> ErpSale:
        sale_id = self._sale_id()

        async def read() -> dict[str, Any]:
            return erp_sale_to_json(await self.erp.read_sale(sale_id))

        return erp_sale_from_json(await self.step(name, read))

    def _sale_id(self) -> str:
        if self.sale_id is None:
            raise StepFailedError("no ERP sale yet")
        return self.sale_id

    def emit(self, entity: str, verb: str, subject: str, data: dict[str, Any]) -> None:
        self.ctx.emit(
            CloudEvent(
                type=event_type(entity, verb),
                source=SOURCE,
                subject=subject,
                data=data,
                correlationid=self.ctx.correlation_id or self.order.number,
                businesskeys={"order": self.order.number},
                partnerid=self.partner_id,
            )
        )

    async def step(self, name: str, fn: Callable[[], Awaitable[T]], **options: Any) -> T:
        drill = next((d for d in self.policy.drills if d.matches(name, self.order.customer_po)), None)
        if drill is not None:

            async def fail() -> T:
                raise StepFailedError(f"drill: step {name} fails for orders with customer PO {drill.customer_po}")

            return await self.ctx.step(name, fail, **options)
        return await self.ctx.step(name, fn, **options)

    async def lineage(self, step: str, system: str, outcome: str, keys: dict[str, str]) -> None:
        entry = LineageEntry(
            correlation_id=self.ctx.correlation_id or self.order.number,
            system=system,
            step=f"{NAME}.{step}",
            outcome=outcome,
            subject=self.order.id,
            business_keys={"order": self.order.number, **keys},
            detail={"process": self.ctx.instance_id},
            started_at=self.ctx.now(),
        )

        await self.step(f"lineage:{step}", lambda: self._in_store(lambda uow: uow.lineage.record([entry])))

    async def raise_once(self, key: str, reason: str, queue: str) -> None:
        exception = BusinessException(
            exception_class=ExceptionClass.POLICY_VIOLATION,
            reason=reason,
            owner_queue=queue,
            entity="sales_order",
            subject=self.order.id,
            correlation_id=self.ctx.correlation_id or self.order.number,
            details={"order": self.order.number, "process": self.ctx.instance_id},
            dedupe_key=f"{NAME}:{self.order.number}:{key}",
        )

        await self.step(
            f"exception:{key}:{self.ctx.now().isoformat()}",
            lambda: self._in_store(lambda uow: uow.exceptions.raise_exception(exception)),
        )

    async def _in_store(self, change: Callable[[UnitOfWork], object]) -> None:
        """One committed unit of work, off the event loop (the store is synchronous)."""

        def write() -> None:
            with self.systems.store.unit_of_work() as uow:
                change(uow)
                uow.commit()

        await asyncio.to_thread(write)


def _notice_lines(notice: dict[str, Any]) -> list[ShipmentLine]:
    """The shipped quantities a ship notice reports (canonical ship_notice data), if it lists any."""
    lines = []
    for line in notice.get("lines") or []:
        quantity = line.get("quantity") or line.get("shipped_quantity") or {}
        sku = line.get("sku")
        if sku and quantity.get("value") is not None:
            lines.append(ShipmentLine(sku, Decimal(str(quantity["value"]))))
    return lines
