"""The ERP goes down in the middle of a sync: the circuit opens, the backlog waits in the log, nothing is lost or
created twice when it returns, and the backlog drains.

The default run syncs 300 accounts through a 30 s outage; `make soak` (CROSSDOCK_SOAK=1) syncs 1,000 through 60 s.
Tryton creates about three parties a second here, so the account count is what sets this test's length.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from crossdock.bootstrap import Runtime
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.sync.resilience import CircuitState, GuardedConnector
from tests.e2e.test_customer_master_sync import erp
from tests.support.landscape import create_accounts

SOAK = os.environ.get("CROSSDOCK_SOAK") == "1"
ACCOUNTS = 1_000 if SOAK else 300
OUTAGE_S = float(os.environ.get("CROSSDOCK_OUTAGE_S", "60" if SOAK else "30"))
GROUP = "flow.customer-crm-to-erp.erp"
_SYNCED = [("identifiers.code", "like", "crossdock:%")]

pytestmark = [pytest.mark.fault, pytest.mark.tryton, pytest.mark.timeout(600)]


async def test_an_erp_outage_mid_sync_loses_and_duplicates_nothing(
    landscape: Landscape, runtime: Runtime, sales_user: CrmUser
) -> None:
    account_ids = await create_accounts(sales_user, ACCOUNTS)
    client = erp(runtime).client
    guarded = runtime.connector("erp")
    assert isinstance(guarded, GuardedConnector)
    worker = runtime.worker("outage", poll_interval_s=0.2)
    running = asyncio.create_task(worker.run())
    try:
        # Generous: `make test` runs this beside the tests that do not need Tryton, which share the two cores.
        deadline = time.monotonic() + 300
        # Mid-sync as Tryton sees it: the worker counts a batch only once it is journaled, so watch the parties.
        while await client.execute("party.party", "search_count", _SYNCED) < ACCOUNTS // 5:
            assert time.monotonic() < deadline, "the sync did not get going"
            await asyncio.sleep(0.2)
        delivered_before = worker.stats.delivered
        parties_before = await client.execute("party.party", "search_count", _SYNCED)
        landscape.tryton.stop()
        outage_started = time.monotonic()
        await asyncio.sleep(OUTAGE_S)
        assert guarded.breaker.state is not CircuitState.CLOSED, "the circuit opened while the ERP was down"
        assert CircuitState.OPEN in [state for _, state in guarded.breaker.transitions]
        assert worker.stats.delivered - delivered_before < ACCOUNTS, "nothing can be delivered to a dead ERP"
        assert sum((await runtime.log.lag(GROUP)).values()) > 0, "the backlog waits in the log"
        landscape.tryton.start()
        outage_s = time.monotonic() - outage_started
        deadline = time.monotonic() + 240
        while sum((await runtime.log.lag(GROUP)).values()) > 0 or worker.stats.delivered < ACCOUNTS:
            assert time.monotonic() < deadline, f"the backlog did not drain: {worker.stats}"
            await asyncio.sleep(0.5)
    finally:
        worker.stop()
        await running

    assert await runtime.log.dead_letters(GROUP) == [], "an outage must not dead-letter the backlog"
    assert guarded.breaker.state is CircuitState.CLOSED
    parties = await client.search_read("party.party", _SYNCED, fields=["name", "identifiers"])
    names = [party["name"] for party in parties]
    assert len(names) == ACCOUNTS, f"{len(names)} parties for {ACCOUNTS} accounts"
    assert len(set(names)) == ACCOUNTS, "no account was created twice"
    with runtime.store.unit_of_work(read_only=True) as uow:
        linked = {uow.xrefs.find_canonical("customer", "crm", account_id) for account_id in account_ids}
    assert None not in linked
    assert len(linked) == ACCOUNTS
    print(
        f"{ACCOUNTS} accounts, {parties_before} parties before the outage, outage {outage_s:.0f} s, circuit "
        f"transitions "
        f"{[state.value for _, state in guarded.breaker.transitions]}"
    )
