"""Every canonical entity round-trips through its JSON dump, and every dump satisfies the entity's JSON Schema."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from crossdock.model import CANONICAL_ENTITIES, UnknownEntityError, json_schema
from crossdock.model.catalogue import JSON_SCHEMA_DIALECT, model_for

from .examples import EXAMPLES
from .strategies import STRATEGIES

ENTITY_NAMES = [
    "customer",
    "contact",
    "item",
    "price_list",
    "contract_price",
    "inventory_position",
    "quote",
    "sales_order",
    "shipment",
    "invoice",
    "payment",
    "return",
    "supplier",
    "purchase_order",
    "po_acknowledgement",
    "ship_notice",
]


@cache
def validator(entity: str) -> Any:
    """A format-checking draft 2020-12 validator for the entity's schema, built once per run."""
    return jsonschema_rs.Draft202012Validator(json_schema(entity), validate_formats=True)


def assert_round_trip(entity: str, instance: BaseModel) -> None:
    """The JSON dump validates back to an equal object, dumps the same again, and satisfies the schema."""
    model = CANONICAL_ENTITIES[entity]
    dumped = instance.model_dump(mode="json")
    errors = [f"{e.instance_path}: {e.message}" for e in validator(entity).iter_errors(dumped)]
    assert not errors, errors
    restored = model.model_validate(dumped)
    assert restored == instance
    assert restored.model_dump(mode="json") == dumped
    assert model.model_validate_json(json.dumps(dumped)) == instance


def test_catalogue_names_the_sixteen_entities() -> None:
    assert sorted(CANONICAL_ENTITIES) == sorted(ENTITY_NAMES)
    assert sorted(EXAMPLES) == sorted(ENTITY_NAMES) == sorted(STRATEGIES)


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_schema_is_valid_draft_2020_12_and_self_contained(entity: str) -> None:
    schema = json_schema(entity)
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert jsonschema_rs.meta.is_valid(schema)
    refs = list(_values_of(schema, "$ref"))
    assert all(ref.startswith("#/$defs/") for ref in refs), refs
    assert all(ref.removeprefix("#/$defs/") in schema.get("$defs", {}) for ref in refs)
    assert schema["additionalProperties"] is False


def test_json_schema_returns_a_copy_callers_may_change() -> None:
    json_schema("customer")["title"] = "changed"
    assert json_schema("customer")["title"] == "Customer"


def test_unknown_entity_names_the_known_ones() -> None:
    with pytest.raises(UnknownEntityError, match="'custmer' is not a canonical entity; known entities: contact"):
        json_schema("custmer")
    with pytest.raises(UnknownEntityError):
        model_for("order")


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_typical_instance_round_trips_and_matches_schema(entity: str) -> None:
    assert_round_trip(entity, EXAMPLES[entity])


@pytest.mark.parametrize("entity", ENTITY_NAMES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_instances_round_trip_and_match_schema(entity: str, data: st.DataObject) -> None:
    assert_round_trip(entity, data.draw(STRATEGIES[entity]))


def test_schema_refuses_decimals_as_json_numbers() -> None:
    dumped = EXAMPLES["payment"].model_dump(mode="json")
    assert dumped["amount"] == {"currency": "USD", "amount": "208.40"}
    dumped["amount"]["amount"] = 208.4
    assert not validator("payment").is_valid(dumped)


def test_schema_refuses_unknown_fields_like_the_model() -> None:
    dumped = EXAMPLES["customer"].model_dump(mode="json")
    dumped["favourite_colour"] = "blue"
    assert not validator("customer").is_valid(dumped)


def _values_of(node: Any, key: str) -> list[Any]:
    if isinstance(node, dict):
        found = [node[key]] if key in node else []
        return found + [v for child in node.values() for v in _values_of(child, key)]
    if isinstance(node, list):
        return [v for child in node for v in _values_of(child, key)]
    return []
