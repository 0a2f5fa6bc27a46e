"""The order intake process killed with SIGKILL while orders stream in: no order answered 202 is lost, none is
taken twice, and every client that retries with its Idempotency-Key ends with exactly one order.

The API runs in-process (httpx over ASGI) with its submissions going to a real intake process over the link, as
`crossdock serve` runs it; the intake process is killed twice mid-stream and restarted by its supervisor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from crossdock.api.app import create_app
from crossdock.api.clients import create_client
from crossdock.api.context import ApiContext
from crossdock.api.security.scopes import Scope
from crossdock.bootstrap import bootstrap
from crossdock.cli.intake_process import IntakeProcess, start_order_intake
from crossdock.config import EventLogBackend, Settings
from crossdock.ports.api import ClientKind
from tests.integration.api.conftest import order

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]

ORDERS = 300
CONCURRENCY = 24


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        event_log="sqlite",
        event_log_url=str(tmp_path / "log.db"),
        api={"order_intake": "process", "rate_plans": {"partner": {"requests_per_second": 1e6, "burst": 10**6}}},
    )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ApiContext, httpx.AsyncClient, str, IntakeProcess]]:
    runtime = await bootstrap(_settings(tmp_path))
    process = IntakeProcess(runtime.settings)
    process.start()
    context = runtime.api_context(order_intake=process.link())
    create_client(
        runtime.store,
        name="acme",
        kind=ClientKind.PARTNER,
        scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ],
        now=context.clock(),
        partner_id="cus-acme",
        client_id="acme-portal",
    )
    token = context.issuer.issue(
        client_id="acme-portal",
        kind=ClientKind.PARTNER,
        scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ],
        partner_id="cus-acme",
        ttl_s=3600,
    ).access_token
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://crossdock.test", timeout=60) as http:
        yield context, http, token, process
    context.close()
    await runtime.close()


async def test_serve_sends_orders_to_the_intake_process_when_store_and_log_are_shared(tmp_path: Path) -> None:
    runtime = await bootstrap(_settings(tmp_path))
    intake = start_order_intake(runtime)
    try:
        assert intake is not None
    finally:
        if intake is not None:
            intake.close()
        await runtime.close()
    memory_log = _settings(tmp_path).model_copy(update={"event_log": EventLogBackend.MEMORY})
    threaded = await bootstrap(memory_log)
    assert start_order_intake(threaded) is None  # a log another process cannot open: a writer thread
    await threaded.close()


async def test_killing_the_intake_process_loses_no_acknowledged_order_and_takes_none_twice(
    served: tuple[ApiContext, httpx.AsyncClient, str, IntakeProcess], tmp_path: Path
) -> None:
    _, http, token, process = served
    answers: dict[str, list[int]] = {}
    accepted: dict[str, str] = {}  # reference -> order id from the 202
    pending = [f"PO-{n:04d}" for n in range(ORDERS)]
    kills = 0

    async def submit(reference: str) -> None:
        # The client's loop: the same key until it gets an answer that is not a 503.
        while True:
            response = await http.post(
                "/v1/orders",
                content=orjson.dumps(order(reference)),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"key-{reference}",
                    "Content-Type": "application/json",
                },
            )
            answers.setdefault(reference, []).append(response.status_code)
            if response.status_code != 503:
                assert response.status_code == 202, response.text
                order_id = response.json()["id"]
                assert accepted.setdefault(reference, order_id) == order_id
                return
            assert response.headers["Retry-After"]
            await asyncio.sleep(0.2)

    async def clients() -> None:
        queue = list(pending)

        async def one_client() -> None:
            while queue:
                await submit(queue.pop())

        await asyncio.gather(*(one_client() for _ in range(CONCURRENCY)))

    async def killer() -> None:
        nonlocal kills
        for threshold in (ORDERS // 4, ORDERS // 2):
            while len(accepted) < threshold:
                await asyncio.sleep(0.01)
            pid = process.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            kills += 1
            while process.pid == pid:  # the supervisor starts a new one
                await asyncio.sleep(0.05)

    await asyncio.gather(clients(), killer())

    assert kills == 2
    assert len(accepted) == ORDERS
    interrupted = [reference for reference, codes in answers.items() if 503 in codes]
    assert interrupted, "no submission was in flight when the intake process died: the test proved nothing"
    # Retried after a 503: the same key answers the stored 202 (if the commit had happened) or takes it now.
    with sqlite3.connect(tmp_path / "store.db") as store:
        rows = store.execute("SELECT customer_reference, order_id FROM cd_api_orders").fetchall()
    with sqlite3.connect(tmp_path / "log.db") as log:
        bodies = [orjson.loads(body) for (body,) in log.execute("SELECT body FROM cd_log_events")]
    stored = dict(rows)
    assert len(rows) == ORDERS, "an order was stored twice or not at all"
    assert stored == accepted
    submitted = [event["subject"] for event in bodies if event["type"] == "crossdock.order.submitted.v1"]
    assert sorted(submitted) == sorted(accepted.values()), "every order has exactly one event in the log"
