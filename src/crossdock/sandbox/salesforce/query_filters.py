"""WHERE conditions on single fields: literals checked against the field's type, and the tests they compile to.

Strings compare case-insensitively and `!=` keeps nulls, as in SOQL; dates and datetimes compare as their stored
text (UTC, fixed width); relative date literals (TODAY, LAST_N_DAYS:n) become [start, end) ranges.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from crossdock.sandbox.salesforce.ids import to18
from crossdock.sandbox.salesforce.schema import NUMBER_TYPES, STRING_TYPES, FieldSpec
from crossdock.sandbox.salesforce.soql_ast import Literal, SoqlError
from crossdock.sandbox.salesforce.values import parse_datetime, sf_datetime

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_TYPE_NAMES = {
    "date": "date",
    "datetime": "dateTime",
    "boolean": "boolean",
    "number": "double",
    "string": "string",
    "id": "id",
}


def category(spec: FieldSpec) -> str:
    """How SOQL compares a field's values: id, string, number, boolean, date or datetime."""
    if spec.type in {"id", "reference"}:
        return "id"
    if spec.type in STRING_TYPES:
        return "string"
    if spec.type in NUMBER_TYPES:
        return "number"
    return spec.type


def compile_matcher(spec: FieldSpec, op: str, literal: Literal, today: date) -> Callable[[Any], bool]:
    """A test for one field value: `op literal`, with SOQL's typing, case and null rules."""
    kind = category(spec)
    if literal.kind == "null":
        return _null_matcher(op)
    if op == "LIKE":
        if kind != "string" or literal.kind != "string":
            raise SoqlError("INVALID_FIELD", f"invalid operator on {spec.type} field: LIKE", literal.pos)
        pattern = _like(literal.value)
        return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None
    if literal.kind == "relative" and kind in {"date", "datetime"}:
        low, high = _range(literal, kind, today)
        return _range_matcher(op, low, high)
    return _value_matcher(op, _literal(spec, kind, literal), folded=kind == "string")


def _literal(spec: FieldSpec, kind: str, literal: Literal) -> Any:
    wanted = {
        "string": "string",
        "id": "string",
        "boolean": "boolean",
        "number": "number",
        "date": "date",
        "datetime": "datetime",
    }.get(kind)
    if literal.kind != wanted:
        quoting = "be enclosed" if wanted == "string" else "not be enclosed"
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{spec.name}' must be of type "
            f"{_TYPE_NAMES.get(kind, kind)} and should {quoting} in quotes",
            literal.pos,
        )
    if kind == "string":
        return str(literal.value).casefold()
    if kind == "id":
        normalized = to18(literal.value)
        if normalized is None:
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}", literal.pos)
        return normalized
    if kind == "number":
        return float(literal.value)
    if kind == "datetime":
        moment = parse_datetime(literal.value, require_zone=True)
        if moment is None:
            raise SoqlError("MALFORMED_QUERY", f"invalid datetime: {literal.value}", literal.pos)
        return sf_datetime(moment)
    return literal.value


def _range(literal: Literal, kind: str, today: date) -> tuple[str, str]:
    name, amount = literal.value
    low, high = relative_range(name, amount, today)
    if kind == "date":
        return low.isoformat(), high.isoformat()
    return f"{low.isoformat()}T00:00:00.000+0000", f"{high.isoformat()}T00:00:00.000+0000"


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _null_matcher(op: str) -> Callable[[Any], bool]:
    if op == "=":
        return lambda value: value is None
    if op == "!=":
        return lambda value: value is not None
    return lambda value: False


def _value_matcher(op: str, expected: Any, *, folded: bool) -> Callable[[Any], bool]:
    def fold(value: Any) -> Any:
        return value.casefold() if folded and isinstance(value, str) else value

    if op == "=":
        return lambda value: value is not None and fold(value) == expected
    if op == "!=":
        # SOQL's != keeps the rows where the field is null.
        return lambda value: value is None or fold(value) != expected
    compare = _ORDERING[op]
    return lambda value: value is not None and bool(compare(fold(value), expected))


def _range_matcher(op: str, low: str, high: str) -> Callable[[Any], bool]:
    checks: dict[str, Callable[[str], bool]] = {
        "=": lambda value: low <= value < high,
        "!=": lambda value: not low <= value < high,
        "<": lambda value: value < low,
        "<=": lambda value: value < high,
        ">": lambda value: value >= high,
        ">=": lambda value: value >= low,
    }
    check = checks[op]
    return lambda value: value is not None and check(value)


def relative_range(name: str, amount: int | None, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal (weeks start on Sunday, as in a US-locale org)."""
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    last_month = (month_start - timedelta(days=1)).replace(day=1)
    days = amount or 0
    ranges = {
        "TODAY": (today, today + timedelta(days=1)),
        "YESTERDAY": (today - timedelta(days=1), today),
        "TOMORROW": (today + timedelta(days=1), today + timedelta(days=2)),
        "THIS_WEEK": (week_start, week_start + timedelta(days=7)),
        "LAST_WEEK": (week_start - timedelta(days=7), week_start),
        "NEXT_WEEK": (week_start + timedelta(days=7), week_start + timedelta(days=14)),
        "THIS_MONTH": (month_start, next_month),
        "LAST_MONTH": (last_month, month_start),
        "NEXT_MONTH": (next_month, (next_month + timedelta(days=32)).replace(day=1)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "LAST_90_DAYS": (today - timedelta(days=90), today + timedelta(days=1)),
        "NEXT_90_DAYS": (today + timedelta(days=1), today + timedelta(days=91)),
        "LAST_N_DAYS": (today - timedelta(days=days), today + timedelta(days=1)),
        "NEXT_N_DAYS": (today + timedelta(days=1), today + timedelta(days=days + 1)),
    }
    return ranges[name]
