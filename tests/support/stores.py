"""An empty, migrated store of each backend, for the Store port's contract suites."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crossdock.store import MemoryStore, SqlStore
from crossdock.store.tables import metadata

AnyStore = MemoryStore | SqlStore


@contextmanager
def contract_store(backend: str, tmp_path: Path, postgres_url: Callable[[], str]) -> Iterator[AnyStore]:
    """`memory`, `sqlite` (a file under tmp_path) or `postgres` (the migrated schema `postgres_url()` names,
    emptied again afterwards)."""
    if backend == "memory":
        yield MemoryStore()
        return
    if backend == "sqlite":
        sqlite_store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
        sqlite_store.migrate()
        yield sqlite_store
        sqlite_store.dispose()
        return
    pg_store = SqlStore(postgres_url())
    yield pg_store
    with pg_store.engine.begin() as connection:
        names = ", ".join(table.name for table in metadata.sorted_tables)
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    pg_store.dispose()
