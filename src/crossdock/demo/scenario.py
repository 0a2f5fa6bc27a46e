"""The demo scenario on the spine: two systems synced both ways through the log, then checked against each other.

The systems are recording targets standing in for a CRM and an ERP (the real Tryton ERP and the Salesforce
sandbox take their places as their connectors land). Everything between them is the production path: capture,
schema validation, the SQLite log, delivery journal, cross-reference and echo suppression.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import load_settings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.demo.seed import crm_account, malformed_account
from crossdock.ports.store import ExceptionStatus
from crossdock.sync.resilience import GuardedConnector

ACCOUNTS = 200
Say = Callable[[str], None]


def write_config(workdir: Path) -> Path:
    """A crossdock.yaml for the demo, in its own working directory."""
    config = {
        "database_url": f"sqlite:///{workdir / 'crossdock.db'}",
        "event_log": "sqlite",
        "event_log_url": str(workdir / "events.db"),
        "partitions": 8,
        "lease_ttl_s": 5,
        "systems": {
            "crm": {"type": "recording", "path": str(workdir / "crm.db")},
            "erp": {"type": "recording", "path": str(workdir / "erp.db")},
        },
        "flows": [
            {
                "name": "customer-crm-to-erp",
                "source": {"system": "crm", "entity": "customer"},
                "targets": [{"system": "erp", "entity": "customer"}],
                "business_owner": "Sales Operations",
                "technical_owner": "Integration team",
                "system_of_record": "crm",
                "sla": "15m",
                "criticality": "high",
            },
            {
                "name": "customer-erp-to-crm",
                "source": {"system": "erp", "entity": "customer"},
                "targets": [{"system": "crm", "entity": "customer"}],
                "business_owner": "Finance",
                "technical_owner": "Integration team",
                "system_of_record": "erp",
                "sla": "15m",
                "criticality": "high",
            },
        ],
    }
    path = workdir / "crossdock.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _file(runtime: Runtime, system: str) -> Any:
    connector = runtime.connector(system)
    inner = connector.inner if isinstance(connector, GuardedConnector) else connector
    assert isinstance(inner, RecordingConnector)
    return inner.file


async def _cycle(runtime: Runtime) -> dict[str, int]:
    """One pass of every capture, then deliveries until the log is drained."""
    stats = await runtime.worker("demo").run_once()
    return {"published": stats.captured, "delivered": stats.delivered}


def prepare(workdir: Path) -> Path:
    """A fresh working directory with the demo's config; returns the config path."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return write_config(workdir)


async def play(workdir: Path, say: Say) -> dict[str, Any]:
    """Run the scenario and return the JSON summary."""
    config = await asyncio.to_thread(prepare, workdir)
    runtime = await bootstrap(load_settings(config))
    started = time.perf_counter()
    rng = random.Random(2026)
    try:
        crm, erp = _file(runtime, "crm"), _file(runtime, "erp")
        crm.upsert("customer", [(f"crm-{n:04d}", None, None, crm_account(n, rng)) for n in range(ACCOUNTS)])
        crm.upsert("customer", [("crm-bad", None, None, malformed_account())])
        say(f"Sales entered {ACCOUNTS} accounts in the CRM, and one half-filled one.")

        first = await _cycle(runtime)
        say(f"Synced CRM → ERP: {first['published']} changes logged, {first['delivered']} written to the ERP.")

        changed = rng.sample(range(ACCOUNTS), 20)
        updates = []
        for n in changed:
            local = f"R-{canonical_id_of(runtime, n)}"
            record = erp.record("customer", local)
            record["credit_limit"] = {"amount": f"{rng.randrange(10, 90) * 1000}.00", "currency": "USD"}
            record["payment_terms"] = {"code": "N30", "net_days": 30}
            updates.append((record["id"], None, None, record))
        erp.upsert("customer", updates)
        say("Finance set credit limits and payment terms on 20 accounts in the ERP.")
        second = await _cycle(runtime)
        say(f"Synced ERP → CRM: {second['published']} changes logged, {second['delivered']} written to the CRM.")

        quiet = [await _cycle(runtime) for _ in range(3)]
        echoes = sum(c["published"] + c["delivered"] for c in quiet)
        say(f"Three more poll cycles: {echoes} writes (Crossdock does not re-publish what it wrote).")
        return _summary(runtime, crm, erp, [first, second, *quiet], time.perf_counter() - started)
    finally:
        await runtime.close()


def canonical_id_of(runtime: Runtime, n: int) -> str:
    """The canonical id the capture minted for CRM account n."""
    with runtime.store.unit_of_work(read_only=True) as uow:
        ref = uow.xrefs.find_canonical("customer", "crm", f"R-crm-{n:04d}")
    assert ref is not None, f"account crm-{n:04d} was never captured"
    return ref.canonical_id


def _summary(runtime: Runtime, crm: Any, erp: Any, cycles: list[dict[str, int]], seconds: float) -> dict[str, Any]:
    """Both systems checked against each other through the cross-reference."""
    lost = duplicated = mismatched = 0
    with runtime.store.unit_of_work(read_only=True) as uow:
        by_class = uow.exceptions.count_by_class()
        open_exceptions = uow.exceptions.list(status=ExceptionStatus.OPEN, limit=1000)
        for n in range(ACCOUNTS):
            ref = uow.xrefs.find_canonical("customer", "crm", f"R-crm-{n:04d}")
            erp_ref = uow.xrefs.find_local("customer", ref.canonical_id, "erp") if ref else None
            if ref is None or erp_ref is None or erp.record("customer", erp_ref.local_id) is None:
                lost += 1
                continue
            crm_side = {k: v for k, v in crm.record("customer", ref.local_id).items() if k != "id"}
            erp_side = {k: v for k, v in erp.record("customer", erp_ref.local_id).items() if k != "id"}
            mismatched += crm_side != erp_side
    duplicated = erp.count("customer") - (ACCOUNTS - lost)
    return {
        "scenario": "customer master sync, CRM ↔ ERP (spine demo)",
        "records_synced": {
            "customer-crm-to-erp": cycles[0]["delivered"],
            "customer-erp-to-crm": cycles[1]["delivered"],
        },
        "writes_after_sync": sum(c["published"] + c["delivered"] for c in cycles[2:]),
        "exceptions_by_class": by_class,
        "exceptions": [{"class": e.exception_class.value, "reason": e.reason} for e in open_exceptions],
        "lost": lost,
        "duplicated": duplicated,
        "mismatched": mismatched,
        "seconds": round(seconds, 2),
    }
