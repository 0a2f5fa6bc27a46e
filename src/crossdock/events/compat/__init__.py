"""JSON Schema compatibility between two versions of an event schema, in the modes of Confluent's registry.

The question behind every mode is one of inclusion: is every document the *writer's* schema accepts also
accepted by the *reader's* schema? BACKWARD asks it with old data and a new reader (consumers upgraded
first), FORWARD with new data and an old reader (producers upgraded first), FULL asks both. The checker
covers the JSON Schema that pydantic emits ($ref/$defs, type, properties/required/additionalProperties,
enum/const, anyOf/oneOf, items/prefixItems, format, pattern and the numeric, length and size bounds). It is
conservative: a keyword it cannot reason about counts as incompatible when it changed, so a green answer can
be trusted.

One deliberate departure from the letter of JSON Schema: a property that appears in the reader but not in
the writer is not checked against the writer's *implicit* (unset) `additionalProperties`. Our writers are
pydantic models, whose `model_dump` emits declared fields only, so old data never carries a field the old
model lacked; without this rule adding an optional field would count as breaking, which is not what anybody
on the wire experiences. An explicit `additionalProperties: true` or schema on the writer is still honoured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.events.compat.inclusion import _SubsetChecker
from crossdock.events.compat.keywords import JSON_TYPES
from crossdock.events.compat.modes import CompatibilityMode, Direction, Incompatibility, InvalidSchemaError


def check_compatibility(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    mode: CompatibilityMode = CompatibilityMode.BACKWARD,
) -> list[Incompatibility]:
    """Every way `new` breaks readers or writers of `old` under `mode`; an empty list means compatible."""
    if old == new:
        return []
    problems: list[Incompatibility] = []
    for direction in mode.directions:
        writer, reader = (old, new) if direction is Direction.BACKWARD else (new, old)
        problems.extend(_SubsetChecker(writer, reader, direction).run())
    return problems


def is_compatible(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    mode: CompatibilityMode = CompatibilityMode.BACKWARD,
) -> bool:
    """Whether `new` may follow `old` under `mode`."""
    return not check_compatibility(old, new, mode)


__all__ = [
    "JSON_TYPES",
    "CompatibilityMode",
    "Direction",
    "Incompatibility",
    "InvalidSchemaError",
    "check_compatibility",
    "is_compatible",
]
