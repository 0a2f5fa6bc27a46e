"""Orders taken by the intake process are counted on the API's `/metrics`, as appends made in the API process are:
new orders once each; replays, refusals and taken PO numbers not at all."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from crossdock.api.app import create_app
from crossdock.bootstrap import bootstrap
from crossdock.cli.intake_process import start_order_intake
from crossdock.config import Settings
from tests.integration.api.conftest import order
from tests.integration.observability.test_metrics_series import value
from tests.support.metrics_clients import metrics_clients


async def test_orders_taken_by_the_intake_process_are_counted_on_the_apis_metrics(tmp_path: Path) -> None:
    runtime = await bootstrap(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'store.db'}",
            event_log="sqlite",
            event_log_url=str(tmp_path / "log.db"),
            api={"order_intake": "process"},
        )
    )
    intake = start_order_intake(runtime)
    assert intake is not None, "a SQLite store and log: orders go to the intake process"
    context = runtime.api_context(order_intake=intake)
    try:
        transport = httpx.ASGITransport(app=create_app(context))
        async with httpx.AsyncClient(transport=transport, base_url="http://crossdock.test", timeout=60) as http:
            clients = await metrics_clients(runtime.store, http)
            scrape_as, order_as = clients.scrape_as, clients.order_as

            async def post(key: str, body: bytes) -> int:
                headers = order_as | {"Idempotency-Key": key, "Content-Type": "application/json"}
                return (await http.post("/v1/orders", content=body, headers=headers)).status_code

            assert await post("k-1", orjson.dumps(order("PO-1"))) == 202
            assert await post("k-2", orjson.dumps(order("PO-2"))) == 202
            assert await post("k-1", orjson.dumps(order("PO-1"))) == 202  # a replay
            assert await post("k-3", orjson.dumps(order("PO-1"))) == 409  # the PO number is taken
            assert await post("k-4", b'{"lines": "none"}') == 422  # refused, stored under its key
            metrics = (await http.get("/metrics", headers=scrape_as)).text
    finally:
        context.close()
        await runtime.close()
    assert value(metrics, "crossdock_log_appends_total", type="crossdock.order.submitted.v1") == 2
