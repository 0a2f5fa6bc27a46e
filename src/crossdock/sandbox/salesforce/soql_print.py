"""SOQL text from a syntax tree: the inverse of the parser (`parse(to_soql(q)) == q`)."""

from __future__ import annotations

from crossdock.sandbox.salesforce.soql_ast import (
    And,
    Comparison,
    Condition,
    CountAll,
    InList,
    Literal,
    Not,
    Or,
    OrderItem,
    Query,
    SelectItem,
    SubQuery,
)

_UNESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def quote(value: str) -> str:
    """A SOQL string literal for `value` (the inverse of the tokenizer's unescaping)."""
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        # `\%` and `\_` are LIKE escapes that the tokenizer keeps as they are.
        if char == "\\" and index + 1 < len(value) and value[index + 1] in "%_":
            out.append(value[index : index + 2])
            index += 2
            continue
        out.append(_UNESCAPES.get(char, char))
        index += 1
    return "'" + "".join(out) + "'"


def to_soql(query: Query) -> str:
    """The query as SOQL text; `parse(to_soql(q)) == q`."""
    select = ", ".join(_item(item) for item in query.select)
    parts = [f"SELECT {select} FROM {query.sobject}"]  # noqa: S608 -- SOQL text, not SQL
    parts.extend(_clauses(query.where, query.order_by, query.limit))
    if query.offset is not None:
        parts.append(f"OFFSET {query.offset}")
    return " ".join(parts)


def _clauses(where: Condition | None, order_by: tuple[OrderItem, ...], limit: int | None) -> list[str]:
    parts = []
    if where is not None:
        parts.append(f"WHERE {condition_text(where)}")
    if order_by:
        parts.append("ORDER BY " + ", ".join(_order(item) for item in order_by))
    if limit is not None:
        parts.append(f"LIMIT {limit}")
    return parts


def _item(item: SelectItem) -> str:
    if isinstance(item, CountAll):
        return "COUNT()"
    if isinstance(item, SubQuery):
        fields = ", ".join(ref.path for ref in item.fields)
        clauses = " ".join(_clauses(item.where, item.order_by, item.limit))
        tail = f" {clauses}" if clauses else ""
        return f"(SELECT {fields} FROM {item.relationship}{tail})"  # noqa: S608 -- SOQL text, not SQL
    return item.path


def _order(item: OrderItem) -> str:
    text = item.field.path + (" DESC" if item.descending else " ASC")
    if item.nulls_last is not None:
        text += " NULLS LAST" if item.nulls_last else " NULLS FIRST"
    return text


def condition_text(condition: Condition) -> str:
    """A WHERE condition as SOQL text, parenthesising nested AND/OR groups."""
    if isinstance(condition, Comparison):
        return f"{condition.field.path} {condition.op} {literal_text(condition.value)}"
    if isinstance(condition, InList):
        values = ", ".join(literal_text(value) for value in condition.values)
        return f"{condition.field.path} {'NOT IN' if condition.negated else 'IN'} ({values})"
    if isinstance(condition, Not):
        return f"NOT {_grouped(condition.item)}"
    joiner = " AND " if isinstance(condition, And) else " OR "
    return joiner.join(_grouped(item) for item in condition.items)


def _grouped(condition: Condition) -> str:
    text = condition_text(condition)
    return f"({text})" if isinstance(condition, And | Or | Not) else text


def literal_text(literal: Literal) -> str:
    """A literal as SOQL text."""
    if literal.kind == "string":
        return quote(literal.value)
    if literal.kind == "boolean":
        return "TRUE" if literal.value else "FALSE"
    if literal.kind == "null":
        return "NULL"
    if literal.kind == "relative":
        name, amount = literal.value
        return f"{name}:{amount}" if amount is not None else name
    return str(literal.value)
