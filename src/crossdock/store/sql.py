"""The Store port on SQLAlchemy 2 (sync engine): SQLite for one host, PostgreSQL (psycopg 3) for many."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
import sqlalchemy as sa

from crossdock.ports.api import ApiRecords, Webhooks
from crossdock.ports.console import ConsoleRecords, OperationsReadModel
from crossdock.ports.mdm import MdmRecords
from crossdock.ports.partners import PartnerRecords
from crossdock.ports.store import (
    CrossReferences,
    Cursors,
    DeliveryJournal,
    ExceptionQueue,
    GoldenRecords,
    LineageLog,
    Outbox,
    ProcessRepository,
)
from crossdock.store import schema
from crossdock.store.errors import StoreError, UnitOfWorkError
from crossdock.store.repositories.api import SqlApiRecords
from crossdock.store.repositories.base import Transaction
from crossdock.store.repositories.console import SqlConsoleRecords, SqlOperationsReadModel
from crossdock.store.repositories.cursors import SqlCursors
from crossdock.store.repositories.exceptions import SqlExceptionQueue
from crossdock.store.repositories.golden import SqlGoldenRecords
from crossdock.store.repositories.journal import SqlDeliveryJournal
from crossdock.store.repositories.lineage import SqlLineageLog
from crossdock.store.repositories.mdm import SqlMdmRecords
from crossdock.store.repositories.outbox import SqlOutbox
from crossdock.store.repositories.partners import SqlPartnerRecords
from crossdock.store.repositories.processes import SqlProcessRepository
from crossdock.store.repositories.traces import SqlTraceKeeper
from crossdock.store.repositories.webhooks import SqlWebhooks
from crossdock.store.repositories.xref import SqlCrossReferences

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WAL_SWITCH_ATTEMPTS = 50
_READ_ONLY = "crossdock_read_only"


def store_url(url: str) -> sa.URL:
    """The SQLAlchemy URL to open: plain `postgresql://` URLs get the psycopg 3 driver we ship with."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"{parsed.get_backend_name()!r} is not supported; use sqlite:///file.db or postgresql://...")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise StoreError(
            f"{url!r} is an in-memory SQLite database, which every pooled connection would see empty; "
            "use a file (sqlite:///path/crossdock.db) or MemoryStore."
        )
    return parsed


def create_store_engine(url: str) -> sa.Engine:
    """An engine tuned for the store; connects lazily, on first use."""
    parsed = store_url(url)
    # JSON columns through orjson: several times faster than the standard library on the hot paths (process
    # journals, API orders). Keys that are not strings are written as strings, as `json` does.
    codec: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() != "sqlite":
        # Workers outlive database restarts and failovers; a stale pooled connection must not fail a batch.
        return sa.create_engine(parsed, pool_pre_ping=True, **codec)
    if parsed.database and not parsed.query.get("uri"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, **codec)
    sa.event.listen(engine, "connect", _configure_sqlite)
    sa.event.listen(engine, "begin", _begin_sqlite)
    return engine


def _json_text(document: Any) -> str:
    return orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode()


# Pages the WAL may hold before the committing connection copies them back into the database (SQLite's default:
# 1,000). Why more: an order group dirties about 250 pages, most of them random index leaves that the next groups
# dirty again; checkpointed every 4 groups, each such page was copied back again and again, and a third of a group
# commit's time went to checkpoints once the tables held some 30,000 orders. With 8,000 (32 MB of 4 KB pages) a hot
# page is copied once per 30 groups or so.
WAL_AUTOCHECKPOINT_PAGES = 8_000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (see _begin_sqlite); the driver's implicit one is deferred and would deadlock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold for a moment.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Two connections switching a new file to WAL at once can deadlock on the upgrade to an exclusive lock, and
    # SQLite then answers "locked" to one of them at once instead of calling the busy handler: try again.
    for attempt in range(_WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == _WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def _begin_sqlite(connection: sa.Connection) -> None:
    # A deferred transaction that reads, then writes, cannot take the write lock if another process committed
    # in between, and busy_timeout does not help; IMMEDIATE takes the lock up front and waits for it.
    mode = "DEFERRED" if connection.get_execution_options().get(_READ_ONLY) else "IMMEDIATE"
    connection.exec_driver_sql(f"BEGIN {mode}")


class SqlUnitOfWork:
    """One transaction over the SQL repositories; rolled back on leaving the block unless committed."""

    def __init__(self, engine: sa.Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._tx = Transaction(read_only=read_only)
        self.xrefs: CrossReferences = SqlCrossReferences(self._tx)
        self.journal: DeliveryJournal = SqlDeliveryJournal(self._tx)
        self.lineage: LineageLog = SqlLineageLog(self._tx)
        self.exceptions: ExceptionQueue = SqlExceptionQueue(self._tx)
        self.cursors: Cursors = SqlCursors(self._tx)
        self.golden: GoldenRecords = SqlGoldenRecords(self._tx)
        self.processes: ProcessRepository = SqlProcessRepository(self._tx)
        self.outbox: Outbox = SqlOutbox(self._tx)
        self.api: ApiRecords = SqlApiRecords(self._tx)
        self.webhooks: Webhooks = SqlWebhooks(self._tx)
        self.partners: PartnerRecords = SqlPartnerRecords(self._tx)
        self.console: ConsoleRecords = SqlConsoleRecords(self._tx)
        self.operations: OperationsReadModel = SqlOperationsReadModel(self._tx)
        self.mdm: MdmRecords = SqlMdmRecords(self._tx)

    def __enter__(self) -> Self:
        if self._tx.connection is not None:
            raise UnitOfWorkError.already_open()
        connection = self._engine.connect()
        if self._tx.read_only:
            connection.execution_options(**{_READ_ONLY: True})
        self._tx.connection = connection
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back unless `commit` was called."""
        connection, self._tx.connection, self._tx.failure = self._tx.connection, None, None
        if connection is not None:
            connection.close()  # returning the connection to the pool rolls back what was not committed

    def commit(self) -> None:
        """Make everything done in this unit durable at once."""
        connection = self._tx.open_connection()
        try:
            connection.commit()
        except sa.exc.DBAPIError as error:
            self._tx.fail(error)
            raise

    def rollback(self) -> None:
        """Forget everything done in this unit; after a failed statement, this makes the unit usable again."""
        if self._tx.connection is not None:
            self._tx.connection.rollback()
        self._tx.failure = None


class SqlStore:
    """The Store port on a SQL database; `url` is a SQLAlchemy URL (`sqlite:///file.db`, `postgresql://...`)."""

    def __init__(self, url: str) -> None:
        self.engine = create_store_engine(url)

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A new unit of work; `read_only` ones skip SQLite's write lock, so they never wait for writers."""
        return SqlUnitOfWork(self.engine, read_only=read_only)

    def migrate(self) -> None:
        """Bring the schema to the newest version; safe to call from several processes at once."""
        schema.upgrade(self.engine)

    def trace_keeper(self) -> SqlTraceKeeper:
        """The spans kept for the console, in this database (the TraceKeeper port)."""
        return SqlTraceKeeper(self.engine)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
