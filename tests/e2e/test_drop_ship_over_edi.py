"""A drop-ship order from the CRM sandbox through real Tryton and a supplier over EDI on real SFTP: the process
buys the drop-ship line, the 850 goes to the supplier's mailbox, the supplier's 855 and 856 come back, and the
drop shipment is completed in Tryton (delivered), the order invoiced and the CRM told.

The order is played by the demo's EDI segment (`demo/edi_day.py`), on a landscape of its own."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossdock.bootstrap import bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser
from crossdock.demo.edi_day import play_edi_drop_ship
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import build_order_world, order_settings
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


async def test_a_crm_drop_ship_order_is_delivered_through_850_855_856_over_sftp(
    landscape: Landscape, tmp_path: Path
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
        try:
            world = await build_order_world(runtime, crm, erp, sync, orders=0, rng=random.Random(7))
        finally:
            await runtime.close()  # the EDI segment runs Crossdock again, with the supplier as a partner
        result = await play_edi_drop_ship(landscape.config_path, tmp_path, crm, world)
    finally:
        await crm.close()

    assert result["status"] == "invoiced"
    assert result["drop_shipment"] == "done"  # delivered by the supplier
    assert result["850_answered"] is True  # its 855 came back
    assert [name[:4] for name in result["received_from_supplier"]] == ["855_", "856_"]
    assert [name[:4] for name in result["sent_to_supplier"]] == ["850_", "997_", "997_"]
    assert result["crm_status"] == "invoiced"
