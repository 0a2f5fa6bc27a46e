"""The ERP goes down in the middle of a sync: the circuit opens, the backlog waits in the log, nothing is lost or
created twice when it returns, and the backlog drains."""

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

ACCOUNTS = 1_000
OUTAGE_S = float(os.environ.get("CROSSDOCK_OUTAGE_S", "60"))
GROUP = "flow.customer-crm-to-erp.erp"

pytestmark = [pytest.mark.fault, pytest.mark.tryton, pytest.mark.timeout(600)]


async def test_an_erp_outage_mid_sync_loses_and_duplicates_nothing(
    landscape: Landscape, runtime: Runtime, sales_user: CrmUser
) -> None:
    account_ids = await create_accounts(sales_user, ACCOUNTS)
    guarded = runtime.connector("erp")
    assert isinstance(guarded, GuardedConnector)
    worker = runtime.worker("outage", poll_interval_s=0.2)
    running = asyncio.create_task(worker.run())
    try:
        # Generous: `make test` runs this beside the tests that do not need Tryton, which share the two cores.
        deadline = time.monotonic() + 300
        while worker.stats.delivered < ACCOUNTS // 5:
            assert time.monotonic() < deadline, "the sync did not get going"
            await asyncio.sleep(0.1)
        delivered_before = worker.stats.delivered
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
    client = erp(runtime).client
    parties = await client.search_read(
        "party.party", [("identifiers.code", "like", "crossdock:%")], fields=["name", "identifiers"]
    )
    names = [party["name"] for party in parties]
    assert len(names) == ACCOUNTS, f"{len(names)} parties for {ACCOUNTS} accounts"
    assert len(set(names)) == ACCOUNTS, "no account was created twice"
    with runtime.store.unit_of_work(read_only=True) as uow:
        linked = {uow.xrefs.find_canonical("customer", "crm", account_id) for account_id in account_ids}
    assert None not in linked
    assert len(linked) == ACCOUNTS
    print(
        f"outage {outage_s:.0f} s, delivered before {delivered_before}, circuit transitions "
        f"{[state.value for _, state in guarded.breaker.transitions]}"
    )
