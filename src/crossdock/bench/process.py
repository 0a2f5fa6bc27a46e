"""`crossdock bench process`: a trivial 3-step process with durable checkpoints, on our engine and on DBOS.

Both run on SQLite in WAL mode with synchronous=FULL (every commit waits for fsync), on a fresh database file, with
the same number of processes and the same number in flight:

- ours: `start_async` for every process (group-committed), then `run_due(concurrency=in_flight)` until all are
  completed; each step's result is journaled before the next step starts.
- DBOS 3.4: `in_flight` asyncio tasks each awaiting the workflow inline, one after another, in a child process
  (DBOS keeps process-wide state). Its system database file is switched to WAL before DBOS opens it, so it
  writes with the same durability; inline calls were DBOS's faster mode here (a queue with the same
  concurrency, polling every 10 ms, was slower).

`processes_per_s` counts from the first start to the last completion; `step_p50_ms`/`step_p99_ms` are the time
each `await step(...)` took inside the process (the checkpoint's commit), measured the same way on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STEPS = ("reserve_stock", "confirm_sale", "notify_customer")
WARMUP = 100


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _figures(prefix: str, processes: int, seconds: float, latencies_ms: list[float]) -> dict[str, Any]:
    return {
        f"{prefix}processes_per_s": round(processes / seconds) if seconds > 0 else 0,
        f"{prefix}step_p50_ms": round(statistics.median(latencies_ms), 3) if latencies_ms else 0.0,
        f"{prefix}step_p99_ms": round(percentile(latencies_ms, 99), 3),
        f"{prefix}seconds": round(seconds, 3),
    }


async def _run_ours(path: Path, processes: int, in_flight: int) -> dict[str, Any]:
    from crossdock.ports.store import ProcessState
    from crossdock.process import ProcessContext, ProcessDefinition, ProcessEngine
    from crossdock.store.sql import SqlStore

    latencies: list[float] = []

    async def checkpoint() -> dict[str, int]:
        return {"ok": 1}

    async def trivial(ctx: ProcessContext, order: dict[str, Any]) -> dict[str, Any]:
        for name in STEPS:
            started = time.perf_counter()
            await ctx.step(name, checkpoint)
            latencies.append((time.perf_counter() - started) * 1000)
        return {"order": order["n"]}

    store = SqlStore(f"sqlite:///{path}")
    store.migrate()
    engine = ProcessEngine(store, [ProcessDefinition("bench", 1, trivial)], owner="bench", lease_s=60.0)
    try:
        await _drive(engine, [f"W-{n}" for n in range(WARMUP)], in_flight)
        latencies.clear()
        keys = [f"SO-{n}" for n in range(processes)]
        with _frozen_heap():
            started = time.perf_counter()
            await _drive(engine, keys, in_flight)
            seconds = time.perf_counter() - started
        completed = len(engine.list(state=ProcessState.COMPLETED, definition="bench", limit=processes + WARMUP))
        if completed != processes + WARMUP:
            raise RuntimeError(f"only {completed} of {processes + WARMUP} bench processes completed")
    finally:
        engine.close()
        store.dispose()
    return _figures("", processes, seconds, latencies)


async def _drive(engine: Any, keys: list[str], in_flight: int) -> None:
    await asyncio.gather(*(engine.start_async("bench", business_key=key, input={"n": n}) for n, key in enumerate(keys)))
    ran = 0
    while ran < len(keys):
        done = await engine.run_due(limit=len(keys) - ran, concurrency=in_flight)
        if done == 0:
            raise RuntimeError("bench processes stopped being due before all completed")
        ran += done


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep what setup allocated (modules, SQLAlchemy metadata, DBOS's registry) out of the collector's scans
    while measuring, as a long-running worker that froze its heap after startup would; done for both engines."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def dbos_version() -> str | None:
    """The installed DBOS version, or None when it is not installed."""
    try:
        return importlib.metadata.version("dbos")
    except importlib.metadata.PackageNotFoundError:
        return None


def _run_dbos_child(path: Path, processes: int, in_flight: int) -> dict[str, Any]:
    """DBOS in a child process (it keeps process-wide state and threads); its figures as JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "crossdock.bench.process", "dbos", str(path), str(processes), str(in_flight)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the DBOS bench failed: {completed.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def _dbos_main(path: Path, processes: int, in_flight: int) -> dict[str, Any]:
    import sqlite3

    from dbos import DBOS

    # Same durability as ours: WAL (persistent in the file) and synchronous=FULL (SQLite's default here).
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    DBOS(config={"name": "crossdock-bench", "system_database_url": f"sqlite:///{path}", "log_level": "WARNING"})
    latencies: list[float] = []

    @DBOS.step()
    async def checkpoint() -> dict[str, int]:
        return {"ok": 1}

    @DBOS.workflow()
    async def trivial(n: int) -> dict[str, Any]:
        for _ in STEPS:
            started = time.perf_counter()
            await checkpoint()
            latencies.append((time.perf_counter() - started) * 1000)
        return {"order": n}

    async def drive(count: int) -> float:
        async def caller(first: int) -> None:
            for n in range(first, count, in_flight):
                await trivial(n)

        started = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(in_flight)))
        return time.perf_counter() - started

    DBOS.launch()
    try:
        asyncio.run(drive(WARMUP))
        latencies.clear()
        with _frozen_heap():
            seconds = asyncio.run(drive(processes))
    finally:
        DBOS.destroy()
    return _figures("dbos_", processes, seconds, latencies)


def run(processes: int = 2_000, in_flight: int = 50, *, dbos: bool = True) -> dict[str, Any]:
    """Run the process benchmark (ours, then DBOS if installed); return one JSON-ready dict."""
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-process-") as tmp:
        workdir = Path(tmp)
        figures = asyncio.run(_run_ours(workdir / "ours.db", processes, in_flight))
        version = dbos_version() if dbos else None
        result: dict[str, Any] = {
            "benchmark": "process",
            "backend": "sqlite",
            "processes": processes,
            "in_flight": in_flight,
            "steps_per_process": len(STEPS),
            "durability": "full (WAL, synchronous=FULL)",
            **figures,
        }
        if version is None:
            result["dbos"] = "not measured: DBOS is not installed (pip install 'dbos>=3.4,<4', in the dev extra)"
        else:
            theirs = _run_dbos_child(workdir / "dbos.db", processes, in_flight)
            result.update(dbos_version=version, **theirs)
            result["vs_dbos"] = round(figures["processes_per_s"] / max(theirs["dbos_processes_per_s"], 1), 2)
        result["config"] = {
            "process": f"{len(STEPS)} steps, each returning a small JSON object; no compensations",
            "ours": f"start_async x{processes}, then run_due(concurrency={in_flight}); journal group commit",
            "dbos": f"{in_flight} asyncio tasks awaiting @DBOS.workflow inline; SQLite system database in WAL",
            "warmup": f"{WARMUP} processes on each engine, not counted",
            "gc": "setup objects frozen (gc.freeze) before measuring, on both engines",
        }
        return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "dbos":
        print(json.dumps(_dbos_main(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        raise SystemExit("usage: python -m crossdock.bench.process dbos <sqlite file> <processes> <in flight>")
