"""The demo: a distributor's day through Crossdock, between a real Tryton ERP and the Salesforce sandbox.

Sales has 200 accounts with contacts in the CRM, product management 500 items in the ERP. Crossdock brings the
accounts into the ERP and the items into the CRM, finance sets payment terms that flow back to the CRM, a sales
rep's attempt to change terms is refused as a policy violation, and three quiet cycles show nothing echoes.
Afterwards both systems are checked against each other: nothing lost, nothing duplicated.

Then order-to-cash: sales reps activate orders in Salesforce; quote-to-order checks each against the ERP's credit,
prices and stock, creates and confirms the Tryton sale, ships what is in stock, backorders the rest, buys drop-ship
lines from a supplier (played by the demo, answering half its purchase orders with ship notices), posts invoices,
and keeps the Salesforce order's status, shipments and invoices current. Last, one drop-ship order goes to the
supplier as an EDI partner: 850 into its SFTP mailbox, 855 and 856 back, delivered and invoiced in Tryton.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser, ErpUser, crm_accounts
from crossdock.demo.edi_day import play_edi_drop_ship
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import SupplierActor, build_order_world, check_orders, order_settings
from crossdock.ports.store import ExceptionStatus

ACCOUNTS = 200
ITEMS = 500
ORDERS = 12
Say = Callable[[str], None]


def tryton_client(runtime: Runtime) -> Any:
    """The ERP connector's JSON-RPC client."""
    return runtime.unguarded("erp").client  # type: ignore[attr-defined]


async def _until_quiet(runtime: Runtime, passes: int = 20) -> dict[str, int]:
    """Run passes until one publishes and writes nothing; return what was delivered per flow."""
    worker = runtime.worker("demo")
    delivered: dict[str, int] = {}
    for _ in range(passes):
        stats = await worker.run_once()
        for flow, count in stats.delivered_by_flow.items():
            delivered[flow] = delivered.get(flow, 0) + count
        if stats.captured == 0 and stats.delivered == 0:
            break
    return delivered


def prepare(workdir: Path) -> Landscape:
    """A fresh landscape under workdir (the Tryton database is copied from the cache), taking orders."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return Landscape(workdir, extra_settings=order_settings())


async def play_orders(runtime: Runtime, crm: CrmUser, say: Say, rng: random.Random) -> dict[str, Any]:
    """Order-to-cash: CRM orders through Tryton to shipment and invoice, a supplier answering drop-ship POs."""
    world = await build_order_world(
        runtime, crm, tryton_client(runtime), lambda: _until_quiet(runtime), orders=ORDERS, rng=rng
    )
    say(
        f"Sales activated {len(world.orders)} orders in Salesforce: stocked and drop-ship lines, some over credit, "
        "some short on stock, two rehearsing a failure."
    )
    supplier = SupplierActor(runtime)
    worker = runtime.worker("demo")
    for _ in range(200):
        stats = await worker.run_once()
        answered = await supplier.run_once()
        quiet = stats.captured == 0 and stats.delivered == 0 and answered == 0
        if quiet and _orders_settled(runtime, supplier):
            break
    check = await check_orders(runtime, world, supplier.answered_purchases)
    outcomes = ", ".join(f"{count} {status}" for status, count in sorted(check.outcomes.items()))
    say(f"Orders settled: {outcomes}; the supplier answered {len(supplier.answered)} of {len(supplier.seen)} POs.")
    example = next((o.number for o in world.orders if o.drop_ship and not o.over_credit and not o.drill), None)
    config = runtime.settings.config_file
    assert config is not None, "the demo's runtime is read from its landscape's crossdock.yaml"
    edi = await play_edi_drop_ship(config, config.parent, crm, world)
    say(
        f"Order {edi['order']} went to the supplier over EDI: an 850 in its SFTP mailbox, its 855, 856 and 810 back "
        f"({', '.join(edi['received_from_supplier'])}); the drop shipment is {edi['drop_shipment']} in Tryton, "
        f"the order {edi['status']}, the supplier's invoice {', '.join(s for s, _ in edi['supplier_invoices'])}."
    )
    if example:
        say(f"Follow one across systems: crossdock --config {config} trace order {example}")
    return {
        "orders": len(world.orders),
        "outcomes": check.outcomes,
        "erp_sales_duplicated": check.duplicate_sales,
        "problems": check.problems[:20],
        "purchase_orders": len(supplier.seen),
        "ship_notices": len(supplier.answered),
        "edi": edi,
    }


def _orders_settled(runtime: Runtime, supplier: SupplierActor) -> bool:
    """Every order's process is finished, or waits by design (a supplier's answer not sent, a backorder recheck)."""
    views = runtime.process_engine(with_definitions=False).list(limit=10_000)
    return all(supplier.has_settled(view) for view in views)


async def play(workdir: Path, say: Say, *, keep_running: bool = False) -> tuple[dict[str, Any], Landscape]:
    """Run the scenario; return the JSON summary and the landscape (still running when `keep_running`)."""
    started = time.perf_counter()
    landscape = await asyncio.to_thread(prepare, workdir)
    say("Starting a real Tryton ERP and the Salesforce sandbox (the first run builds Tryton's database: ~40 s).")
    await asyncio.to_thread(landscape.start)
    runtime = await bootstrap(load_settings(landscape.config_path))
    crm = CrmUser(landscape)
    rng = random.Random(2026)
    try:
        erp = ErpUser(tryton_client(runtime))
        account_ids = await crm.create_many("Account", crm_accounts(ACCOUNTS, rng))
        await crm.create_many(
            "Contact",
            [
                {
                    "AccountId": account_id,
                    "FirstName": rng.choice(("Ana", "Ben", "Chen", "Dee")),
                    "LastName": f"Buyer {n:03d}",
                    "Email": f"buyer{n}@example.com",
                    "Title": "Purchasing Manager",
                }
                for n, account_id in enumerate(account_ids)
            ],
        )
        skus = await erp.create_items(ITEMS, rng)
        say(f"Sales has {ACCOUNTS} accounts with contacts in the CRM; the ERP has {len(skus)} items.")

        first = await _until_quiet(runtime)
        say(
            f"Synced: {first.get('customer-crm-to-erp', 0)} accounts into Tryton, "
            f"{first.get('item-erp-to-crm', 0)} items into Salesforce."
        )

        canonical = await erp.parties_with_canonical_ids()
        finance_picks = rng.sample(sorted(canonical), 20)
        await erp.set_payment_terms([canonical[cid][0] for cid in finance_picks], "2-10-N30")
        say("Finance set 2/10 Net 30 terms on 20 customers in Tryton.")
        second = await _until_quiet(runtime)
        say(f"Synced ERP → CRM: {second.get('customer-erp-to-crm', 0)} accounts updated in Salesforce.")

        with runtime.store.unit_of_work(read_only=True) as uow:
            ref = uow.xrefs.find_local("customer", finance_picks[0], "crm")
        assert ref is not None, "finance's customers came from the CRM"
        await crm.update("Account", ref.local_id, {"Payment_Terms__c": "Net 60"})
        say("A sales rep changed one of those accounts' payment terms in Salesforce to Net 60 (the ERP owns them).")
        third = await _until_quiet(runtime)

        writes_before = await crm.write_calls()
        quiet = [await runtime.worker("demo").run_once() for _ in range(3)]
        echoes = sum(s.captured + s.delivered for s in quiet) + (await crm.write_calls() - writes_before)
        say(f"Three more poll cycles: {echoes} writes (Crossdock does not re-publish what it wrote).")

        summary = await _summary(runtime, crm, erp, account_ids, skus, [first, second, third])
        summary["writes_after_sync"] = echoes
        summary["orders"] = await play_orders(runtime, crm, say, rng)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        return summary, landscape
    finally:
        await crm.close()
        await runtime.close()
        if not keep_running:
            await asyncio.to_thread(landscape.stop)


async def _summary(
    runtime: Runtime,
    crm: CrmUser,
    erp: ErpUser,
    account_ids: list[str],
    skus: list[str],
    rounds: list[dict[str, int]],
) -> dict[str, Any]:
    """Both systems checked against each other, through the cross-reference and the canonical ids they carry."""
    synced: dict[str, int] = {}
    for delivered in rounds:
        for flow, count in delivered.items():
            synced[flow] = synced.get(flow, 0) + count
    parties = await erp.parties_with_canonical_ids()
    lost = duplicated = 0
    with runtime.store.unit_of_work(read_only=True) as uow:
        for account_id in account_ids:
            ref = uow.xrefs.find_canonical("customer", "crm", account_id)
            holders = parties.get(ref.canonical_id, []) if ref else []
            lost += not holders
            duplicated += max(0, len(holders) - 1)
        by_class = uow.exceptions.count_by_class()
        open_exceptions = uow.exceptions.list(status=ExceptionStatus.OPEN, limit=1000)
    products = await crm.query("SELECT Id, ProductCode, Crossdock_Id__c FROM Product2")
    codes = [p["ProductCode"] for p in products]
    lost += len(set(skus) - set(codes))
    duplicated += len(codes) - len(set(codes))
    entries = await crm.query("SELECT Id, Product2.ProductCode, UnitPrice FROM PricebookEntry WHERE IsActive = true")
    priced = [str(e["Product2"]["ProductCode"]) for e in entries if e.get("Product2")]
    lost += len(set(skus) - set(priced))
    duplicated += len(priced) - len(set(priced))
    return {
        "scenario": "customers CRM ↔ ERP with ownership; items and list prices ERP → CRM (Tryton + Salesforce sandbox)",
        "records_synced": synced,
        "exceptions_by_class": by_class,
        "exceptions": [{"class": e.exception_class.value, "reason": e.reason} for e in open_exceptions[:20]],
        "lost": lost,
        "duplicated": duplicated,
        "checked": {"accounts": len(account_ids), "items": len(skus), "price_book_entries": len(priced)},
    }
