"""A drop-ship order from the CRM sandbox through real Tryton and a supplier over EDI on real SFTP: the process
buys the drop-ship line, the 850 goes to the supplier's mailbox, the supplier's 855 and 856 come back, and the
drop shipment is completed in Tryton (delivered), the order invoiced and the CRM told."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crossdock.bootstrap import bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import build_order_world, order_settings
from crossdock.edi.x12 import InterchangeParties
from crossdock.model.sales import SalesOrderStatus
from crossdock.orders import documents
from crossdock.ports.partners import DocumentDirection
from crossdock.ports.store import ProcessState
from crossdock.sandbox.edi_supplier import ScriptedSupplier
from crossdock.sandbox.sftp import SftpSandbox, SftpUser
from crossdock.sandbox.tryton import tryton_bin_dir
from tests.support.partners import PARTNER_PASSWORD_ENV, supplier_entry

pytestmark = [pytest.mark.tryton, pytest.mark.e2e]

PASSWORD = "acme-edi-Pa55"
SETTLE_S = 240


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    try:
        tryton_bin_dir()
    except RuntimeError as exc:
        pytest.skip(f"no Tryton here: {exc}")
    world = Landscape(tmp_path / "landscape", extra_settings=order_settings())
    world.start()
    try:
        yield world
    finally:
        world.stop()


async def test_a_crm_drop_ship_order_is_delivered_through_850_855_856_over_sftp(
    landscape: Landscape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = await bootstrap(load_settings(landscape.config_path))
    crm = CrmUser(landscape)
    try:
        setup_worker = runtime.worker("setup")

        async def sync() -> None:
            for _ in range(20):
                stats = await setup_worker.run_once()
                if stats.captured == 0 and stats.delivered == 0:
                    return

        erp = runtime.unguarded("erp").client  # type: ignore[attr-defined]
        world = await build_order_world(runtime, crm, erp, sync, orders=1, rng=random.Random(7))
    finally:
        await crm.close()
        await runtime.close()
    [order] = world.orders
    assert order.drop_ship

    monkeypatch.setenv(PARTNER_PASSWORD_ENV, PASSWORD)
    async with SftpSandbox(tmp_path / "sftp", users=[SftpUser("acme", password=PASSWORD)]) as sandbox:
        supplier_id = f"erp:supplier:{world.supplier_party}"
        config = yaml.safe_load(landscape.config_path.read_text())
        config["partners"] = {"acme": supplier_entry(sandbox, supplier_id)}
        with_partner = tmp_path / "crossdock-edi.yaml"
        with_partner.write_text(yaml.safe_dump(config, sort_keys=False))
        runtime = await bootstrap(load_settings(with_partner))
        home = sandbox.home("acme")
        supplier = ScriptedSupplier(
            home, supplier_id, InterchangeParties(sender_id="ACMESUPPLY", receiver_id="CROSSDOCK")
        )
        try:
            worker = runtime.worker("e2e")
            engine = runtime.process_engine(with_definitions=False)
            deadline = time.monotonic() + SETTLE_S
            while time.monotonic() < deadline:
                await worker.run_once()
                supplier.run_once()
                views = engine.list(limit=10)
                if views and all(view.state is ProcessState.COMPLETED for view in views):
                    break
            else:
                pytest.fail(f"the order did not settle in {SETTLE_S} s: {[(v.business_key, v.state) for v in views]}")

            desk = runtime.order_systems().erp
            sale = await desk.find_sale(order.number)
            assert sale is not None
            assert documents.order_status(sale) is SalesOrderStatus.INVOICED
            drop_shipments = [s for s in sale.shipments if s.kind.value == "drop_ship"]
            assert drop_shipments
            assert all(s.state.value == "done" for s in drop_shipments)  # delivered by the supplier
            [purchase] = sale.purchases
            with runtime.store.unit_of_work(read_only=True) as uow:
                [sent] = uow.partners.find("acme", DocumentDirection.OUTBOUND, "850", purchase.number or "")
            assert sent.answered_at is not None  # the 855 came back
            processed = sorted(p.name for p in (home / "processed").iterdir())
            assert any(name.startswith("855_") for name in processed)
            assert any(name.startswith("856_") for name in processed)
            status = await runtime.unguarded("crm").read_order_status(order.crm_id)  # type: ignore[attr-defined]
            assert status.status == SalesOrderStatus.INVOICED.value
        finally:
            await runtime.close()
