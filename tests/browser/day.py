"""A small business day for the browser tests, played through the real services on SQLite.

Customers change in a CRM and flow to an ERP (recording systems); one change is dead-lettered while the ERP fails,
and the transient exception it raises goes to the ERP's queue. An order runs quote-to-order against an in-memory
order desk (Tryton itself runs in the `tryton` tests, not here), leaving its process journal, lineage and events.
A supplier's 855 is overdue, as the partner SLA check reports it. Then `crossdock serve` runs on the same store
and log, with the ERP working again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from crossdock.bootstrap import bootstrap
from crossdock.config import load_settings
from crossdock.connectors.recording.client import RecordingFile
from crossdock.connectors.recording.config import RecordingSettings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.orders.policy import OrderPolicy
from crossdock.orders.quote_to_order import NAME, OrderSystems, QuoteToOrder, process_input
from crossdock.ports.store import BusinessException, CrossReference, ExceptionClass, Store
from crossdock.process import ProcessEngine
from tests.unit.orders.test_quote_to_order import Board, ShelfDesk, an_order

FLOW = "customer-crm-to-erp"
ORDER = "SF-1001"
CUSTOMERS: list[dict[str, Any]] = [
    {"id": f"cus_{n}", "number": f"C-{1000 + n}", "name": name, "roles": ["bill_to"], "currency": "USD"}
    for n, name in enumerate(("Harbor Supply", "Acme Industrial", "Zeta Foods"), start=1)
]


@dataclass
class Day:
    """Where the day's systems live, and what the tests look for."""

    config: Path
    url: str
    erp_file: Path
    dead_event_id: str
    sla_exception_id: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(workdir: Path, port: int) -> Path:
    settings: dict[str, Any] = {
        "database_url": f"sqlite:///{workdir / 'crossdock.db'}",
        "event_log": "sqlite",
        "event_log_url": str(workdir / "events.db"),
        "partitions": 2,
        "lease_ttl_s": 2,
        "systems": {
            "crm": {"type": "recording", "path": str(workdir / "crm.db")},
            "erp": {"type": "recording", "path": str(workdir / "erp.db")},
        },
        "flows": [
            {
                "name": FLOW,
                "source": {"system": "crm", "entity": "customer"},
                "targets": [{"system": "erp", "retry": {"max_attempts": 1, "initial_backoff_s": 0.01}}],
                "governance": {
                    "business_owner": "Sales Operations",
                    "technical_owner": "Integration team",
                    "system_of_record": "crm",
                    "sla_target": "15m",
                    "criticality": "high",
                    "escalation_path": ["integration-oncall@distributor.example"],
                    "sensitive": True,  # customer master data: a replay needs a second person
                },
            }
        ],
        "api": {"host": "127.0.0.1", "port": port},
    }
    path = workdir / "crossdock.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


async def play(config: Path) -> tuple[str, int]:
    """Seed the day; return the dead-lettered event's id and the overdue-855 exception's id."""
    workdir = config.parent
    crm = RecordingFile(workdir / "crm.db")
    crm.upsert("customer", [(c["id"], None, None, c) for c in CUSTOMERS])
    settings = load_settings(config)
    runtime = await bootstrap(settings)
    try:
        worker = runtime.worker("seed")
        for _ in range(3):
            await worker.run_once()
    finally:
        await runtime.close()
    # Payment terms change in the CRM while the ERP fails every call: the change is dead-lettered.
    crm.upsert("customer", [("cus_1", None, None, {**CUSTOMERS[0], "name": "Harbor Supply Co."})])
    crm.close()
    failing = RecordingConnector("erp", RecordingSettings(path=workdir / "erp.db", fail_every=1))
    source = RecordingConnector("crm", RecordingSettings(path=workdir / "crm.db"))
    runtime = await bootstrap(settings, connectors={"crm": source, "erp": failing})
    try:
        worker = runtime.worker("seed")
        for _ in range(3):
            await worker.run_once()
        [dead] = await runtime.log.dead_letters()
        await _order(runtime.store)
        sla_id = _overdue_855(runtime.store)
    finally:
        await runtime.close()
    return dead.event.id, sla_id


async def _order(store: Store) -> None:
    """SF-1001 from quote to invoice, against an order desk with stock."""
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "cus-1", "erp", "7"))
        uow.commit()
    systems = OrderSystems(erp=ShelfDesk({"A": 50}), crm=Board(), store=store, policy=OrderPolicy())
    engine = ProcessEngine(store, definitions=QuoteToOrder(systems).definitions(), owner="seed")
    try:
        order = an_order(("A", 5), number=ORDER, po="PO-7781")
        engine.start(NAME, business_key=order.number, input=process_input(order, crm_system="crm", crm_order_id="801A"))
        for _ in range(6):
            await engine.run_due()
    finally:
        engine.close()


def _overdue_855(store: Store) -> int:
    """The exception the partner SLA check raises when a supplier's 855 is a day late."""
    with store.unit_of_work() as uow:
        exception_id = uow.exceptions.raise_exception(
            BusinessException(
                exception_class=ExceptionClass.DOWNSTREAM_OUTAGE,
                reason="no 855 from acme for PO PO-4410 within 24 h of the 850 (850_PO-4410.edi); call the supplier "
                "or resend the 850",
                owner_queue="purchasing",
                system="edi-acme",
                entity="purchase_order",
                subject="PO-4410",
                details={"partner": "acme", "sent_at": "2026-11-20T08:00:00+00:00", "sla": "855"},
                dedupe_key="sla:855:acme:PO-4410",
            )
        )
        uow.commit()
    return exception_id


def start_serve(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """`crossdock serve` on the day's config, its output in a file."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crossdock", "--config", str(config), "serve", "--poll-interval", "0.2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"crossdock serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/console/login", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"crossdock serve did not answer within {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(workdir: Path) -> Day:
    port = free_port()
    config = write_config(workdir, port)
    # On a thread of its own: Playwright's sync API may already run an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        dead_event_id, sla_id = pool.submit(asyncio.run, play(config)).result()
    return Day(config, f"http://127.0.0.1:{port}", workdir / "erp.db", dead_event_id, sla_id)
