"""The schema compatibility checker: named cases, the evolution rules as properties, and soundness against data."""

from __future__ import annotations

import copy
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from crossdock.events.compat import (
    CompatibilityMode,
    Direction,
    InvalidSchemaError,
    check_compatibility,
    is_compatible,
)
from tests.unit.events.standins import Customer, schema_of

BACKWARD = CompatibilityMode.BACKWARD
FORWARD = CompatibilityMode.FORWARD
FULL = CompatibilityMode.FULL
ALL_MODES = list(CompatibilityMode)


def messages(old: Any, new: Any, mode: CompatibilityMode = BACKWARD) -> list[str]:
    return [str(problem) for problem in check_compatibility(old, new, mode)]


# -- named cases on pydantic schemas


def test_the_brief_example_message() -> None:
    class Old(BaseModel):
        number: str

    class New(BaseModel):
        number: str
        credit_limit: Decimal

    assert messages(schema_of(Old), schema_of(New)) == [
        "properties.credit_limit: field became required with no default; old data lacks it"
    ]


def test_an_optional_field_added_to_a_pydantic_model_is_fully_compatible() -> None:
    class New(Customer):
        sales_rep: str | None = None

    assert is_compatible(schema_of(Customer), schema_of(New), FULL)


def test_optional_becoming_required_names_both_the_requirement_and_the_null() -> None:
    class New(BaseModel):
        number: str
        name: str
        credit_limit: Decimal

    found = messages(schema_of(Customer), schema_of(New))
    assert "properties.credit_limit: field became required; old data may omit it" in found
    assert "properties.credit_limit: became non-nullable; old data may hold null" in found


def test_removing_a_required_field_breaks_old_consumers_only() -> None:
    class Old(BaseModel):
        number: str
        name: str

    class New(BaseModel):
        number: str

    assert is_compatible(schema_of(Old), schema_of(New), BACKWARD)
    assert messages(schema_of(Old), schema_of(New), FORWARD) == [
        "properties.name: required field was removed; new data lacks it, but consumers on the old schema require it"
    ]


def test_enum_changes_through_refs_report_the_values() -> None:
    class Wide(StrEnum):
        A = "active"
        B = "blocked"
        C = "closed"

    class Narrow(StrEnum):
        A = "active"
        B = "blocked"

    class Old(BaseModel):
        status: Wide

    class New(BaseModel):
        status: Narrow

    assert messages(schema_of(Old), schema_of(New)) == [
        "properties.status: allowed values narrowed; old data may hold ['closed'], which the new schema rejects"
    ]
    assert messages(schema_of(New), schema_of(Old), FORWARD) == [
        "properties.status: allowed values widened with ['closed']; consumers on the old schema reject it"
    ]


def test_nested_models_and_arrays_are_followed_with_paths() -> None:
    class LineV1(BaseModel):
        sku: str
        quantity: int = Field(ge=0)

    class LineV2(BaseModel):
        sku: str = Field(max_length=20)
        quantity: int = Field(gt=0)

    class OrderV1(BaseModel):
        lines: list[LineV1]

    class OrderV2(BaseModel):
        lines: list[LineV2]

    assert messages(schema_of(OrderV1), schema_of(OrderV2)) == [
        "properties.lines.items.properties.quantity: lower bound tightened from >= 0 to >= 1; "
        "old data may fall outside it",
        "properties.lines.items.properties.sku: maxLength tightened from unset to 20; old data may fall outside it",
    ]


def test_integer_bounds_that_mean_the_same_are_no_change() -> None:
    old = {"type": "integer", "exclusiveMinimum": 0}
    new = {"type": "integer", "minimum": 1}
    assert is_compatible(old, new, FULL)
    assert not is_compatible({"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 1})


def test_type_changes() -> None:
    assert messages({"type": "number"}, {"type": "integer"}) == ["$: type narrowed to integer; old data may be number"]
    assert is_compatible({"type": "integer"}, {"type": "number"})
    assert messages({"type": "integer"}, {"type": "number"}, FORWARD) == [
        "$: type widened to allow number; consumers on the old schema accept only integer"
    ]
    assert messages({}, {"type": "string"}) == ["$: type narrowed to string; old data may be any JSON value"]


def test_nullable_changes_in_both_directions() -> None:
    optional = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    required = {"type": "string"}
    assert messages(optional, required) == ["$: became non-nullable; old data may hold null"]
    assert messages(required, optional, FORWARD) == [
        "$: became nullable; new data may hold null, which consumers on the old schema reject"
    ]
    assert is_compatible({"type": ["string", "null"]}, optional, FULL)


def test_string_format_and_pattern_changes() -> None:
    assert messages({"type": "string"}, {"type": "string", "format": "date"}) == [
        "$: format changed from unset to 'date'; old data may not satisfy it"
    ]
    assert is_compatible({"type": "string", "format": "date"}, {"type": "string"})
    assert not is_compatible({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"})


def test_const_and_literals() -> None:
    class Old(BaseModel):
        kind: Literal["order"]

    class New(BaseModel):
        kind: Literal["order", "quote"]

    assert is_compatible(schema_of(Old), schema_of(New))
    assert not is_compatible(schema_of(Old), schema_of(New), FORWARD)


def test_closed_models_make_removals_breaking() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    new = {"type": "object", "properties": {}, "additionalProperties": False}
    assert messages(old, new) == [
        "properties.a: field was removed, but the new schema forbids unknown fields and old data carries it"
    ]
    open_old = {"type": "object", "additionalProperties": True}
    assert messages(open_old, new) == ["$: unknown fields became forbidden; old data may carry them"]


def test_explicit_additional_properties_schemas_are_compared() -> None:
    old = {"type": "object", "additionalProperties": {"type": "string"}}
    new = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert messages(old, new) == [
        "additionalProperties: type narrowed to integer; old data may be string",
    ]
    assert is_compatible(
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"type": "object", "additionalProperties": {"type": "number"}},
    )


def test_tuples_unique_items_and_multiples() -> None:
    old = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}
    new = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]}
    assert messages(old, new) == ["prefixItems.1: type narrowed to string; old data may be integer"]
    assert not is_compatible({"type": "array"}, {"type": "array", "uniqueItems": True})
    assert is_compatible({"type": "number", "multipleOf": 0.02}, {"type": "number", "multipleOf": 0.01})
    assert not is_compatible({"type": "number", "multipleOf": 0.01}, {"type": "number", "multipleOf": 0.02})


def test_recursive_models_terminate() -> None:
    class Category(BaseModel):
        name: str
        parent: Category | None = None
        children: list[Category] = []

    class CategoryV2(BaseModel):
        name: str = Field(max_length=40)
        parent: CategoryV2 | None = None
        children: list[CategoryV2] = []

    assert check_compatibility(schema_of(Category), schema_of(Category), FULL) == []
    found = messages(schema_of(Category), schema_of(CategoryV2))
    assert "properties.name: maxLength tightened from unset to 40; old data may fall outside it" in found


def test_unknown_validation_keywords_count_as_changes_but_annotations_do_not() -> None:
    assert is_compatible({"type": "string", "title": "A"}, {"type": "string", "description": "B", "x-owner": "erp"})
    assert messages({"type": "string"}, {"type": "string", "not": {"const": ""}}) == [
        "$: not changed from unset to {'const': ''}; old data may not satisfy it"
    ]


def test_full_reports_both_directions_and_none_reports_nothing() -> None:
    old = {"type": "string", "enum": ["a", "b"]}
    new = {"type": "string", "enum": ["b", "c"]}
    directions = {problem.direction for problem in check_compatibility(old, new, FULL)}
    assert directions == {Direction.BACKWARD, Direction.FORWARD}
    assert check_compatibility(old, new, CompatibilityMode.NONE) == []


def test_refs_resolve_against_their_own_schema_even_when_nodes_are_shared() -> None:
    old = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"type": "string"}}}
    new = {**old, "$defs": {"A": {"type": "integer"}}}  # shares the properties, and the $ref node, with old
    assert messages(old, new) == ["properties.a: type narrowed to integer; old data may be string"]


def test_a_dangling_ref_is_a_schema_error() -> None:
    with pytest.raises(InvalidSchemaError, match="points nowhere"):
        check_compatibility({"type": "object"}, {"$ref": "#/$defs/Missing"})
    with pytest.raises(InvalidSchemaError, match="not local"):
        check_compatibility({"type": "object"}, {"$ref": "https://example.com/schema.json"})


def test_boolean_schemas() -> None:
    assert is_compatible(False, {"type": "string"})
    assert is_compatible({"type": "string"}, True)
    assert messages({"type": "string"}, False) == ["$: the new schema accepts no value here; old data may have one"]


# -- property-based: random pydantic-shaped schemas, evolved by one change

_NAMES = st.sampled_from(["number", "name", "city", "sku", "qty", "status", "rep", "terms", "note"])
_ENUM_VALUES = "abcdef"

_LEAVES: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({"type": "string"}),
    st.builds(
        lambda low, extra: {"type": "string", "minLength": low, "maxLength": low + extra},
        st.integers(0, 2),
        st.integers(0, 4),
    ),
    st.just({"type": "integer"}),
    st.builds(lambda low: {"type": "integer", "minimum": low}, st.integers(-3, 3)),
    st.just({"type": "number"}),
    st.just({"type": "boolean"}),
    st.builds(
        lambda values: {"type": "string", "enum": sorted(values)},
        st.sets(st.sampled_from(_ENUM_VALUES), min_size=1, max_size=4),
    ),
)


# Every shape of leaf with small constraint values, so that "same type, other constraints" is easy to draw.
_LEAF_VARIANTS: list[dict[str, Any]] = [
    {"type": "string"},
    *({"type": "string", "minLength": low, "maxLength": high} for low in range(3) for high in range(low, 5)),
    {"type": "integer"},
    *({"type": "integer", "minimum": low} for low in range(-3, 4)),
    {"type": "number"},
    {"type": "boolean"},
    {"type": "string", "enum": ["a"]},
    {"type": "string", "enum": ["a", "b"]},
    {"type": "string", "enum": ["a", "b", "c"]},
    {"type": "string", "enum": ["b", "c", "d"]},
]


@st.composite
def _objects(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    properties = draw(st.dictionaries(_NAMES, children, max_size=4))
    required = [name for name in properties if draw(st.booleans())]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _nullable(child: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [child, {"type": "null"}], "default": None}


_SCHEMAS = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        _objects(children),
        st.builds(lambda items: {"type": "array", "items": items}, children),
        st.builds(_nullable, children),
    ),
    max_leaves=8,
)


def _hoist(schema: dict[str, Any]) -> dict[str, Any]:
    """Move nested objects into $defs behind $refs, the way pydantic lays out nested models."""
    defs: dict[str, Any] = {}

    def visit(node: Any, top: bool) -> Any:
        if isinstance(node, list):
            return [visit(item, False) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: visit(value, False) for key, value in node.items()}
        if not top and out.get("type") == "object":
            name = f"Model{len(defs)}"
            defs[name] = out
            return {"$ref": f"#/$defs/{name}"}
        return out

    root: dict[str, Any] = visit(schema, True)
    if defs:
        root["$defs"] = defs
    return root


@st.composite
def models(draw: st.DrawFn) -> dict[str, Any]:
    """A random top-level model schema, sometimes with its nested models in $defs."""
    schema = draw(_objects(_SCHEMAS))
    return _hoist(schema) if draw(st.booleans()) else schema


def _object_nodes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return found


def _annotated(schema: Any) -> Any:
    """The same schema with every object node retitled: equal in meaning, unequal as data."""
    if isinstance(schema, list):
        return [_annotated(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _annotated(value) for key, value in schema.items()}
    if "type" in out or "$ref" in out or "anyOf" in out:
        out["description"] = "retitled"
    return out


@settings(max_examples=100, deadline=None)
@given(models())
def test_every_schema_is_compatible_with_itself_in_every_mode(schema: dict[str, Any]) -> None:
    # The retitled copy is not == to the original, so the whole checker runs rather than the shortcut.
    twin = _annotated(schema)
    assert twin != schema
    for mode in ALL_MODES:
        assert check_compatibility(schema, twin, mode) == []


@settings(max_examples=100, deadline=None)
@given(models(), st.data())
def test_adding_an_optional_field_is_backward_compatible(schema: dict[str, Any], data: st.DataObject) -> None:
    new = copy.deepcopy(schema)
    target = data.draw(st.sampled_from(_object_nodes(new)))
    field = data.draw(_SCHEMAS)
    target.setdefault("properties", {})["added_field"] = _nullable(field)
    assert check_compatibility(schema, new, BACKWARD) == []


@settings(max_examples=100, deadline=None)
@given(models(), _NAMES, _LEAVES)
def test_removing_a_required_field_is_forward_incompatible(
    schema: dict[str, Any], name: str, leaf: dict[str, Any]
) -> None:
    old = copy.deepcopy(schema)
    old["properties"][name] = leaf
    old["required"] = sorted({*old.get("required", []), name})
    new = copy.deepcopy(old)
    del new["properties"][name]
    new["required"] = [n for n in new["required"] if n != name]
    problems = check_compatibility(old, new, FORWARD)
    assert any(p.path == f"properties.{name}" and "required field was removed" in p.message for p in problems)
    assert check_compatibility(old, new, BACKWARD) == []


@settings(max_examples=100, deadline=None)
@given(models(), _NAMES, _LEAVES)
def test_making_an_optional_field_required_is_backward_incompatible(
    schema: dict[str, Any], name: str, leaf: dict[str, Any]
) -> None:
    old = copy.deepcopy(schema)
    old["properties"][name] = leaf
    old["required"] = [n for n in old.get("required", []) if n != name]
    new = copy.deepcopy(old)
    new["required"] = [*new["required"], name]
    problems = check_compatibility(old, new, BACKWARD)
    assert [str(p) for p in problems] == [f"properties.{name}: field became required; old data may omit it"]
    assert check_compatibility(old, new, FORWARD) == []


@settings(max_examples=100, deadline=None)
@given(
    models(),
    st.sets(st.sampled_from(_ENUM_VALUES), min_size=2, max_size=6),
    st.data(),
)
def test_narrowing_an_enum_is_backward_incompatible_and_widening_forward_incompatible(
    schema: dict[str, Any], values: set[str], data: st.DataObject
) -> None:
    wide = sorted(values)
    narrow = sorted(data.draw(st.sets(st.sampled_from(wide), min_size=1, max_size=len(wide) - 1)))
    old = copy.deepcopy(schema)
    old["properties"]["status"] = {"type": "string", "enum": wide}
    new = copy.deepcopy(old)
    new["properties"]["status"] = {"type": "string", "enum": narrow}
    assert any(p.path == "properties.status" for p in check_compatibility(old, new, BACKWARD))
    assert check_compatibility(old, new, FORWARD) == []
    # Read the other way round, the same edit is a widening.
    assert any(p.path == "properties.status" for p in check_compatibility(new, old, FORWARD))
    assert check_compatibility(new, old, BACKWARD) == []


# -- soundness: whenever the checker says compatible, real documents prove it right


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def instances(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Documents a schema of the generated shape accepts, as `model_dump` would emit them (declared fields only)."""
    root = schema if root is None else root
    node = _resolve(schema, root)
    if "anyOf" in node:
        return st.one_of([instances(branch, root) for branch in node["anyOf"]])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "string":
        low = node.get("minLength", 0)
        return st.text("xyz", min_size=low, max_size=node.get("maxLength", low + 4))
    if kind == "integer":
        return st.integers(min_value=node.get("minimum", -10), max_value=10 + abs(node.get("minimum", 0)))
    if kind == "number":
        return st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(instances(node.get("items", {"type": "null"}), root), max_size=2)
    properties = node.get("properties", {})
    required = set(node.get("required", ()))
    return st.fixed_dictionaries(
        {name: instances(sub, root) for name, sub in properties.items() if name in required},
        optional={name: instances(sub, root) for name, sub in properties.items() if name not in required},
    )


def _mutate(schema: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    new = copy.deepcopy(schema)
    target = data.draw(st.sampled_from(_object_nodes(new)))
    properties = target.setdefault("properties", {})
    required = target.setdefault("required", [])
    name = data.draw(_NAMES)
    change = data.draw(st.sampled_from(["add", "remove", "replace", "same-type", "require", "relax", "nullable"]))
    if change == "add" or (change != "add" and name not in properties):
        properties[name] = data.draw(_SCHEMAS)
        if data.draw(st.booleans()):
            required.append(name)
    elif change == "remove":
        del properties[name]
        target["required"] = [n for n in required if n != name]
    elif change == "replace":
        properties[name] = data.draw(_SCHEMAS)
    elif change == "same-type":
        # Same type, other constraints: bounds tightened or loosened, enum values added or dropped.
        kind = properties[name].get("type")
        same = [leaf for leaf in _LEAF_VARIANTS if leaf["type"] == kind]
        properties[name] = data.draw(st.sampled_from(same)) if same else data.draw(_SCHEMAS)
    elif change == "require":
        required.append(name)
    elif change == "relax":
        target["required"] = [n for n in required if n != name]
    else:
        properties[name] = _nullable(properties[name])
    target["required"] = sorted(set(target["required"]))
    return new


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.data())
def test_compatible_verdicts_hold_for_real_documents(schema: dict[str, Any], data: st.DataObject) -> None:
    new = _mutate(schema, data)
    for direction, writer, reader in ((BACKWARD, schema, new), (FORWARD, new, schema)):
        if check_compatibility(schema, new, direction):
            continue
        validator = jsonschema_rs.validator_for(reader)
        for _ in range(3):
            document = data.draw(instances(writer))
            assert validator.is_valid(document), (direction, document)


_PROBES: list[Any] = [
    None,
    True,
    False,
    *("x" * length for length in range(7)),
    *"abcde",
    *range(-5, 6),
    -4.5,
    0.5,
    2.5,
    [],
    {},
]
_LEAVES_AND_NULLABLES = [*_LEAF_VARIANTS, *(_nullable(leaf) for leaf in _LEAF_VARIANTS)]


@pytest.mark.parametrize("old", _LEAVES_AND_NULLABLES, ids=str)
def test_leaf_verdicts_match_the_validator_on_probe_values(old: dict[str, Any]) -> None:
    # Exhaustive over every pair of leaves: "compatible" must be true of every probe value (soundness), and on
    # leaves the checker should be exact, so "incompatible" must be shown by some probe value (no false alarm).
    old_accepts = jsonschema_rs.validator_for(old)
    accepted = [value for value in _PROBES if old_accepts.is_valid(value)]
    for new in _LEAVES_AND_NULLABLES:
        new_accepts = jsonschema_rs.validator_for(new)
        rejected = [value for value in accepted if not new_accepts.is_valid(value)]
        verdict = check_compatibility(old, new, BACKWARD)
        assert bool(verdict) == bool(rejected), (new, verdict, rejected)
