"""The SOQL syntax tree: what the parser produces, the printer writes and the query engine evaluates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


class SoqlError(Exception):
    """A query that does not parse or does not fit the schema; `pos` is where the problem starts."""

    def __init__(self, error_code: str, message: str, pos: int) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.pos = pos


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field as written, possibly through parents: `Name`, `Account.Name`."""

    path: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class CountAll:
    """`COUNT()`."""

    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Literal:
    """A value: kind is string, number, boolean, null, date, datetime or relative (value = (name, n))."""

    kind: str
    value: Any
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Comparison:
    """`field op value`; op is =, !=, <, <=, >, >= or LIKE."""

    field: FieldRef
    op: str
    value: Literal


@dataclass(frozen=True, slots=True)
class InList:
    """`field [NOT] IN (values)`."""

    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """All of the conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any of the conditions."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The condition does not hold."""

    item: Condition


Condition = Union[Comparison, InList, And, Or, Not]  # noqa: UP007 -- a runtime alias used before its members


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One ORDER BY key; `nulls_last` None means the default (first when ascending, last when descending)."""

    field: FieldRef
    descending: bool = False
    nulls_last: bool | None = None


@dataclass(frozen=True, slots=True)
class SubQuery:
    """A child relationship query in the SELECT list: `(SELECT Id, Email FROM Contacts)`."""

    fields: tuple[FieldRef, ...]
    relationship: str
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    pos: int = field(default=0, compare=False)


SelectItem = Union[FieldRef, CountAll, SubQuery]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed SOQL query."""

    select: tuple[SelectItem, ...]
    sobject: str
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    sobject_pos: int = field(default=0, compare=False)
