"""Order-to-cash through Crossdock: CRM orders become Tryton sales, shipments and invoices, and the CRM is told.

Used by the demo, the end-to-end test and the fault test, so all three play the same business day:

- product management has stocked items with plenty on hand, scarce items with 3 on hand, and drop-ship items a
  supplier ships for us; sales has accounts in the CRM, a few of them with a tight credit limit in the ERP;
- sales reps activate orders in Salesforce: most for stocked items, about a third with a drop-ship line, about
  10 % from customers over their credit, about 10 % asking 5 of a scarce item;
- the supplier (played here) answers half of the drop-ship purchase orders with a ship notice;
- afterwards every order is checked: one ERP sale at most, the outcome the rules call for, and the CRM showing
  the same status as the ERP.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crossdock.bootstrap import Runtime
from crossdock.demo.actors import CrmUser, ErpUser, crm_accounts
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.purchasing import PurchaseOrder
from crossdock.model.sales import SalesOrderStatus
from crossdock.orders import documents
from crossdock.ports.store import ProcessState
from crossdock.process.views import ProcessView
from crossdock.sandbox import tryton_stock
from crossdock.sandbox.edi_supplier import shipped_in_full

PLENTY = Decimal(100_000)
SCARCE_ON_HAND = Decimal(3)
SCARCE_ORDERED = 5
TIGHT_CREDIT = Decimal(10)
SUPPLIER_GROUP = "supplier.sandbox"
_SETTLED = {ProcessState.COMPLETED, ProcessState.COMPENSATED, ProcessState.CANCELLED, ProcessState.SLEEPING}
ORDER_ITEMS_FROM = 90_000  # SKU-90000 and account C-100000 on: clear of the master-data scenario's records


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One CRM order and what the rules should make of it."""

    crm_id: str
    number: str
    over_credit: bool
    short: bool
    drop_ship: bool
    drill: bool = False


@dataclass
class OrderWorld:
    """What `build_order_world` set up."""

    stocked: list[str] = field(default_factory=list)
    scarce: list[str] = field(default_factory=list)
    drop_ship: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    tight_accounts: list[str] = field(default_factory=list)
    orders: list[PlannedOrder] = field(default_factory=list)
    pricebook_entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SKU
    supplier_party: int = 0  # the drop-ship supplier's Tryton party


def order_settings() -> dict[str, Any]:
    """The `orders:` section the order scenario runs with."""
    return {
        "orders": {
            "erp": "erp",
            "crm": "crm",
            "backorder_policy": "ship_partial",
            "tax_rules": [{"country": "US", "tax_codes": ["US Sales Tax 6.25%"]}],
            # Two orders in a hundred rehearse compensation: their dispatch fails for good.
            "drills": [{"step": "dispatch", "customer_po": "DRILL-*"}],
            "shipping_rules": [
                {"min_subtotal": 0, "method": "GROUND", "freight": "15.00"},
                {"min_subtotal": 1000, "method": "GROUND", "freight": "0"},
            ],
        }
    }


async def build_order_world(
    runtime: Runtime, crm: CrmUser, erp_client: Any, sync: Any, *, orders: int, rng: random.Random
) -> OrderWorld:
    """Items, stock, a supplier and accounts in both systems; then `orders` activated CRM orders (not yet synced).

    `sync` is an async callable that runs Crossdock until the master-data flows are quiet.
    """
    world = OrderWorld()
    erp = ErpUser(erp_client)
    scarce_count = max(1, orders // 10)
    skus = await erp.create_items(20 + scarce_count + 4, rng, first=ORDER_ITEMS_FROM)
    world.stocked, world.scarce, world.drop_ship = skus[:20], skus[20 : 20 + scarce_count], skus[20 + scarce_count :]
    await tryton_stock.receive_stock(
        erp_client, {**dict.fromkeys(world.stocked, PLENTY), **dict.fromkeys(world.scarce, SCARCE_ON_HAND)}
    )
    supplier = world.supplier_party = await tryton_stock.create_supplier(erp_client, "Acme Industrial Supply")
    for sku in world.drop_ship:
        await tryton_stock.make_drop_ship_item(erp_client, sku, supplier, lead_time_days=5)
    account_count = max(10, orders // 5)
    world.accounts = await crm.create_many("Account", crm_accounts(account_count, rng, first=ORDER_ITEMS_FROM))
    world.tight_accounts = world.accounts[: max(1, account_count // 10)]
    await sync()

    parties = await _parties_by_crm_account(runtime, world.tight_accounts)
    for party in parties:
        await tryton_stock.set_credit_limit(erp_client, int(party), TIGHT_CREDIT)

    world.pricebook_entries = await _pricebook_entries(crm, skus)
    normal_accounts = world.accounts[len(world.tight_accounts) :]
    scarce_left = list(world.scarce)
    planned: list[Planned] = []
    for n in range(orders):
        over_credit = n % 10 == 3
        short = n % 10 == 7 and bool(scarce_left)
        drop_ship = n % 3 == 0
        drill = n % 50 == 11
        account = rng.choice(world.tight_accounts if over_credit else normal_accounts)
        lines = [(rng.choice(world.stocked), rng.randint(1, 20))]
        if short:
            lines.append((scarce_left.pop(), SCARCE_ORDERED))
        if drop_ship:
            lines.append((rng.choice(world.drop_ship), rng.randint(1, 4)))
        po = f"DRILL-{70000 + n}" if drill else f"PO-{70000 + n}"
        planned.append(Planned(account, po, lines, over_credit, short, drop_ship, drill))
    world.orders = await activate_orders(crm, world, planned)
    return world


@dataclass(frozen=True, slots=True)
class Planned:
    """An order a sales rep is about to key in: account, PO, (SKU, quantity) lines, and what the rules should do."""

    account: str
    po: str
    lines: list[tuple[str, int]]
    over_credit: bool = False
    short: bool = False
    drop_ship: bool = False
    drill: bool = False


async def activate_orders(crm: CrmUser, world: OrderWorld, planned: Sequence[Planned]) -> list[PlannedOrder]:
    """Key the orders into Salesforce as drafts with their products, then activate them (as a sales rep would)."""
    if not planned:
        return []
    pricebook = world.pricebook_entries[world.stocked[0]]["Pricebook2Id"]
    headers = [
        {
            "AccountId": order.account,
            "Pricebook2Id": pricebook,
            "EffectiveDate": datetime.now(UTC).date().isoformat(),
            "Status": "Draft",
            "PoNumber": order.po,
            "CurrencyIsoCode": "USD",
            "ShippingStreet": f"{100 + n} Distribution Dr",
            "ShippingCity": "Columbus",
            "ShippingState": "OH",
            "ShippingPostalCode": "43215",
            "ShippingCountry": "US",
        }
        for n, order in enumerate(planned)
    ]
    order_ids = await crm.create_many("Order", headers)
    entries = world.pricebook_entries
    items = [
        {
            "OrderId": order_id,
            "PricebookEntryId": entries[sku]["Id"],
            "Quantity": quantity,
            "UnitPrice": entries[sku]["UnitPrice"],
        }
        for order_id, order in zip(order_ids, planned, strict=True)
        for sku, quantity in order.lines
    ]
    await crm.create_many("OrderItem", items)
    await crm.update_many("Order", [{"Id": order_id, "Status": "Activated"} for order_id in order_ids])
    numbers = {row["Id"]: row["OrderNumber"] for row in await crm.query("SELECT Id, OrderNumber FROM Order")}
    return [
        PlannedOrder(order_id, f"SF-{numbers[order_id]}", o.over_credit, o.short, o.drop_ship, o.drill)
        for order_id, o in zip(order_ids, planned, strict=True)
    ]


async def _parties_by_crm_account(runtime: Runtime, account_ids: Sequence[str]) -> list[str]:
    parties = []
    with runtime.store.unit_of_work(read_only=True) as uow:
        for account_id in account_ids:
            ref = uow.xrefs.find_canonical("customer", "crm", account_id)
            assert ref is not None, f"account {account_id} was not captured"
            erp_ref = uow.xrefs.find_local("customer", ref.canonical_id, "erp")
            assert erp_ref is not None, f"account {account_id} did not reach the ERP"
            parties.append(erp_ref.local_id)
    return parties


async def _pricebook_entries(crm: CrmUser, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
    rows = await crm.query("SELECT Id, Pricebook2Id, UnitPrice, Product2.ProductCode FROM PricebookEntry")
    found = {row["Product2"]["ProductCode"]: row for row in rows if row.get("Product2")}
    missing = [sku for sku in skus if sku not in found]
    assert not missing, f"items without a price book entry in the CRM: {missing[:5]}"
    return found


class SupplierActor:
    """The drop-ship supplier: reads the purchase orders Crossdock issues and answers some with a ship notice."""

    def __init__(self, runtime: Runtime, *, answer_every: int = 2) -> None:
        self._runtime = runtime
        self._answer_every = answer_every
        self.seen: list[str] = []
        self.answered: list[str] = []  # canonical ids of the purchase orders answered
        self.answered_purchases: set[str] = set()  # and their ERP ids

    async def run_once(self) -> int:
        """Handle the purchase orders issued since the last pass; return how many ship notices it sent."""
        log = self._runtime.log
        batch = await log.fetch(SUPPLIER_GROUP, "supplier", max_events=500, wait_s=0.05)
        notices = []
        for logged in batch:
            if logged.event.type != event_type("purchase_order", "issued"):
                continue
            po = PurchaseOrder.model_validate(logged.event.data)
            if po.id in self.seen:
                continue
            self.seen.append(po.id)
            if (len(self.seen) - 1) % self._answer_every:  # the first, then every n-th: a small day answers one
                continue
            self.answered.append(po.id)
            self.answered_purchases.add(po.id.rsplit(".po.", 1)[-1])
            notices.append(_ship_notice(po))
        if notices:
            await self._runtime.publisher.publish(notices)
        if batch:
            await log.ack(SUPPLIER_GROUP, "supplier", batch)
        return len(notices)

    def has_settled(self, view: ProcessView) -> bool:
        """Whether an order's process is finished, or waits by design: for a purchase order this supplier has seen
        and chosen not to answer, or on a backorder recheck. One waiting on a PO not yet seen is not settled."""
        if view.state in _SETTLED:
            return True
        if view.state is not ProcessState.WAITING or not view.waiting_for:
            return False
        po_id = view.waiting_for[1]
        return po_id in self.seen and po_id not in self.answered


def _ship_notice(po: PurchaseOrder) -> CloudEvent:
    number = f"ASN-{po.number}-{po.id.rsplit('.po.', 1)[-1]}"
    notice = shipped_in_full(po, notice_id=f"asn.{po.id}", number=number)
    return CloudEvent(
        type=event_type("ship_notice", "received"),
        source="/partners/acme",
        subject=notice.id,
        data=notice.model_dump(mode="json"),
        id=f"asn-{po.id}",  # not the PO number: an ERP may give two POs one number (Tryton on SQLite does)
        businesskeys={"po": po.number},
    )


@dataclass
class OrderCheck:
    """What checking every order found."""

    outcomes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    duplicate_sales: int = 0


async def check_orders(runtime: Runtime, world: OrderWorld, answered_pos: Collection[str]) -> OrderCheck:
    """`answered_pos`: the ERP ids of the purchase orders the supplier answered."""
    """Every order: at most one ERP sale, the outcome its rules call for, and the CRM agreeing with the ERP."""
    systems = runtime.order_systems()
    erp, crm = systems.erp, systems.crm
    assert crm is not None
    client = runtime.unguarded("erp").client  # type: ignore[attr-defined]
    check = OrderCheck()
    for planned in world.orders:
        sales = sorted(await client.search("sale.sale", [("reference", "=", planned.number)]), reverse=True)
        live = [s for s in await client.read("sale.sale", sales, ["state"]) if s["state"] != "cancelled"]
        if len(live) > 1:
            check.duplicate_sales += 1
            check.problems.append(f"{planned.number}: {len(live)} live ERP sales")
        # The live sale, else the last cancelled one (a compensated order): the ERP's word on the order.
        sale = await erp.find_sale(planned.number) or (await erp.read_sale(str(sales[0])) if sales else None)
        erp_status = documents.order_status(sale)
        crm_status = (await crm.read_order_status(planned.crm_id)).status
        check.outcomes[erp_status.value] = check.outcomes.get(erp_status.value, 0) + 1
        if crm_status != erp_status.value:
            check.problems.append(f"{planned.number}: ERP says {erp_status.value}, CRM says {crm_status}")
        expected = expected_status(planned, sale, answered_pos)
        if erp_status not in expected:
            allowed = "/".join(sorted(s.value for s in expected))
            check.problems.append(f"{planned.number}: {erp_status.value}, the rules call for {allowed}")
    return check


def expected_status(planned: PlannedOrder, sale: Any, answered_pos: Collection[str]) -> set[SalesOrderStatus]:
    """The statuses the rules allow for an order, given whether the supplier answered its purchase order."""
    if planned.over_credit:
        return {SalesOrderStatus.REJECTED}
    if planned.drill:
        return {SalesOrderStatus.CANCELLED}
    if planned.short:
        return {SalesOrderStatus.BACKORDERED}
    if planned.drop_ship:
        answered = sale is not None and any(p.purchase_id in answered_pos for p in sale.purchases)
        return {SalesOrderStatus.INVOICED} if answered else {SalesOrderStatus.PARTIALLY_SHIPPED}
    return {SalesOrderStatus.INVOICED}
