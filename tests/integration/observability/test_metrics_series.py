"""`/metrics` exposes the series operations watch, and they move when traffic flows: orders through the API, a
customer flow from the CRM (the Salesforce sandbox, in process) to an ERP that refuses and fails some records, and
a process instance."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.api.app import create_app
from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import Settings
from crossdock.process import ProcessContext, ProcessDefinition, ProcessEngine
from crossdock.sync.resilience import CircuitBreaker, GuardedConnector
from tests.integration.api.conftest import order
from tests.integration.salesforce.conftest import Sandbox, sandbox
from tests.support.metrics_clients import metrics_clients
from tests.unit.sync.test_flows import FlakyTarget

__all__ = ["sandbox"]

FLOW = "customer-crm-to-erp"
GROUP = f"flow.{FLOW}.erp"
BUDGET = 1_000


def value(text: str, name: str, **labels: str) -> float:
    """The sample of `name` with exactly these labels (in any order), 0 when absent."""
    for found, number in re.findall(rf"^{re.escape(name)}(?:\{{(.*?)\}})? (\S+)$", text, re.MULTILINE):
        if dict(re.findall(r'(\w+)="([^"]*)"', found)) == labels:
            return float(number)
    return 0.0


@pytest.fixture
async def runtime(tmp_path: Path, sandbox: Sandbox) -> AsyncIterator[Runtime]:
    crm = sandbox.make_connector(daily_call_budget=BUDGET)
    erp = FlakyTarget(tmp_path / "erp.db", transient={"Acme Retry": 1, "Zeta Unreachable": 50}, bad={"Bad Data Inc"})
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        event_log="sqlite",
        event_log_url=str(tmp_path / "log.db"),
        partitions=4,
        systems={"crm": {"type": "salesforce"}, "erp": {"type": "recording", "path": str(tmp_path / "erp.db")}},
        flows=[
            {
                "name": FLOW,
                "source": {"system": "crm", "entity": "customer"},
                "targets": [
                    {"system": "erp", "retry": {"max_attempts": 2, "initial_backoff_s": 0.01, "max_backoff_s": 0.02}}
                ],
            }
        ],
    )
    wired = await bootstrap(
        settings,
        connectors={
            "crm": GuardedConnector(crm, CircuitBreaker("crm")),
            "erp": GuardedConnector(erp, CircuitBreaker("erp")),  # type: ignore[arg-type]  # FlakyTarget narrows upsert
        },
    )
    try:
        yield wired
    finally:
        await wired.close()


async def probe(ctx: ProcessContext, data: dict[str, Any]) -> None:
    """A process that sleeps for a day: an instance in a state that `/metrics` counts."""
    await ctx.sleep(timedelta(days=1))


async def test_every_series_is_exposed_and_moves_with_traffic(runtime: Runtime, sandbox: Sandbox) -> None:
    context = runtime.api_context()
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://crossdock.test") as http:
        clients = await metrics_clients(runtime.store, http)
        scrape_as, order_as = clients.scrape_as, clients.order_as

        async def scrape() -> str:
            response = await http.get("/metrics", headers=scrape_as)
            assert response.status_code == 200
            return response.text

        before = await scrape()

        # Traffic: two orders through the API, four accounts keyed into the CRM, one process started.
        for n in range(2):
            submitted = await http.post(
                "/v1/orders", json=order(f"PO-MET-{n}"), headers=order_as | {"Idempotency-Key": f"met-{n}"}
            )
            assert submitted.status_code == 202, submitted.text
        sales_rep = sandbox.make_connector()
        for n, name in enumerate(("Plain Supply Co", "Acme Retry", "Zeta Unreachable", "Bad Data Inc")):
            account = {"Name": name, "AccountNumber": f"C-9{n:04d}", "CurrencyIsoCode": "USD"}
            await sales_rep.client.request("POST", "sobjects/Account", body=account)
        engine = ProcessEngine(runtime.store, [ProcessDefinition("metrics_probe", 1, probe)], owner="metrics-test")
        try:
            engine.start("metrics_probe", business_key="K-1")
            await engine.run_due()
        finally:
            engine.close()
        worker = runtime.worker("metrics-test", poll_interval_s=0.05)
        for _ in range(40):
            await worker.run_once()
            if len(await runtime.log.dead_letters(GROUP)) == 1 and not sum((await runtime.log.lag(GROUP)).values()):
                break
            await asyncio.sleep(0.05)

        after = await scrape()
    context.close()

    # The API's latency histogram.
    route = {"method": "POST", "route": "/v1/orders", "status": "202"}
    assert value(after, "crossdock_api_request_duration_seconds_count", **route) == 2
    # Appends per event type; consumption, retries and dead letters per group; deliveries by outcome.
    assert value(after, "crossdock_log_appends_total", type="crossdock.order.submitted.v1") == 2
    assert value(after, "crossdock_log_appends_total", type="crossdock.customer.created.v1") == 4
    # The group reads the whole log (six events) and acknowledges all but the dead letter.
    assert value(after, "crossdock_log_consumed_total", group=GROUP) == 5
    assert value(after, "crossdock_log_retries_total", group=GROUP) >= 2
    assert value(after, "crossdock_log_dead_lettered_total", group=GROUP) == 1
    deliveries = {"flow": FLOW, "target": "erp"}
    assert value(after, "crossdock_deliveries_total", **deliveries, outcome="delivered") == 2
    assert value(after, "crossdock_deliveries_total", **deliveries, outcome="quarantined") == 1
    assert value(after, "crossdock_deliveries_total", **deliveries, outcome="retried") >= 2
    assert value(after, "crossdock_deliveries_total", **deliveries, outcome="dead_lettered") == 1
    # Read at scrape time: dead-letter depth and lag, processes by state, exceptions by class and owner, circuits.
    assert value(before, "crossdock_dead_letters", group=GROUP) == 0
    assert value(after, "crossdock_dead_letters", group=GROUP) == 1
    assert value(after, "crossdock_log_lag_events", group=GROUP) == 0
    assert value(after, "crossdock_processes", state="sleeping") == 1
    assert value(after, "crossdock_exceptions_open", **{"class": "data_quality", "owner": "erp-customer"}) == 1
    assert value(after, "crossdock_circuit_state", system="crm") == 0
    assert value(after, "crossdock_circuit_state", system="erp") == 0
    # External API calls and the budget left, per system that counts its calls.
    calls_before = value(before, "crossdock_external_api_calls_total", system="crm")
    calls_after = value(after, "crossdock_external_api_calls_total", system="crm")
    assert calls_after > calls_before
    assert value(after, "crossdock_external_api_budget_limit", system="crm") == BUDGET
    remaining_before = value(before, "crossdock_external_api_budget_remaining", system="crm")
    remaining = value(after, "crossdock_external_api_budget_remaining", system="crm")
    assert remaining < remaining_before <= BUDGET
    assert remaining >= BUDGET - calls_after  # token requests count as calls, not against the budget
    assert "crossdock_external_api_failures_total" in after
