"""`crossdock bench log`: append and end-to-end throughput of an EventLog at full durability, against a raw baseline.

The raw SQLite baseline is plain sqlite3 `executemany` + commit of the same rows into the same table shape with the
same pragmas (WAL, synchronous=FULL), in the same run, so `vs_raw_sqlite` is the cost of everything Crossdock adds:
envelope serialisation, schema validation, partitioning, de-duplication and group commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import EventLog

EVENT_TYPE = "crossdock.customer.updated.v1"
BATCH = 500
PRODUCERS = 4


def customer_data(n: int) -> dict[str, Any]:
    """A realistic canonical customer (bill-to, ship-to, terms, credit, contacts): about 1 KiB as a CloudEvent."""
    from crossdock.model.party import Customer

    return Customer.model_validate(
        {
            "id": f"cus_{n:06d}",
            "number": f"C-{100000 + n}",
            "name": f"Summit Supply Co {n}",
            "roles": ["sold_to", "bill_to", "ship_to"],
            "identifiers": [{"scheme": "duns", "value": "150483782"}],
            "currency": "USD",
            "payment_terms": {"code": "2-10-N30", "net_days": 30, "discount_percent": "2", "discount_days": 10},
            "credit_limit": {"amount": f"{25000 + n % 50 * 1000}", "currency": "USD"},
            "price_group": "CONTRACTORS",
            "sales_rep": "rep_jdoe",
            "channel": "edi",
            "addresses": [
                {
                    "kind": "bill_to",
                    "lines": [f"{n % 900 + 100} Commerce Parkway"],
                    "city": "Atlanta",
                    "region": "GA",
                    "postal_code": "30303",
                    "country": "US",
                },
                {
                    "kind": "ship_to",
                    "lines": [f"{n % 700 + 200} Industrial Blvd", "Dock 4"],
                    "city": "Marietta",
                    "region": "GA",
                    "postal_code": "30060",
                    "country": "US",
                },
            ],
            "contact_points": [
                {"channel": "email", "value": f"ap{n}@summit-supply.example", "label": "accounts payable"},
            ],
        }
    ).model_dump(mode="json", exclude_none=True)


def make_events(count: int, subjects: int = 1000) -> list[CloudEvent]:
    """Customer updates of about 1 KiB each (structured-mode JSON), spread over `subjects` customers."""
    templates = [customer_data(n) for n in range(subjects)]
    return [
        CloudEvent(
            type=EVENT_TYPE,
            source="/systems/bench",
            subject=templates[i % subjects]["id"],
            data=templates[i % subjects],
            correlationid=f"bench-{i}",
            businesskeys={"customer_number": templates[i % subjects]["number"]},
        )
        for i in range(count)
    ]


def validating_publisher(log: EventLog) -> Callable[[list[CloudEvent]], Awaitable[Any]]:
    """The production publish path: envelope check and schema validation of every event, then append."""
    from crossdock.events.registry import SchemaRegistry
    from crossdock.sync.publish import Publisher

    return Publisher(log, SchemaRegistry.default().validate).publish


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def measure_append(
    log: EventLog, events: list[CloudEvent], publish: Callable[[list[CloudEvent]], Awaitable[Any]] | None = None
) -> tuple[float, list[float]]:
    """Events per second through `publish` (default: log.append) from concurrent producers, and call latencies."""
    send = publish or log.append
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    latencies: list[float] = []

    async def producer(mine: list[list[CloudEvent]]) -> None:
        for batch in mine:
            started = time.perf_counter()
            await send(batch)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(producer(batches[n::PRODUCERS]) for n in range(PRODUCERS)))
    return len(events) / (time.perf_counter() - started), latencies


async def measure_end_to_end(
    log: EventLog, events: list[CloudEvent], publish: Callable[[list[CloudEvent]], Awaitable[Any]] | None = None
) -> tuple[float, float]:
    """Events per second from the first append until a consumer group has acked all; and p99 latency in ms."""
    sent_at: dict[str, float] = {}
    send = publish or log.append

    async def producer() -> None:
        for i in range(0, len(events), BATCH):
            batch = events[i : i + BATCH]
            now = time.perf_counter()
            for event in batch:
                sent_at[event.id] = now
            await send(batch)

    latencies: list[float] = []

    async def consumer() -> None:
        while len(latencies) < len(events):
            batch = await log.fetch("bench.e2e", "bench-consumer", max_events=2000, wait_s=0.2)
            if batch:
                await log.ack("bench.e2e", "bench-consumer", batch)
                now = time.perf_counter()
                latencies.extend((now - sent_at[logged.event.id]) * 1000 for logged in batch)

    started = time.perf_counter()
    await asyncio.gather(producer(), consumer())
    return len(events) / (time.perf_counter() - started), percentile(latencies, 99)


def raw_sqlite_per_s(path: Path, events: list[CloudEvent]) -> float:
    """Plain sqlite3: executemany + commit per batch of pre-serialised rows, same table shape and pragmas."""
    import sqlite3

    from crossdock.log.sqlite import SQLITE_PRAGMAS, SqliteDialect

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    for statement in SqliteDialect.ddl:
        conn.execute(statement)
    now = time.time()
    rows = [(i + 1, i % 16, event.id, now, event.to_json()) for i, event in enumerate(events)]
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO cd_log_events (seq, part, event_id, logged_at, body) VALUES (?, ?, ?, ?, ?)",
            rows[i : i + BATCH],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


FreshLog = Callable[[], AbstractAsyncContextManager[EventLog]]


async def measure_phases(fresh_log: FreshLog, events: int, publish_factory: PublishFactory | None) -> dict[str, Any]:
    """Append rate and latency on one fresh log, end-to-end rate on another: the figures every backend reports."""
    figures: dict[str, Any] = {}
    async with fresh_log() as log:
        publish = publish_factory(log) if publish_factory else None
        rate, latencies = await measure_append(log, make_events(events), publish)
        figures.update(
            append_per_s=round(rate),
            p99_ms=round(percentile(latencies, 99), 2),
            p50_ms=round(statistics.median(latencies), 2),
        )
    async with fresh_log() as log:
        publish = publish_factory(log) if publish_factory else None
        rate, p99 = await measure_end_to_end(log, make_events(events // 2), publish)
        figures.update(end_to_end_per_s=round(rate), end_to_end_p99_ms=round(p99, 2))
    return figures


async def _run_sqlite(events: int, workdir: Path, publish_factory: PublishFactory | None) -> dict[str, Any]:
    from crossdock.log.sqlite import SqliteEventLog

    raw = raw_sqlite_per_s(workdir / "raw.db", make_events(events))
    files = iter(range(1, 100))

    @contextlib.asynccontextmanager
    async def fresh_log() -> AsyncIterator[EventLog]:
        log = SqliteEventLog(workdir / f"log-{next(files)}.db")
        await log.open()
        try:
            yield log
        finally:
            await log.close()

    figures = await measure_phases(fresh_log, events, publish_factory)
    return {**figures, "raw_sqlite_per_s": round(raw), "vs_raw_sqlite": round(figures["append_per_s"] / raw, 3)}


PublishFactory = Callable[[EventLog], Callable[[list[CloudEvent]], Awaitable[Any]]]


def run(
    backend: str = "sqlite",
    events: int = 100_000,
    *,
    postgres_url: str | None = None,
    nats_url: str | None = None,
    publish_factory: PublishFactory | None = None,
) -> dict[str, Any]:
    """Run the log benchmark on one backend; return one JSON-ready dict."""
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-") as tmp:
        workdir = Path(tmp)
        if backend == "sqlite":
            figures = asyncio.run(_run_sqlite(events, workdir, publish_factory))
        elif backend == "postgres":
            from crossdock.bench.log_servers import run_postgres

            figures = asyncio.run(run_postgres(events, postgres_url, publish_factory))
        elif backend == "nats":
            from crossdock.bench.log_servers import run_nats

            figures = asyncio.run(run_nats(events, nats_url, workdir, publish_factory))
        else:
            raise ValueError(f"unknown backend {backend!r}; choose sqlite, postgres or nats")
    return {
        "benchmark": "log",
        "backend": backend,
        "events": events,
        "event_bytes": len(make_events(1)[0].to_json()),
        "batch": BATCH,
        "producers": PRODUCERS,
        "durability": "full",
        **figures,
    }
