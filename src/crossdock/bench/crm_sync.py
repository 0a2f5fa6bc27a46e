"""`crossdock bench crm-sync`: 10,000 ERP customers from a real Tryton into the Salesforce sandbox.

The landscape runs only the ERP → CRM customer flow, so the sandbox's own call statistics (reset when the measured
sync starts) count exactly what the sync cost: the token, the upserts, nothing else.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import load_settings
from crossdock.demo.landscape import Landscape, flow

FLOW = flow("erp", "crm", "customer", "Finance")
GROUP = "flow.customer-erp-to-crm.crm"


async def seed_tryton(runtime: Runtime, customers: int) -> float:
    """Create the ERP's customers over JSON-RPC, 500 per call; return the seconds it took (not measured)."""
    from crossdock.connectors.tryton.connector import TrytonConnector

    tryton = runtime.unguarded("erp")
    assert isinstance(tryton, TrytonConnector)
    client = tryton.client
    [us] = await client.search("country.country", [("code", "=", "US")], limit=1)
    started = time.perf_counter()
    for start in range(0, customers, 500):
        await client.create(
            "party.party",
            [
                {
                    "name": f"Keystone Industrial Supply {n:05d}",
                    "code": f"E-{n:05d}",
                    "addresses": [
                        [
                            "create",
                            [
                                {
                                    "street": f"{n} Distribution Way",
                                    "city": "Omaha",
                                    "postal_code": "68102",
                                    "country": us,
                                    "invoice": True,
                                    "delivery": True,
                                }
                            ],
                        ]
                    ],
                    "contact_mechanisms": [["create", [{"type": "email", "value": f"ap{n}@keystone.example"}]]],
                }
                for n in range(start, min(customers, start + 500))
            ],
        )
    return time.perf_counter() - started


async def _sync(runtime: Runtime, landscape: Landscape, customers: int) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {landscape.salesforce.admin_token}"}
    async with httpx.AsyncClient(base_url=landscape.salesforce.url, timeout=60) as http:
        (await http.post("/sandbox/stats/reset", headers=admin)).raise_for_status()
        worker = runtime.worker("bench")
        started = time.perf_counter()
        delivered = 0
        while True:
            stats = await worker.run_once()
            delivered += stats.delivered
            if stats.captured == 0 and sum((await runtime.log.lag(GROUP)).values()) == 0:
                break
        elapsed = time.perf_counter() - started
        calls = (await http.get("/sandbox/stats", headers=admin)).json()
    api_calls = int(calls["calls"])
    return {
        "records": delivered,
        "api_calls": api_calls,
        "calls_per_1000_records": round(api_calls / max(delivered, 1) * 1000, 2),
        "records_per_s": round(delivered / elapsed),
        "seconds": round(elapsed, 2),
        "calls_by_endpoint": calls["byEndpoint"],
    }


async def _run(customers: int, workdir: Path) -> dict[str, Any]:
    landscape = Landscape(workdir, flows=[FLOW], ownership={})
    landscape.start()
    try:
        runtime = await bootstrap(load_settings(landscape.config_path))
        try:
            seed_s = await seed_tryton(runtime, customers)
            figures = await _sync(runtime, landscape, customers)
        finally:
            await runtime.close()
    finally:
        landscape.stop()
    return {"benchmark": "crm-sync", "customers": customers, "seed_seconds": round(seed_s, 1), **figures}


def run(customers: int = 10_000) -> dict[str, Any]:
    """Seed `customers` into Tryton, sync them into the Salesforce sandbox, and report the cost."""
    with tempfile.TemporaryDirectory(prefix="crossdock-crm-sync-") as tmp:
        return asyncio.run(_run(customers, Path(tmp)))
