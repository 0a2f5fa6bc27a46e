"""What every SQL repository shares: the unit of work's open transaction and dialect-neutral upserts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.store.errors import UnitOfWorkError

# Well under every backend's bind-parameter limit, and still one round trip per few hundred ids.
IN_CHUNK = 500


def chunks(values: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Transaction:
    """The open connection of one unit of work, as its repositories see it.

    A failed statement rolls the whole unit back at once and poisons it until `rollback()`: PostgreSQL has
    already aborted the transaction, and SQLite would keep the half that ran, so committing "the rest" could
    silently drop or keep work the caller believes is in the other state.
    """

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self.connection: sa.Connection | None = None
        self.failure: BaseException | None = None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.open_connection().dialect.name

    def read(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        """Run a query."""
        return self._run(statement, params)

    def write(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        """Run a change; a list of parameter dicts runs as one executemany."""
        if self.read_only:
            raise UnitOfWorkError.read_only()
        return self._run(statement, params)

    def fail(self, error: BaseException) -> None:
        """Roll the unit back now and refuse further work until `rollback()`."""
        self.failure = error
        if self.connection is not None:
            # A dead connection cannot roll back; the pool discards it on close and the server aborts the work.
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.rollback()

    def open_connection(self) -> sa.Connection:
        """The connection, if the unit is open and has not failed."""
        if self.connection is None:
            raise UnitOfWorkError.not_open()
        if self.failure is not None:
            raise UnitOfWorkError.rolled_back(self.failure)
        return self.connection

    def _run(self, statement: sa.Executable, params: Any) -> sa.CursorResult[Any]:
        connection = self.open_connection()
        try:
            return connection.execute(statement, params)
        except sa.exc.DBAPIError as error:
            self.fail(error)
            raise


def upsert(tx: Transaction, table: sa.Table, values: Mapping[str, Any], key: Sequence[str]) -> sa.CursorResult[Any]:
    """Insert a row, or update every non-key column of the row with the same `key`."""
    insert = postgresql.insert(table) if tx.dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(dict(values)).on_conflict_do_update(
        index_elements=list(key), set_={name: insert.excluded[name] for name in values if name not in key}
    )
    return tx.write(statement)


def insert_new(tx: Transaction, table: sa.Table, values: Mapping[str, Any], returning: sa.ColumnElement[Any]) -> bool:
    """Insert a row unless one with the same key exists; True when it went in. RETURNING tells, because drivers
    disagree on rowcount after ON CONFLICT DO NOTHING."""
    insert = postgresql.insert(table) if tx.dialect == "postgresql" else sqlite.insert(table)
    statement = insert.values(dict(values)).on_conflict_do_nothing().returning(returning)
    return tx.write(statement).first() is not None
