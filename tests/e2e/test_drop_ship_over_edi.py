"""A drop-ship order from the CRM sandbox through real Tryton and a supplier over EDI on real SFTP: the process
buys the drop-ship line, the 850 goes to the supplier's mailbox, the supplier's 855, 856 and 810 come back, the
drop shipment is completed in Tryton (delivered), the order invoiced, the CRM told and the supplier's invoice booked
against the purchase. A supplier that commits to part of the line ships that part; the rest is closed in Tryton and
shown cancelled in the CRM.

The order is played by the demo's EDI segment (`demo/edi_day.py`), on a landscape of its own."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crossdock.bootstrap import bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser
from crossdock.demo.edi_day import play_edi_drop_ship
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import build_order_world, order_settings
from crossdock.model.purchasing import LineAcknowledgementStatus
from crossdock.sandbox.edi_supplier import LineAnswer
from crossdock.sandbox.tryton import tryton_bin_dir

pytestmark = [pytest.mark.tryton, pytest.mark.e2e]


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


async def play(landscape: Landscape, tmp_path: Path, answers: Mapping[str, LineAnswer] | None = None) -> dict[str, Any]:
    """The demo's EDI order on the landscape, its supplier answering with `answers` by SKU (None: accept all)."""
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
        try:
            world = await build_order_world(runtime, crm, erp, sync, orders=0, rng=random.Random(7))
        finally:
            await runtime.close()  # the EDI segment runs Crossdock again, with the supplier as a partner
        sku = world.drop_ship[0]
        scripted = None if answers is None else {sku if key == "DROP" else key: a for key, a in answers.items()}
        return await play_edi_drop_ship(landscape.config_path, tmp_path, crm, world, answers=scripted)
    finally:
        await crm.close()


async def test_a_crm_drop_ship_order_is_delivered_through_850_855_856_810_over_sftp(
    landscape: Landscape, tmp_path: Path
) -> None:
    result = await play(landscape, tmp_path)

    assert result["status"] == "invoiced"
    assert result["drop_shipment"] == "done"  # delivered by the supplier
    assert result["850_answered"] is True  # its 855 came back
    assert [name[:4] for name in result["received_from_supplier"]] == ["810_", "855_", "856_"]
    assert [name[:4] for name in result["sent_to_supplier"]] == ["850_", "997_", "997_", "997_"]
    assert result["crm_status"] == "invoiced"
    assert result["supplier_invoices"] == [("posted", f"INV-{result['purchase']}")]  # booked under its number


async def test_a_supplier_committing_to_part_ships_it_and_the_rest_shows_cancelled(
    landscape: Landscape, tmp_path: Path
) -> None:
    one = LineAnswer(LineAcknowledgementStatus.CHANGED, quantity=Decimal(1), note="only one in stock")
    result = await play(landscape, tmp_path, {"DROP": one})

    [(_, shipped, cancelled)] = result["lines"]
    assert (shipped, cancelled) == (1, 1)  # Tryton: one delivered, the other closed on the purchase and the sale
    assert result["status"] == "invoiced"
    assert result["crm_status"] == "invoiced"
    assert result["crm_lines"] == [(1, 1)]  # the CRM line: shipped 1, cancelled 1
    assert result["supplier_invoices"] == [("posted", f"INV-{result['purchase']}")]  # billed for the one it shipped
