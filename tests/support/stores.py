"""An empty, migrated store of each backend, for the Store port's contract suites."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from crossdock.store import MemoryStore, SqlStore
from crossdock.store.sql import store_url
from crossdock.store.tables import metadata
from tests.support.services import require_postgres

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


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards; yields a store URL whose search_path is that schema."""
    base = store_url(require_postgres())
    schema = f"cd_store_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()
