"""The SQLite EventLog: the embedded default. WAL with synchronous=FULL, so an acked append survives power loss."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crossdock.log.sql_storage import SqlLogStorage, log_ddl
from crossdock.log.threaded import ThreadedSqlEventLog
from crossdock.ports.event_log import DEFAULT_PARTITIONS

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    # 8,000 pages rather than 1,000, as the store (`store.sql.WAL_AUTOCHECKPOINT_PAGES` says why): the event_id
    # index's random leaves are copied back once per many appends, not once per few.
    "PRAGMA wal_autocheckpoint=8000",
)


class SqliteDialect:
    """SqlDialect for a SQLite file shared by the processes of one machine."""

    ddl: Sequence[str] = log_ddl(
        seq_key="INTEGER PRIMARY KEY", blob="BLOB", identity="INTEGER PRIMARY KEY", real="REAL"
    )

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread uses the connection at a time, but not always the one that opened it: a direct appender
        # (`threaded.DirectAppender`) opens it on the thread that appends and is closed by the one that shuts down.
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            self._conn.execute(pragma)
        self._rowcount = 0

    @contextmanager
    def write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: take the write lock up front, so two processes never deadlock upgrading a read."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def lock_appends(self) -> None:
        """BEGIN IMMEDIATE already serialises writers."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""
        cursor = self._conn.execute(sql, params)
        rows = cursor.fetchall()
        self._rowcount = cursor.rowcount
        return rows

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement once per row."""
        self._conn.executemany(sql, rows)

    def rowcount(self) -> int:
        """Rows touched by the last statement."""
        return self._rowcount

    def is_unique_violation(self, exc: Exception) -> bool:
        """sqlite3 reports unique violations as IntegrityError."""
        return isinstance(exc, sqlite3.IntegrityError)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class SqliteEventLog(ThreadedSqlEventLog):
    """EventLog in a SQLite file (WAL, synchronous=FULL, group commit)."""

    def __init__(self, path: Path | str, *, partitions: int = DEFAULT_PARTITIONS, lease_ttl_s: float = 10.0) -> None:
        self.path = Path(path)
        super().__init__(
            lambda: SqlLogStorage(SqliteDialect(self.path)),
            name=f"sqlite-log:{self.path.name}",
            partitions=partitions,
            lease_ttl_s=lease_ttl_s,
        )
