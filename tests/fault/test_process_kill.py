"""The process engine under SIGKILL: a worker running 300 three-step processes is killed mid-work again and again.

Each step's side effect is an append to an `executions` table in a file of its own (every run of the step body,
with the worker generation and the time) plus an idempotent `applied` row keyed by (instance, step): the effect
itself is idempotent by the step's key, as effects on real systems must be, because a step whose body ran but
whose journal write did not commit runs again after a crash (at-least-once per step). What must never happen is
a step running again after its journal row committed: no execution may start after its step's `finished_at`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

SOAK = os.environ.get("CROSSDOCK_SOAK") == "1"
PROCESSES = 1_000 if SOAK else 300
KILLS = 40 if SOAK else 10
STEPS = ("reserve_stock", "create_sale", "confirm_sale")
STEP_S = 0.04
CONCURRENCY = 6
LEASE_S = 1.0

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300 if SOAK else 120)]


def _effects(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS executions (instance TEXT, business_key TEXT, step TEXT, generation INT, at REAL)"
    )
    connection.execute("CREATE TABLE IF NOT EXISTS applied (instance TEXT, step TEXT, PRIMARY KEY (instance, step))")
    return connection


def definition(effects_path: Path, generation: int) -> Any:
    """The process the workers run: three steps, each an effect and a short wait (a call to a slow system)."""
    from crossdock.process import ProcessContext, ProcessDefinition

    effects = _effects(effects_path)

    def step(ctx: ProcessContext, name: str) -> Any:
        async def effect() -> dict[str, str]:
            effects.execute("BEGIN IMMEDIATE")
            effects.execute(
                "INSERT INTO executions VALUES (?, ?, ?, ?, ?)",
                (ctx.instance_id, ctx.business_key, name, generation, time.time()),
            )
            effects.execute("INSERT OR IGNORE INTO applied VALUES (?, ?)", (ctx.instance_id, name))
            effects.execute("COMMIT")
            await asyncio.sleep(STEP_S)  # the journal write comes after this: a kill here repeats the effect
            return {"step": name}

        return effect

    async def run(ctx: ProcessContext, order: dict[str, Any]) -> dict[str, Any]:
        for name in STEPS:
            await ctx.step(name, step(ctx, name))
        return {"order": order["number"]}

    return ProcessDefinition("kill_test", 1, run)


async def _work(store_url: str, effects_path: Path, generation: int) -> None:
    from crossdock.ports.store import ProcessState
    from crossdock.process import ProcessEngine
    from crossdock.store.sql import SqlStore

    store = SqlStore(store_url)
    engine = ProcessEngine(store, [definition(effects_path, generation)], owner=f"worker-{generation}", lease_s=LEASE_S)
    while True:
        ran = await engine.run_due(limit=200, concurrency=CONCURRENCY)
        if ran == 0:
            if len(engine.list(state=ProcessState.COMPLETED, limit=PROCESSES)) == PROCESSES:
                return
            await asyncio.sleep(0.05)


def _start_worker(store_url: str, effects_path: Path, generation: int, logfile: Path) -> subprocess.Popen[bytes]:
    with logfile.open("ab") as out:
        out.write(f"\n--- worker {generation} ---\n".encode())
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fault.test_process_kill", store_url, str(effects_path), str(generation)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )


def _executions(effects_path: Path, generation: int) -> int:
    connection = _effects(effects_path)
    try:
        (count,) = connection.execute("SELECT count(*) FROM executions WHERE generation = ?", (generation,)).fetchone()
    finally:
        connection.close()
    return int(count)


def test_sigkilled_workers_never_rerun_a_journaled_step(tmp_path: Path) -> None:
    from crossdock.ports.store import ProcessState
    from crossdock.process import ProcessEngine
    from crossdock.store.sql import SqlStore

    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    effects_path = tmp_path / "effects.db"
    logfile = tmp_path / "workers.log"
    _effects(effects_path).close()
    store = SqlStore(store_url)
    store.migrate()
    starter = ProcessEngine(store, [definition(effects_path, 0)], owner="starter")
    for n in range(PROCESSES):
        starter.start("kill_test", business_key=f"SO-{n:05d}", input={"number": n})
    starter.close()

    rng = random.Random(11)
    killed: list[int] = []
    for generation in range(1, KILLS + 1):
        worker = _start_worker(store_url, effects_path, generation, logfile)
        deadline = time.monotonic() + 30
        while _executions(effects_path, generation) == 0 and worker.poll() is None:
            assert time.monotonic() < deadline, f"worker {generation} did no work in 30 s; see {logfile}"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))  # a random point: inside a step, journaling, claiming, renewing
        assert worker.poll() is None, f"worker {generation} ended before it was killed; see {logfile}"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed.append(generation)

    final = _start_worker(store_url, effects_path, KILLS + 1, logfile)
    assert final.wait(timeout=90) == 0, f"the last worker failed; see {logfile}"

    engine = ProcessEngine(store, [], owner="checker")
    views = engine.list(limit=PROCESSES * 2)
    assert len(views) == PROCESSES
    assert {view.state for view in views} == {ProcessState.COMPLETED}
    finished: dict[tuple[str, str], datetime] = {}
    for view in views:
        shown = engine.show(view.id)
        assert shown is not None
        assert [step.name for step in shown.steps] == list(STEPS)
        for step in shown.steps:
            assert step.finished_at is not None
            assert step.attempts == 1, f"{view.business_key} {step.name} was journaled after {step.attempts} runs"
            finished[(view.id, step.name)] = step.finished_at
    engine.close()
    store.dispose()

    effects = _effects(effects_path)
    runs = effects.execute("SELECT instance, step, generation, at FROM executions ORDER BY at").fetchall()
    (applied,) = effects.execute("SELECT count(*) FROM applied").fetchone()
    effects.close()
    assert applied == PROCESSES * len(STEPS), "every step's (idempotent) effect happened"

    after_journal = [
        (instance, step, generation)
        for instance, step, generation, at in runs
        if datetime.fromtimestamp(at, UTC) > finished[(instance, step)]
    ]
    assert after_journal == [], f"{len(after_journal)} step bodies ran again after their journal row committed"

    by_step: dict[tuple[str, str], list[int]] = defaultdict(list)
    for instance, step, generation, _ in runs:
        by_step[(instance, step)].append(generation)
    repeats: dict[int, int] = defaultdict(int)
    for generations in by_step.values():
        for generation in generations[:-1]:  # every run but the journaled one was cut short by a kill
            assert generation in killed, f"a step ran twice without a kill in between: generations {generations}"
            repeats[generation] += 1
    assert all(count <= CONCURRENCY for count in repeats.values()), f"more repeats than steps in flight: {repeats}"
    (tmp_path / "figures.txt").write_text(
        f"processes={PROCESSES} kills={len(killed)} repeated_in_flight={sum(repeats.values())} after_journal=0\n"
    )


if __name__ == "__main__":
    asyncio.run(_work(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))
