"""`crossdock bench api`: authenticated, idempotent, durable order submissions against the real API, and a bare
FastAPI endpoint measured the same way in the same run.

Each server runs alone in a child process (uvicorn, one worker; the real API with its order intake process, as
`crossdock serve` runs it), the load generator in another child: keep-alive connections, one request at a time
each, a warm-up, then a fixed time. Both servers tune the collector as `crossdock serve` does. The real path per
request: in the API process, bearer token verified, client checked and its rate plan taken, Idempotency-Key
checked and the request hashed; then in the intake process, the body validated and turned into a canonical sales
order, its `order.submitted` event checked against its schema, and, in groups: Idempotency-Keys looked up,
duplicate POs checked, the events appended to the SQLite log (synchronous=FULL), the orders and stored answers
committed to the SQLite store; then the 202. Afterwards the log and the store are opened and every 202 answered
must be in both. The two servers are measured in alternating rounds (see `run`).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crossdock.bench.api_server import SAMPLING_RATIO


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _server(kind: str, workdir: Path) -> Iterator[tuple[int, list[str]]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crossdock.bench.api_server", kind, str(workdir), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        tokens = json.loads(process.stdout.readline())["tokens"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, tokens
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _load(
    port: int, path: str, connections: int, warmup_s: float, seconds: float, tokens: list[str], output: Path
) -> dict[str, Any]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "crossdock.bench.api_load",
            str(port),
            path,
            str(connections),
            str(warmup_s),
            str(seconds),
            json.dumps(tokens),
            str(output),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def _durable_check(workdir: Path) -> dict[str, int]:
    """After the server is gone: orders stored, and their events in the log."""

    def check() -> dict[str, int]:
        with sqlite3.connect(workdir / "store.db") as store:
            (orders,) = store.execute("SELECT count(*) FROM cd_api_orders").fetchone()
        with sqlite3.connect(workdir / "log.db") as log:
            (logged,) = log.execute(
                "SELECT count(*) FROM cd_log_events"  # the bench logs nothing but its orders
            ).fetchone()
        return {"orders_stored": int(orders), "orders_in_log": int(logged)}

    return check()


def _pooled_percentile(latencies: list[float], fraction: float) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] if latencies else 0.0


def run(connections: int = 128, seconds: float = 10.0, warmup_s: float = 2.0, rounds: int = 3) -> dict[str, Any]:
    """Measure the bare endpoint and the real one in alternating rounds; figures as JSON-ready values.

    This VM's speed drifts by tens of percent within minutes, so one bare run followed by one real run compared two
    different machines. Both servers stay up, and `rounds` pairs of loads alternate between them (bare first, then
    real first, ...), each measuring `seconds / rounds` after its own warm-up; the rates are the totals over all
    rounds, and each round's figures are listed so the spread shows.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    per_round_s = seconds / rounds
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "real": []}
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-api-") as tmp:
        workdir = Path(tmp)
        with _server("bare", workdir) as (bare_port, _), _server("real", workdir) as (real_port, tokens):
            targets = {"bare": (bare_port, "/bare", []), "real": (real_port, "/v1/orders", tokens)}
            for n in range(rounds):
                for kind in ("bare", "real") if n % 2 == 0 else ("real", "bare"):
                    port, path, kind_tokens = targets[kind]
                    output = workdir / f"load-{kind}-{n}.json"
                    runs[kind].append(_load(port, path, connections, warmup_s, per_round_s, kind_tokens, output))
        durable = _durable_check(workdir)
    real_latencies = sorted(latency for result in runs["real"] for latency in result["latencies_ms"])
    bare_latencies = sorted(latency for result in runs["bare"] for latency in result["latencies_ms"])
    rps = len(real_latencies) / seconds
    bare_rps = len(bare_latencies) / seconds
    codes: dict[str, int] = {}
    for result in runs["real"]:
        for code, count in result["codes"].items():
            codes[code] = codes.get(code, 0) + count
    return {
        "requests_per_s": round(rps),
        "p50_ms": round(_pooled_percentile(real_latencies, 0.5), 2),
        "p99_ms": round(_pooled_percentile(real_latencies, 0.99), 2),
        "bare_requests_per_s": round(bare_rps),
        "bare_p99_ms": round(_pooled_percentile(bare_latencies, 0.99), 2),
        "vs_bare": round(rps / bare_rps, 3) if bare_rps else 0.0,
        "rounds": [
            {
                "requests_per_s": round(real["requests"] / per_round_s),
                "bare_requests_per_s": round(bare["requests"] / per_round_s),
                "vs_bare": round(real["requests"] / bare["requests"], 3) if bare["requests"] else 0.0,
            }
            for bare, real in zip(runs["bare"], runs["real"], strict=True)
        ],
        "status_codes": codes,
        "accepted": sum(result["accepted_total"] for result in runs["real"]),
        **durable,
        "config": {
            "connections": connections,
            "seconds": seconds,
            "warmup_s": warmup_s,
            "rounds": rounds,
            "method": "both servers up; bare and real loads alternate, each round measuring seconds / rounds "
            "after its own warm-up",
            "server": "uvicorn, 1 API process; the real API also runs its order intake process (api.order_intake)",
            "load": "raw asyncio keep-alive HTTP/1.1, 1 process",
            "durability": "SQLite log and store, WAL, synchronous=FULL",
            "gc": "start-up heap frozen and thresholds raised in both servers, as `crossdock serve` does",
            "tracing": f"observability.sampling_ratio {SAMPLING_RATIO}: that share of requests recorded as traces",
        },
    }
