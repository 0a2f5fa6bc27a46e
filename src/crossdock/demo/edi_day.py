"""The demo's drop-ship order over EDI: the supplier gets an 850 in its SFTP mailbox and answers with an 855, an 856
and an 810, as a real supplier's EDI system would; the order is delivered and invoiced in Tryton, and the supplier's
invoice is booked against the purchase. `answers` scripts the supplier's 855 per SKU (a rejected line, or a part
committed), which Tryton and the CRM then show.

It runs Crossdock once more on the same landscape, with the supplier configured as an EDI partner (its mailbox on a
local SFTP server, the host key pinned, the password in an environment variable). The partner flow reads the log
from its start, so the day's earlier drop-ship purchase orders go out as 850s too, and the supplier answers them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from crossdock.bootstrap import bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser
from crossdock.demo.orders import OrderWorld, Planned, activate_orders
from crossdock.edi.x12 import InterchangeParties
from crossdock.orders import documents
from crossdock.ports.orders import OrderDesk
from crossdock.ports.partners import DocumentDirection
from crossdock.ports.store import ProcessState
from crossdock.sandbox.edi_supplier import LineAnswer, ScriptedSupplier
from crossdock.sandbox.sftp import SftpSandbox, SftpUser

PASSWORD_ENV = "CROSSDOCK_DEMO_SUPPLIER_SFTP_PASSWORD"  # noqa: S105 (the variable's name, not a password)
SETTLE_S = 180


def partner_entry(sandbox: SftpSandbox, supplier_id: str) -> dict[str, Any]:
    """The supplier's `partners:` entry: its X12 ids, its mailbox on the sandbox, 24 h for its 855."""
    return {
        "role": "supplier",
        "canonical_id": supplier_id,
        "name": "Acme Industrial Supply",
        "x12": {"partner": {"id": "ACMESUPPLY"}, "us": {"id": "CROSSDOCK"}},
        "sftp": {
            "host": "127.0.0.1",
            "port": sandbox.port,
            "username": "acme",
            "password": f"env:{PASSWORD_ENV}",
            "host_key_fingerprint": sandbox.fingerprint,
            "allowed_hosts": ["127.0.0.1"],
            "take_older_than_s": 0,
        },
        "sla": {"acknowledgement_within_h": 24},
    }


def _config_with_partner(config_path: Path, workdir: Path, entry: dict[str, Any]) -> Path:
    config = yaml.safe_load(config_path.read_text())
    config["partners"] = {"acme": entry}
    with_partner = workdir / "crossdock-edi.yaml"
    with_partner.write_text(yaml.safe_dump(config, sort_keys=False))
    return with_partner


async def play_edi_drop_ship(
    config_path: Path,
    workdir: Path,
    crm: CrmUser,
    world: OrderWorld,
    *,
    answers: Mapping[str, LineAnswer] | None = None,
    po: str = "PO-EDI-1",
) -> dict[str, Any]:
    """One drop-ship order through the supplier over EDI; what became of it. `answers` are the supplier's line
    answers by SKU (the order's drop-ship item is `world.drop_ship[0]`, two of it)."""
    os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(18))
    password = os.environ[PASSWORD_ENV]
    account = world.accounts[len(world.tight_accounts)]
    [order] = await activate_orders(crm, world, [Planned(account, po, [(world.drop_ship[0], 2)], drop_ship=True)])
    async with SftpSandbox(workdir / "sftp", users=[SftpUser("acme", password=password)]) as sandbox:
        supplier_id = documents.supplier_id("erp", world.supplier_party)
        with_partner = await asyncio.to_thread(
            _config_with_partner, config_path, workdir, partner_entry(sandbox, supplier_id)
        )
        runtime = await bootstrap(load_settings(with_partner))
        home = sandbox.home("acme")
        supplier = ScriptedSupplier(
            home,
            supplier_id,
            InterchangeParties(sender_id="ACMESUPPLY", receiver_id="CROSSDOCK"),
            answers=dict(answers or {}),
            invoice=True,
        )
        try:
            worker = runtime.worker("demo-edi")
            engine = runtime.process_engine(with_definitions=False)
            erp = runtime.order_systems().erp
            deadline = time.monotonic() + SETTLE_S
            supplier_invoices: list[tuple[str, str | None]] = []
            while time.monotonic() < deadline:
                await worker.run_once()
                supplier.run_once()
                view = engine.find("quote_to_order", order.number)
                if view is None or view.state is not ProcessState.COMPLETED:
                    continue
                # The order is done; the supplier's 810 is booked by the same worker, once its goods are in.
                supplier_invoices = await _supplier_invoices(erp, order.number)
                if all(state == "posted" for state, _ in supplier_invoices):
                    break
            sale = await erp.find_sale(order.number)
            purchases = [p.number or p.purchase_id for p in (sale.purchases if sale else ())]
            with runtime.store.unit_of_work(read_only=True) as uow:
                answered = [
                    d.answered_at is not None
                    for number in purchases
                    for d in uow.partners.find("acme", DocumentDirection.OUTBOUND, "850", number)
                ]
            board = runtime.order_systems().crm
            shown = await board.read_order_status(order.crm_id) if board is not None else None
            processed = sorted(p.name for p in await asyncio.to_thread(list, (home / "processed").iterdir()))
            sent = sorted(p.name for p in await asyncio.to_thread(list, (home / "outbound").iterdir()))
        finally:
            await runtime.close()
    drop_shipped = [s for s in (sale.shipments if sale else ()) if s.kind.value == "drop_ship"]
    goods = documents.goods_lines(sale) if sale else []
    return {
        "order": order.number,
        "purchase": purchases[0] if purchases else None,
        "status": documents.order_status(sale).value if sale else "no sale",
        "crm_status": shown.status if shown is not None else None,
        "crm_lines": [(line.shipped_quantity, line.cancelled_quantity) for line in shown.lines] if shown else [],
        "lines": [(line.sku, line.shipped_quantity, line.cancelled_quantity) for line in goods],
        "supplier_invoices": supplier_invoices,  # (state, the supplier's number) of the purchase's supplier invoices
        "850_answered": bool(answered) and all(answered),  # the supplier's 855 came back for its purchase
        "drop_shipment": drop_shipped[0].state.value if drop_shipped else None,
        "sent_to_supplier": [name for name in sent if name.startswith(("850_", "997_"))],
        "received_from_supplier": processed,
    }


async def _supplier_invoices(erp: OrderDesk, reference: str) -> list[tuple[str, str | None]]:
    """The state and supplier's number of every supplier invoice of the sale's purchases."""
    sale = await erp.find_sale(reference)
    invoices = []
    for purchase in sale.purchases if sale is not None else ():
        invoices += [(i.state, i.reference) for i in (await erp.read_purchase(purchase.purchase_id)).invoices]
    return invoices
