"""Fixtures of the contract suites: every EventLog adapter (memory, SQLite, PostgreSQL, NATS JetStream) and every
Store adapter (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crossdock.ports.event_log import EventLog
from crossdock.store import MemoryStore, SqlStore
from tests.support.services import NATS_URL, require_postgres
from tests.support.stores import contract_store, postgres_schema

BACKENDS = ["memory", "sqlite", "postgres", "nats"]
PARTITIONS = 4
LEASE_TTL_S = 1.0

LogFactory = Callable[[], Awaitable[EventLog]]


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A durable NATS server (sync_interval: always) from the wheel, unless CROSSDOCK_TEST_NATS_URL is set."""
    if NATS_URL:
        yield NATS_URL
        return
    from crossdock.sandbox.nats_server import durable_nats_server

    with durable_nats_server() as url:
        yield url


def _postgres_schema_url(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
async def log_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogFactory]:
    """Opens EventLog instances that share one backing store (several consumers, or a restart)."""
    backend: str = request.param
    opened: list[EventLog] = []
    cleanup: list[Callable[[], Any]] = []
    async_cleanup: list[Callable[[], Awaitable[None]]] = []

    if backend == "memory":
        from crossdock.log.memory import MemoryEventLog, MemoryLogState

        state = MemoryLogState()

        async def open_log() -> EventLog:
            log = MemoryEventLog(state, partitions=PARTITIONS, lease_ttl_s=LEASE_TTL_S)
            opened.append(log)
            return log

    elif backend == "sqlite":
        from crossdock.log.sqlite import SqliteEventLog

        path = tmp_path / "events.db"

        async def open_log() -> EventLog:
            log = SqliteEventLog(path, partitions=PARTITIONS, lease_ttl_s=LEASE_TTL_S)
            await log.open()
            opened.append(log)
            return log

    elif backend == "postgres":
        import psycopg

        from crossdock.log.postgres import PostgresEventLog

        base = require_postgres()
        schema = f"cd_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")

        def drop_schema() -> None:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

        cleanup.append(drop_schema)
        url = _postgres_schema_url(base, schema)

        async def open_log() -> EventLog:
            log = PostgresEventLog(url, partitions=PARTITIONS, lease_ttl_s=LEASE_TTL_S)
            await log.open()
            opened.append(log)
            return log

    else:
        from crossdock.log.nats import NatsEventLog

        url = request.getfixturevalue("nats_url")
        stream = f"T{uuid.uuid4().hex[:12].upper()}"

        async def open_log() -> EventLog:
            log = NatsEventLog(url, stream=stream, partitions=PARTITIONS, lease_ttl_s=LEASE_TTL_S)
            await log.connect()
            opened.append(log)
            return log

        async def delete_streams() -> None:
            await delete_nats_streams(url, stream)

        async_cleanup.append(delete_streams)

    yield open_log
    for log in opened:
        await log.close()
    for step in cleanup:
        step()
    for async_step in async_cleanup:
        await async_step()


async def delete_nats_streams(url: str, prefix: str) -> None:
    """Delete a test's streams (events, dead letters, KV buckets) so a shared server does not fill up."""
    import nats

    client = await nats.connect(url)
    try:
        jetstream = client.jetstream()
        for name in await jetstream.streams_info():
            stream_name = name.config.name or ""
            if stream_name.startswith((prefix, f"KV_{prefix}")):
                await jetstream.delete_stream(stream_name)
    finally:
        await client.close()


@pytest.fixture
async def event_log(log_factory: LogFactory) -> EventLog:
    """One open EventLog of the parametrised backend."""
    return await log_factory()


STORE_BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated schema for this test session; each test empties it afterwards."""
    with postgres_schema() as url:
        migrated = SqlStore(url)
        migrated.migrate()
        migrated.dispose()
        yield url


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore | SqlStore]:
    """An empty, migrated store of the parametrised backend."""
    with contract_store(request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")) as opened:
        yield opened
