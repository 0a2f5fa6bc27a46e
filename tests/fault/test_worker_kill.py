"""Invariants 1-3 under SIGKILL: a flow keeps delivering while its worker process is killed at random points.

10,000 events go through a flow to a recording target whose upserts are state-based (writing the state a record
already holds changes nothing), so its history lists effects: a lost event is missing there, a duplicated effect
appears twice, and an out-of-order delivery shows up as a different sequence for its subject.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from crossdock.config import load_settings
from crossdock.connectors.recording.client import RecordingFile
from crossdock.demo.landscape import GOVERNANCE
from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import EventLog
from crossdock.sync.flow import system_source
from tests.support.services import require_postgres

SOAK = os.environ.get("CROSSDOCK_SOAK") == "1"
EVENTS = 50_000 if SOAK else 10_000
KILLS = 50 if SOAK else 10
SUBJECTS = 400
GROUP = "flow.fault.sink"

pytestmark = [pytest.mark.fault, pytest.mark.timeout(900 if SOAK else 420)]


def _config(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path:
    settings: dict[str, Any] = {
        "partitions": 8,
        "lease_ttl_s": 1.5,
        "systems": {
            "feed": {"type": "recording", "path": str(tmp_path / "feed.db")},
            "sink": {"type": "recording", "path": str(tmp_path / "sink.db")},
        },
        "flows": [
            {
                "name": "fault",
                "source": {"system": "feed", "entity": "customer"},
                "governance": {**GOVERNANCE, "business_owner": "Fault drills", "system_of_record": "feed"},
                "targets": [
                    {
                        "system": "sink",
                        "entity": "customer",
                        "retry": {"max_attempts": 50, "initial_backoff_s": 0.05, "max_backoff_s": 0.5},
                    }
                ],
            }
        ],
    }
    if backend == "postgres":
        base = require_postgres()
        schema = f"cd_fault_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        request.addfinalizer(lambda: _drop_schema(base, schema))
        url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
        settings.update(database_url=url, event_log="postgres")
    else:
        settings["database_url"] = f"sqlite:///{tmp_path / 'crossdock.db'}"
        if backend == "sqlite":
            settings.update(event_log="sqlite", event_log_url=str(tmp_path / "events.db"))
        else:
            settings.update(event_log="nats", nats_url=request.getfixturevalue("nats_url"))
    path = tmp_path / "crossdock.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _start_worker(config: Path, logfile: Path, n: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CROSSDOCK_CONFIG": str(config)}
    with logfile.open("ab") as out:
        out.write(f"\n--- worker {n} ---\n".encode())
        return subprocess.Popen(
            [sys.executable, "-m", "crossdock", "worker", "--consumer", f"worker-{n}", "--poll-interval", "0.2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _events() -> list[CloudEvent]:
    rng = random.Random(42)
    return [
        CloudEvent(
            type="crossdock.customer.updated.v1",
            source=system_source("feed"),
            subject=f"cust-{rng.randrange(SUBJECTS):04d}",
            data={"seq": i, "credit_limit": {"amount": f"{rng.randrange(1, 500) * 100}.00", "currency": "USD"}},
            correlationid=f"fault-{i}",
        )
        for i in range(EVENTS)
    ]


async def _open_log(config: Path) -> EventLog:
    from crossdock.bootstrap import open_log

    return await open_log(load_settings(config))


async def _produce(log: EventLog, events: list[CloudEvent], seconds: float) -> None:
    batches = [events[i : i + 200] for i in range(0, len(events), 200)]
    for batch in batches:
        await log.append(batch)
        await asyncio.sleep(seconds / len(batches))


async def _kill_repeatedly(config: Path, logfile: Path, kills: int, producing: asyncio.Task[None]) -> int:
    rng = random.Random(7)
    done = 0
    while done < kills or not producing.done():
        worker = _start_worker(config, logfile, done)
        await asyncio.sleep(rng.uniform(0.8, 3.0))  # a random point: starting, fetching, writing or journaling
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        done += 1
    return done


async def _drain(config: Path, log: EventLog, logfile: Path) -> None:
    worker = _start_worker(config, logfile, 999)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if sum((await log.lag(GROUP)).values()) == 0:
                return
            await asyncio.sleep(0.5)
        pytest.fail(f"the flow did not drain within 180 s; see {logfile}")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "nats"])
def test_sigkilled_workers_lose_nothing_and_do_nothing_twice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = _config(tmp_path, backend, request)
    logfile = tmp_path / "workers.log"
    events = _events()

    async def scenario() -> int:
        log = await _open_log(config)
        try:
            producing = asyncio.create_task(_produce(log, events, seconds=15))
            kills = await _kill_repeatedly(config, logfile, KILLS, producing)
            await producing
            await _drain(config, log, logfile)
            assert await log.dead_letters(GROUP) == []
            return kills
        finally:
            await log.close()

    kills = asyncio.run(scenario())
    assert kills >= KILLS

    sink = RecordingFile(tmp_path / "sink.db")
    history = sink.history("customer")
    sink.close()
    delivered = [event_id for _, event_id, _ in history]
    expected_ids = {event.id for event in events}
    lost = expected_ids - set(delivered)
    duplicated = len(delivered) - len(set(delivered))
    assert not lost, f"{len(lost)} events lost"
    assert duplicated == 0, f"{duplicated} effects applied twice"
    assert len(delivered) == EVENTS
    by_subject: dict[str, list[str]] = {}
    for subject, event_id, _ in history:
        by_subject.setdefault(subject, []).append(event_id)
    for subject, ids in by_subject.items():
        assert ids == [e.id for e in events if e.subject == subject], f"{subject} delivered out of order"
    (tmp_path / "figures.txt").write_text(f"backend={backend} kills={kills} events={EVENTS} lost=0 duplicated=0\n")
