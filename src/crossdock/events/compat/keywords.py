"""What a single schema node says: which keywords are annotations and which the checker reasons about, the JSON
types it admits, and its values when they are few and explicit (enum, const, null, boolean)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_MAX_DEPTH = 64
_MISSING: Any = object()

# Keywords that never make a document invalid; changes to them are not compatibility questions.
_ANNOTATIONS = frozenset(
    [
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$schema",
        "$id",
        "$anchor",
        "$defs",
        "definitions",
        "$vocabulary",
        "discriminator",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    ]
)
# Keywords this module reasons about; any other validation keyword is compared for equality.
_HANDLED = frozenset(
    [
        "$ref",
        "type",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]
)


_PYTHON_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: bool is an int subclass
    (int, "integer"),
    (str, "string"),
    (list, "array"),
)


def _type_of(value: Any) -> str:
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    for python_type, json_type in _PYTHON_JSON_TYPES:
        if isinstance(value, python_type):
            return json_type
    return "object"


def _accepts_type(reader_types: frozenset[str] | None, writer_type: str) -> bool:
    if reader_types is None:
        return True
    return writer_type in reader_types or (writer_type == "integer" and "number" in reader_types)


def _is_constraint(keyword: str) -> bool:
    return keyword not in _ANNOTATIONS and not keyword.startswith("x-")


def _constraints(schema: Mapping[str, Any]) -> bool:
    """Whether a schema object constrains anything at all (`{}` and pure annotations accept every value)."""
    return any(_is_constraint(k) for k in schema)


def _declared_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    return None


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return bool(left == right)


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema admits, or None when it does not say."""
    declared = _declared_types(schema)
    if declared is not None:
        return declared
    values = _finite_values(schema)
    if values is not None:
        return frozenset(_type_of(value) for value in values)
    return None


def _enum_of(schema: Mapping[str, Any]) -> list[Any]:
    return [schema["const"]] if "const" in schema else list(schema["enum"])


def _finite_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """Every value a schema can take, when that set is small and explicit (enum, const, null, boolean)."""
    if "const" in schema or "enum" in schema:
        return _enum_of(schema)
    declared = schema.get("type")
    if declared in ("null", ["null"]):
        return [None]
    if declared in ("boolean", ["boolean"]):
        return [True, False]
    return None
