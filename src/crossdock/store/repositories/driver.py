"""A table's hot statements run on the database driver: written once per dialect, values bound and read by the
columns' own types.

The order intake stores every API order in groups (`api.order_intake.GroupCommit`), and there SQLAlchemy's work
per execution (building the statement, its cache key, expanding IN lists, binding each row through the compiled
statement) cost more than the database did: about 2 ms a group and 25 µs an order, against a fraction of that for
SQLite itself. `DriverTable` writes its INSERT and SELECT ... IN text once per dialect and runs it on the DBAPI
cursor of the unit of work's connection, inside its transaction. Values still go through each column type's bind
processor and come back through its result processor (`UtcDateTime`, JSON with the store's codec), so what is
written and read is what the Core statements write and read; the API store's contract tests mix the two on SQLite
and PostgreSQL.

Only for statements on the hot path: everything else stays in Core, where it is easier to read.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crossdock.store.errors import UnitOfWorkError
from crossdock.store.repositories.base import IN_CHUNK, Transaction

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One table's statements and processors for one dialect."""

    placeholder: str
    table: str  # the quoted table name
    columns: str  # the quoted column list, in table order
    insert: str
    binders: dict[str, Processor]  # by column name
    readers: tuple[Processor, ...]  # in table order
    quoted: dict[str, str]  # column names, quoted for the dialect


class DriverTable:
    """INSERT many rows and SELECT rows by IN lists on one table, on the driver."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.names = tuple(column.name for column in table.columns)
        # Rows read by attribute, as SQLAlchemy's are, so one row mapper serves both paths.
        row_type: Any = namedtuple(f"{table.name}_row", self.names)  # type: ignore[misc]  # names known at run time
        self._make: Callable[[Any], Any] = row_type._make
        self._compiled: dict[str, _Compiled] = {}

    def insert(self, tx: Transaction, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows, each with a value per column in table order, as one executemany; a duplicate key raises
        (and fails the unit of work, as `Transaction.write` does)."""
        if not rows:
            return
        connection = _writable(tx)
        compiled = self._for(connection.dialect)
        binders = [compiled.binders[name] for name in self.names]
        bound = [
            tuple(value if binder is None else binder(value) for binder, value in zip(binders, row, strict=True))
            for row in rows
        ]
        _run(tx, connection, compiled.insert, bound, many=True)

    def select_in(
        self,
        tx: Transaction,
        where_in: dict[str, Sequence[Any]],
        *,
        greater: tuple[str, Any] | None = None,
    ) -> list[Any]:
        """Rows whose `where_in` columns each hold one of the given values (and whose `greater` column is above
        its value), as named tuples with values as the Core statements read them. Long IN lists run in chunks of
        the first column's values."""
        connection = tx.open_connection()
        compiled = self._for(connection.dialect)
        (first, first_values), *others = where_in.items()
        found: list[Any] = []
        distinct = list(dict.fromkeys(first_values))
        for start in range(0, len(distinct), IN_CHUNK):
            chunk = distinct[start : start + IN_CHUNK]
            conditions, params = [], []
            for name, values in ((first, chunk), *((name, list(dict.fromkeys(v))) for name, v in others)):
                if not values:
                    return []
                binder = compiled.binders[name]
                conditions.append(f"{compiled.quoted[name]} IN ({', '.join([compiled.placeholder] * len(values))})")
                params.extend(values if binder is None else [binder(value) for value in values])
            if greater is not None:
                name, value = greater
                binder = compiled.binders[name]
                conditions.append(f"{compiled.quoted[name]} > {compiled.placeholder}")
                params.append(value if binder is None else binder(value))
            # Names come from the table's metadata, quoted by the dialect; every value is a bound parameter.
            text = f"SELECT {compiled.columns} FROM {compiled.table} WHERE {' AND '.join(conditions)}"  # noqa: S608
            readers = compiled.readers
            make = self._make
            found.extend(
                make(value if reader is None else reader(value) for reader, value in zip(readers, raw, strict=True))
                for raw in _run(tx, connection, text, tuple(params))
            )
        return found

    def _for(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
        if dialect.paramstyle not in ("qmark", "format", "pyformat"):
            raise NotImplementedError(f"driver statements know qmark and format parameters, not {dialect.paramstyle}")
        preparer = dialect.identifier_preparer
        quoted = {name: preparer.quote(name) for name in self.names}
        table = preparer.format_table(self.table)
        columns = ", ".join(quoted[name] for name in self.names)
        insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join([placeholder] * len(self.names))})"  # noqa: S608
        binders: dict[str, Processor] = {}
        readers: list[Processor] = []
        for column in self.table.columns:
            implementation = column.type.dialect_impl(dialect)
            binders[column.name] = implementation.bind_processor(dialect)
            readers.append(implementation.result_processor(dialect, None))
        return _Compiled(placeholder, table, columns, insert, binders, tuple(readers), quoted)


def _writable(tx: Transaction) -> sa.Connection:
    if tx.read_only:
        raise UnitOfWorkError.read_only()
    return tx.open_connection()


def _run(tx: Transaction, connection: sa.Connection, text: str, params: Any, *, many: bool = False) -> list[Any]:
    """Run on the DBAPI cursor, inside the unit of work's transaction; the rows a query returned."""
    if not connection.in_transaction():
        connection.begin()  # as Core's first statement would (on SQLite: BEGIN IMMEDIATE, see `store.sql`)
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(text, params)
            return []
        cursor.execute(text, params)
        return list(cursor.fetchall())
    except connection.dialect.loaded_dbapi.Error as error:
        tx.fail(error)
        raise
    finally:
        cursor.close()
