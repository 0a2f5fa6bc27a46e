"""The log benchmark on server backends: PostgreSQL (a fresh schema) and NATS JetStream (a durable server).

For NATS the raw baseline is nats-py publishing the same bodies to a plain JetStream stream, pipelined the same way
(all publishes of a batch sent, then their acks awaited), on the same server, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crossdock.bench.log import (
    BATCH,
    PRODUCERS,
    PublishFactory,
    make_events,
    measure_append,
    measure_end_to_end,
    percentile,
)
from crossdock.events.envelope import CloudEvent

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def run_postgres(events: int, url: str | None, publish_factory: PublishFactory | None) -> dict[str, Any]:
    """Append and end-to-end rates on PostgreSQL, in a schema of its own that is dropped afterwards."""
    import psycopg

    from crossdock.log.postgres import PostgresEventLog, libpq_url

    base = libpq_url(url or os.environ.get("CROSSDOCK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    figures: dict[str, Any] = {}
    for phase in ("append", "e2e"):
        schema = f"cd_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in base else "?"
        log = PostgresEventLog(f"{base}{separator}options=-csearch_path%3D{schema}")
        try:
            await log.open()
            publish = publish_factory(log) if publish_factory else None
            if phase == "append":
                rate, latencies = await measure_append(log, make_events(events), publish)
                figures.update(
                    append_per_s=round(rate),
                    p99_ms=round(percentile(latencies, 99), 2),
                    p50_ms=round(statistics.median(latencies), 2),
                )
            else:
                rate, p99 = await measure_end_to_end(log, make_events(events // 2), publish)
                figures.update(end_to_end_per_s=round(rate), end_to_end_p99_ms=round(p99, 2))
        finally:
            await log.close()
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return figures


@contextlib.contextmanager
def _nats_server(url: str | None, workdir: Path) -> Iterator[str]:
    if url:
        yield url
        return
    from crossdock.sandbox.nats_server import durable_nats_server

    with durable_nats_server(workdir / "nats") as started:
        yield started


async def raw_nats_per_s(url: str, events: list[CloudEvent]) -> float:
    """nats-py alone, doing what the adapter does: atomic batches of BATCH with de-duplication ids, one commit ack.

    The stream is created through the JetStream API (nats-py's StreamConfig has no `allow_atomic` yet); the bodies
    are the same pre-serialised events; no envelope checks, validation or partition hashing.
    """
    import nats
    import orjson

    client = await nats.connect(url)
    stream = f"RAW{uuid.uuid4().hex[:8].upper()}"
    subject = stream.lower()
    try:
        config = {"name": stream, "subjects": [f"{subject}.>"], "storage": "file", "allow_atomic": True}
        reply = await client.request(f"$JS.API.STREAM.CREATE.{stream}", orjson.dumps(config), timeout=10)
        if b'"error"' in reply.data:
            raise RuntimeError(f"cannot create the raw baseline stream: {reply.data.decode()}")
        bodies = [(f"{subject}.p.{i % 16}", event.to_json(), event.id) for i, event in enumerate(events)]
        batches = [bodies[i : i + BATCH] for i in range(0, len(bodies), BATCH)]

        async def producer(mine: list[list[tuple[str, bytes, str]]]) -> None:
            for batch in mine:
                batch_id = uuid.uuid4().hex
                for number, (msg_subject, body, msg_id) in enumerate(batch, start=1):
                    headers = {"Nats-Msg-Id": msg_id, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(number)}
                    if number < len(batch):
                        await client.publish(msg_subject, body, headers=headers)
                    else:
                        headers["Nats-Batch-Commit"] = "1"
                        ack = await client.request(msg_subject, body, headers=headers, timeout=30)
                        if b'"error"' in ack.data:
                            raise RuntimeError(f"raw baseline batch refused: {ack.data.decode()}")

        started = time.perf_counter()
        await asyncio.gather(*(producer(batches[n::PRODUCERS]) for n in range(PRODUCERS)))
        elapsed = time.perf_counter() - started
        await client.request(f"$JS.API.STREAM.DELETE.{stream}", b"", timeout=10)
        return len(events) / elapsed
    finally:
        await client.close()


async def run_nats(
    events: int, url: str | None, workdir: Path, publish_factory: PublishFactory | None
) -> dict[str, Any]:
    """Append and end-to-end rates on JetStream against raw nats-py, on a durable server (sync_interval: always)."""
    from crossdock.log.nats import NatsEventLog

    with _nats_server(url, workdir) as server:
        raw = await raw_nats_per_s(server, make_events(events))
        figures: dict[str, Any] = {"raw_nats_per_s": round(raw), "server": server}
        for phase in ("append", "e2e"):
            log = NatsEventLog(server, stream=f"BENCH{uuid.uuid4().hex[:8].upper()}")
            await log.connect()
            try:
                publish = publish_factory(log) if publish_factory else None
                if phase == "append":
                    rate, latencies = await measure_append(log, make_events(events), publish)
                    figures.update(
                        append_per_s=round(rate),
                        p99_ms=round(percentile(latencies, 99), 2),
                        p50_ms=round(statistics.median(latencies), 2),
                        vs_raw_nats=round(rate / raw, 3),
                    )
                else:
                    rate, p99 = await measure_end_to_end(log, make_events(events // 2), publish)
                    figures.update(end_to_end_per_s=round(rate), end_to_end_p99_ms=round(p99, 2))
            finally:
                await log.close()
    return figures
