"""CRM orders (200 in the soak run) through a real Tryton while the worker is SIGKILLed at random points, at least
10 times.

Orders come from the Salesforce sandbox with mixed stocked and drop-ship lines; about 10 % are over their
customer's credit and about 10 % ask for more of an item than is on hand; two rehearse a step that fails for
good (a drill), and must be compensated. A separate `crossdock worker` process runs intake, the process engine
and the master-data flows; the test kills it with SIGKILL every few seconds and starts it again, while a supplier
(played by the test) answers half of the drop-ship purchase orders with ship notices.

Afterwards: no order has two live ERP sales; every order is in the one state its rules call for (rejected,
backordered, invoiced, partially shipped while its supplier has not answered, cancelled for the drills), every
process is finished or waiting by design (a supplier's answer, a backorder recheck), the CRM shows the status the
ERP stands for on every order, and `crossdock trace order` prints an order's steps across systems. Then every
order is submitted again (the intake group replays the log from the start) and still has one process and one sale.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossdock.bootstrap import Runtime
from crossdock.cli import app
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.demo.orders import SupplierActor, build_order_world, check_orders, order_settings
from crossdock.orders.intake import GROUP as INTAKE_GROUP
from crossdock.sandbox.tryton import tryton_bin_dir

pytestmark = [pytest.mark.fault, pytest.mark.e2e, pytest.mark.tryton, pytest.mark.timeout(3600)]

# The acceptance run is 200 orders (`make soak`, about 20 minutes on 2 cores: Tryton on SQLite does about 5 s of
# work per order, serialised); the default suite runs 20 of the same mix to stay inside its time budget.
SOAK = os.environ.get("CROSSDOCK_SOAK") == "1"
ORDERS = int(os.environ.get("CROSSDOCK_ORDERS", "200" if SOAK else "20"))
SETTLE_S = 120 + 8 * ORDERS  # Tryton settles about 12 orders a minute here
KILLS = int(os.environ.get("CROSSDOCK_KILLS", "10"))


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    """The landscape with quote-to-order configured (replaces the shared fixture for this module)."""
    try:
        tryton_bin_dir()
    except RuntimeError as exc:
        pytest.skip(f"no Tryton here: {exc}")
    world = Landscape(tmp_path, extra_settings=order_settings())
    world.start()
    try:
        yield world
    finally:
        world.stop()


def _start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crossdock", "--config", str(config), "worker", "--poll-interval", "2"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )


async def _settled(runtime: Runtime, expected: int, supplier: SupplierActor) -> bool:
    """Every order's process is finished or waits by design (see `SupplierActor.has_settled`)."""
    engine = runtime.process_engine(with_definitions=False)
    views = engine.list(limit=expected * 2)
    return len(views) >= expected and all(supplier.has_settled(view) for view in views)


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float, tick: Callable[[], Awaitable[int]]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await tick()
        if await check():
            return
        await asyncio.sleep(1.0)
    raise AssertionError(f"orders did not settle within {timeout_s:.0f} s")


async def test_crm_orders_reach_one_consistent_state_while_the_worker_is_killed(
    landscape: Landscape, runtime: Runtime, sales_user: CrmUser, tmp_path: Path
) -> None:
    rng = random.Random(4711)
    sync_worker = runtime.worker("setup")

    async def sync() -> None:
        for _ in range(20):
            stats = await sync_worker.run_once()
            if stats.captured == 0 and stats.delivered == 0:
                return

    world = await build_order_world(
        runtime,
        sales_user,
        runtime.unguarded("erp").client,
        sync,
        orders=ORDERS,
        rng=rng,  # type: ignore[attr-defined]
    )
    supplier = SupplierActor(runtime)
    expected_processes = len(world.orders)
    started = time.monotonic()

    kills = 0
    worker_log = tmp_path / "worker.log"
    process = _start_worker(landscape.config_path, worker_log)
    try:
        while kills < KILLS:
            await asyncio.sleep(rng.uniform(2.0, 6.0))
            await supplier.run_once()
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
            process = _start_worker(landscape.config_path, worker_log)
        await _until(lambda: _settled(runtime, expected_processes, supplier), SETTLE_S, supplier.run_once)
        # Every order submitted again (a replayed CDC stream, a double click): intake sees each order twice.
        await runtime.log.seek(INTAKE_GROUP, from_offset=0)

        async def replayed() -> bool:
            return sum((await runtime.log.lag(INTAKE_GROUP)).values()) == 0

        await _until(replayed, 300, supplier.run_once)
        # A last round for the replay and for ship notices sent after the processes settled on waiting.
        await asyncio.sleep(3)
        await _until(lambda: _settled(runtime, expected_processes, supplier), 300, supplier.run_once)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a step still waiting on Tryton; the test's verdict does not need it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    settled_s = time.monotonic() - started
    check = await check_orders(runtime, world, supplier.answered_purchases)
    print(f"{len(world.orders)} orders settled in {settled_s:.0f} s with {kills} kills: {check.outcomes}")
    assert check.duplicate_sales == 0, check.problems
    assert check.problems == [], "\n".join(check.problems[:20])
    assert kills >= KILLS
    assert check.outcomes.get("rejected", 0) == sum(o.over_credit for o in world.orders)
    assert check.outcomes.get("backordered", 0) == sum(o.short and not o.over_credit for o in world.orders)
    drills = sum(o.drill for o in world.orders)
    assert drills > 0
    assert check.outcomes.get("cancelled", 0) == drills
    assert check.outcomes.get("invoiced", 0) > len(world.orders) // 2

    engine = runtime.process_engine(with_definitions=False)
    states = [view.state for view in engine.list(limit=expected_processes * 2)]
    assert len(states) == expected_processes  # one process per order, however often intake saw it

    # Exactly one trace per order number, across the CRM, the process and the ERP.
    number = next(o.number for o in world.orders if o.drop_ship and not o.over_credit and not o.drill)
    arguments = ["--config", str(landscape.config_path), "trace", "order", number]
    result = await asyncio.to_thread(CliRunner().invoke, app, arguments)
    assert result.exit_code == 0, result.output
    for hop in ("create_sale", "dispatch", "capture.order", "crm", "erp"):
        assert hop in result.output
