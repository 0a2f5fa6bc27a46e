"""How an incompatibility is worded: one template per finding in each direction, and values shown the way a
schema author writes them."""

from __future__ import annotations

from typing import Any

from crossdock.events.compat.keywords import _MISSING, JSON_TYPES

# (backward wording, forward wording). In BACKWARD the writer is the old schema, in FORWARD the new one, so
# the same finding reads differently: a field that became required vs. a required field that was dropped.
_MESSAGES: dict[str, tuple[str, str]] = {
    "required_new": (
        "field became required with no default; old data lacks it",
        "required field was removed; new data lacks it, but consumers on the old schema require it",
    ),
    "required_optional": (
        "field became required; old data may omit it",
        "field became optional; new data may omit it, but consumers on the old schema require it",
    ),
    "type": (
        "type narrowed to {reader}; old data may be {value}",
        "type widened to allow {value}; consumers on the old schema accept only {reader}",
    ),
    "nullable": (
        "became non-nullable; old data may hold null",
        "became nullable; new data may hold null, which consumers on the old schema reject",
    ),
    "enum_values": (
        "allowed values narrowed; old data may hold {value}, which the new schema rejects",
        "allowed values widened with {value}; consumers on the old schema reject it",
    ),
    "enum_added": (
        "values restricted to {reader}; old data may hold others",
        "restriction to {reader} was lifted; new data may hold values consumers on the old schema reject",
    ),
    "closed_removed": (
        "field was removed, but the new schema forbids unknown fields and old data carries it",
        "field was added, but the old schema forbids unknown fields; consumers on it reject new data",
    ),
    "closed_extra": (
        "unknown fields became forbidden; old data may carry them",
        "unknown fields became allowed; consumers on the old schema forbid them",
    ),
    "bound": (
        "{keyword} tightened from {old} to {new}; old data may fall outside it",
        "{keyword} loosened from {old} to {new}; new data may fall outside what the old schema accepts",
    ),
    "changed": (
        "{keyword} changed from {old} to {new}; old data may not satisfy it",
        "{keyword} changed from {old} to {new}; new data may not satisfy the old schema",
    ),
    "nothing": (
        "the new schema accepts no value here; old data may have one",
        "the old schema accepted no value here; new data may have one",
    ),
    "too_deep": (
        "schemas nest deeper than {value} levels; cannot prove compatibility",
        "schemas nest deeper than {value} levels; cannot prove compatibility",
    ),
}


class _Text(str):
    """Text already worded for a message (a bound such as `>= 1`), shown without quotes."""

    __slots__ = ()


def _fmt(value: Any) -> str:
    if value is None or value is _MISSING:
        return "unset"
    if isinstance(value, _Text):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple, frozenset, set)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _fmt_types(types: frozenset[str] | None) -> _Text:
    if types is None:
        return _Text("any type")
    return _Text(" or ".join(t for t in JSON_TYPES if t in types))
