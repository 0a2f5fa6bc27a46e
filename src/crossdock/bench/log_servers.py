"""The log benchmark on server backends: PostgreSQL (a fresh schema) and NATS JetStream (a durable server).

For NATS the raw baseline is nats-py publishing the same bodies to a plain JetStream stream, pipelined the same way
(all publishes of a batch sent, then their acks awaited), on the same server, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from crossdock.bench.log import BATCH, PRODUCERS, PublishFactory, make_events, measure_phases
from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import EventLog

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def run_postgres(events: int, url: str | None, publish_factory: PublishFactory | None) -> dict[str, Any]:
    """Append and end-to-end rates on PostgreSQL, each phase in a schema of its own that is dropped afterwards."""
    import psycopg

    from crossdock.log.postgres import PostgresEventLog, libpq_url

    base = libpq_url(url or os.environ.get("CROSSDOCK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))

    @contextlib.asynccontextmanager
    async def fresh_log() -> AsyncIterator[EventLog]:
        schema = f"cd_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in base else "?"
        log = PostgresEventLog(f"{base}{separator}options=-csearch_path%3D{schema}")
        try:
            await log.open()
            yield log
        finally:
            await log.close()
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return await measure_phases(fresh_log, events, publish_factory)


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

        @contextlib.asynccontextmanager
        async def fresh_log() -> AsyncIterator[EventLog]:
            log = NatsEventLog(server, stream=f"BENCH{uuid.uuid4().hex[:8].upper()}")
            await log.connect()
            try:
                yield log
            finally:
                await log.close()

        figures = await measure_phases(fresh_log, events, publish_factory)
    return {**figures, "raw_nats_per_s": round(raw), "vs_raw_nats": round(figures["append_per_s"] / raw, 3)}
