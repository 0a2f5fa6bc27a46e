"""Bulk inserts run on the database driver: multi-row INSERTs written per dialect, values bound by the columns' own
types.

The order intake stores every API order in groups (`api.order_intake.GroupCommit`), and there SQLAlchemy's work
per execution (binding each row through the compiled statement, its execution context) cost more than SQLite's
insert did. `DriverTable.insert` writes its INSERT once per dialect and row count and runs it, as few statements as
the parameter limit allows, on the DBAPI cursor of the unit of work's connection, inside its transaction (why not
executemany: see `insert`). Values still go through each column type's bind processor (`UtcDateTime`, JSON with the
store's codec), so what is written is what a Core insert writes; the API store's contract tests read the rows back
through Core on SQLite and PostgreSQL.

Only for the hot path: everything else stays in Core, where it is easier to read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crossdock.store.errors import UnitOfWorkError
from crossdock.store.repositories.base import Transaction

Processor = Callable[[Any], Any] | None


# Parameters per statement: SQLite builds before 3.32 allow 999, PostgreSQL 65,535.
_MAX_PARAMETERS = 999


@dataclass(slots=True)
class _Compiled:
    """One table's INSERT and bind processors for one dialect, in column order."""

    head: str  # INSERT INTO t (a, b) VALUES
    row: str  # (?, ?)
    binders: tuple[tuple[str, Processor], ...]
    statements: dict[int, str]  # rows per statement -> its text

    def insert(self, rows: int) -> str:
        statement = self.statements.get(rows)
        if statement is None:
            statement = self.statements[rows] = self.head + ", ".join([self.row] * rows)
        return statement


class DriverTable:
    """INSERT many rows into one table, on the driver."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self._compiled: dict[str, _Compiled] = {}

    def insert(self, tx: Transaction, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows (a value for every column, by name) with multi-row INSERTs; a duplicate key raises and fails
        the unit of work, as `Transaction.write` does.

        Why multi-row statements rather than executemany: the driver lets go of the interpreter lock around every
        statement it steps, and executemany steps once per row. In the intake process a thread preparing the next
        orders holds the lock meanwhile, so each row waited for it again (up to the 5 ms switch interval): a group
        of 64 took 1.5 s to store beside a busy thread, against 13 ms alone.
        """
        if not rows:
            return
        if tx.read_only:
            raise UnitOfWorkError.read_only()
        connection = tx.open_connection()
        compiled = self._for(connection.dialect)
        bound = [
            row[name] if binder is None else binder(row[name]) for row in rows for name, binder in compiled.binders
        ]
        width = len(compiled.binders)
        per_statement = max(1, _MAX_PARAMETERS // width)
        if not connection.in_transaction():
            connection.begin()  # as Core's first statement would (on SQLite: BEGIN IMMEDIATE, see `store.sql`)
        cursor = connection.connection.cursor()
        try:
            for start in range(0, len(rows), per_statement):
                count = min(per_statement, len(rows) - start)
                cursor.execute(compiled.insert(count), bound[start * width : (start + count) * width])
        except connection.dialect.loaded_dbapi.Error as error:
            tx.fail(error)
            raise
        finally:
            cursor.close()

    def _for(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        if dialect.paramstyle not in ("qmark", "format", "pyformat"):
            raise NotImplementedError(f"driver statements know qmark and format parameters, not {dialect.paramstyle}")
        placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
        preparer = dialect.identifier_preparer
        columns = ", ".join(preparer.quote(column.name) for column in self.table.columns)
        values = ", ".join([placeholder] * len(self.table.columns))
        # Names come from the table's metadata, quoted by the dialect; every value is a bound parameter.
        head = f"INSERT INTO {preparer.format_table(self.table)} ({columns}) VALUES "  # noqa: S608
        binders = tuple(
            (column.name, column.type.dialect_impl(dialect).bind_processor(dialect)) for column in self.table.columns
        )
        return _Compiled(head, f"({values})", binders, {})
