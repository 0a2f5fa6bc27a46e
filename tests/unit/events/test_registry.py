"""The schema registry: registration rules, validation of event data, the directory of record and exports."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from crossdock.events.compat import CompatibilityMode
from crossdock.events.envelope import CloudEvent
from crossdock.events.registry import (
    ExportStatus,
    SchemaIncompatibleError,
    SchemaRegistry,
    SchemaRegistryError,
    SchemaValidationError,
    UnknownSchemaError,
    dataschema_uri,
    export_schemas,
    schema_document,
    schema_path,
)
from tests.unit.events.standins import SMALL_CATALOGUE, Customer, StandInModel, schema_of

SUBJECT = "crossdock.customer.updated"


class CustomerWithRep(Customer):
    """A compatible change: one more optional field."""

    sales_rep: str | None = None


class CustomerWithRequiredLimit(Customer):
    """An incompatible change: credit_limit required."""

    credit_limit: Decimal


@pytest.fixture
def registry() -> SchemaRegistry:
    registry = SchemaRegistry()
    registry.register(SUBJECT, 1, schema_document(schema_of(Customer), SUBJECT, 1))
    return registry


def event(data: dict[str, Any], type_: str = f"{SUBJECT}.v1", **extra: Any) -> CloudEvent:
    return CloudEvent(type=type_, source="erp", subject="customer:C-100", data=data, **extra)


# -- registration


def test_lookups_after_register(registry: SchemaRegistry) -> None:
    registered = registry.get(f"{SUBJECT}.v1")
    assert registered.version == 1
    assert registered.type == f"{SUBJECT}.v1"
    assert registry.versions(SUBJECT) == [1]
    assert registry.versions("crossdock.nothing.here") == []
    assert registry.subjects() == [SUBJECT]
    assert registry.latest(SUBJECT) is registered
    assert f"{SUBJECT}.v1" in registry
    assert len(registry) == 1
    assert registry.dataschema(f"{SUBJECT}.v1") == "urn:crossdock:schema:crossdock.customer.updated:v1"
    assert registered.schema["$id"] == dataschema_uri(SUBJECT, 1)


def test_a_compatible_version_is_registered(registry: SchemaRegistry) -> None:
    registry.register(SUBJECT, 2, schema_document(schema_of(CustomerWithRep), SUBJECT, 2))
    assert registry.versions(SUBJECT) == [1, 2]


def test_an_incompatible_version_is_refused_with_every_problem(registry: SchemaRegistry) -> None:
    with pytest.raises(SchemaIncompatibleError) as caught:
        registry.register(SUBJECT, 2, schema_document(schema_of(CustomerWithRequiredLimit), SUBJECT, 2))
    error = caught.value
    assert error.subject == SUBJECT
    assert error.version == 2
    assert list(error.problems) == [1]
    text = str(error)
    assert "crossdock.customer.updated v2 is not BACKWARD compatible with v1" in text
    assert "properties.credit_limit: field became required; old data may omit it" in text
    assert "properties.credit_limit: became non-nullable; old data may hold null" in text
    assert "optional with a default" in text
    assert registry.versions(SUBJECT) == [1]


def test_mode_none_lets_a_breaking_change_through(registry: SchemaRegistry) -> None:
    document = schema_document(schema_of(CustomerWithRequiredLimit), SUBJECT, 2)
    registry.register(SUBJECT, 2, document, CompatibilityMode.NONE)
    assert registry.versions(SUBJECT) == [1, 2]


def test_transitive_modes_check_every_earlier_version() -> None:
    # v2 drops `a` (open content, so old data still reads); v3 brings `a` back as a number: fine next to v2,
    # breaking against v1, whose data holds `a` as a string.
    v1 = {"type": "object", "properties": {"a": {"type": "string"}}}
    v2 = {"type": "object", "properties": {}}
    v3 = {"type": "object", "properties": {"a": {"type": "integer"}}}
    latest_only = SchemaRegistry()
    transitive = SchemaRegistry()
    for registry in (latest_only, transitive):
        registry.register(SUBJECT, 1, v1)
        registry.register(SUBJECT, 2, v2)
    latest_only.register(SUBJECT, 3, v3, CompatibilityMode.BACKWARD)
    with pytest.raises(SchemaIncompatibleError) as caught:
        transitive.register(SUBJECT, 3, v3, CompatibilityMode.BACKWARD_TRANSITIVE)
    assert set(caught.value.problems) == {1}
    assert "properties.a: type narrowed to integer; old data may be string (backward, vs v1)" in str(caught.value)


def test_registered_versions_never_change(registry: SchemaRegistry) -> None:
    same = schema_document(schema_of(Customer), SUBJECT, 1)
    assert registry.register(SUBJECT, 1, same) is registry.get(f"{SUBJECT}.v1")
    with pytest.raises(SchemaRegistryError, match="never changes: register the change as v2"):
        registry.register(SUBJECT, 1, schema_document(schema_of(CustomerWithRep), SUBJECT, 1))


def test_versions_have_no_gaps(registry: SchemaRegistry) -> None:
    with pytest.raises(SchemaRegistryError, match="the next one is v2"):
        registry.register(SUBJECT, 3, schema_document(schema_of(CustomerWithRep), SUBJECT, 3))


def test_registering_copies_the_schema(registry: SchemaRegistry) -> None:
    mine = schema_document(schema_of(CustomerWithRep), SUBJECT, 2)
    registry.register(SUBJECT, 2, mine)
    mine["properties"].clear()
    assert registry.get(f"{SUBJECT}.v2").schema["properties"]


@pytest.mark.parametrize(
    ("subject", "schema", "message"),
    [
        ("customer.updated", {"type": "object"}, "not of the form crossdock.<entity>.<verb>"),
        ("crossdock.customer.updated.v1", {"type": "object"}, "not of the form"),
        (SUBJECT, {"type": "nope"}, "is not a valid JSON Schema"),
        (SUBJECT, {"$ref": "#/$defs/Missing"}, "is not a valid JSON Schema"),
    ],
)
def test_bad_registrations_say_what_is_wrong(subject: str, schema: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaRegistryError, match=message):
        SchemaRegistry().register(subject, 1, schema)


# -- validation


def test_valid_data_passes(registry: SchemaRegistry, customer_data: dict[str, Any]) -> None:
    registry.validate(event(customer_data))
    registry.validate(event(customer_data, dataschema=dataschema_uri(SUBJECT, 1)))
    registry.validate_data(f"{SUBJECT}.v1", customer_data)


def test_invalid_data_names_the_event_the_paths_and_a_hint(
    registry: SchemaRegistry, customer_data: dict[str, Any]
) -> None:
    bad = copy.deepcopy(customer_data)
    del bad["name"]
    bad["status"] = "frozen"
    bad["bill_to"]["country"] = "USA"
    wrong = event(bad)
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(wrong)
    error = caught.value
    assert error.event_id == wrong.id
    assert error.event_type == f"{SUBJECT}.v1"
    paths = {problem.path for problem in error.problems}
    assert paths == {"$", "$.status", "$.bill_to"}
    text = str(error)
    assert wrong.id in text
    assert '"name" is a required property' in text
    assert "canonical customer as model_dump(mode='json') emits it" in text


def test_at_most_five_errors_are_listed() -> None:
    registry = SchemaRegistry()
    registry.register(SUBJECT, 1, {"type": "object", "additionalProperties": {"type": "integer"}})
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(event({f"f{i}": "x" for i in range(8)}))
    assert len(caught.value.problems) == 5
    assert str(caught.value).count("is not of type") == 5
    assert "and 3 more" in str(caught.value)
    assert "Fix the producer" not in str(caught.value)  # customer.updated is catalogued: the model hint


def test_array_indexes_appear_in_paths() -> None:
    registry = SchemaRegistry()
    schema = {"type": "object", "properties": {"lines": {"type": "array", "items": {"type": "integer"}}}}
    registry.register("crossdock.order.accepted", 1, schema)
    with pytest.raises(SchemaValidationError) as caught:
        registry.validate(event({"lines": [1, "two"]}, "crossdock.order.accepted.v1"))
    assert [problem.path for problem in caught.value.problems] == ["$.lines[1]"]


def test_unknown_types_say_how_to_register(registry: SchemaRegistry, customer_data: dict[str, Any]) -> None:
    with pytest.raises(UnknownSchemaError, match="crossdock schemas export") as caught:
        registry.validate(event(customer_data, "crossdock.widget.updated.v1"))
    assert "crossdock.widget.updated/v1.json" in str(caught.value)
    with pytest.raises(UnknownSchemaError, match=r"registered: v1\); register v2"):
        registry.validate(event(customer_data, f"{SUBJECT}.v2"))
    with pytest.raises(LookupError):
        registry.get("crossdock.widget.updated.v1")
    with pytest.raises(UnknownSchemaError, match="not an event type"):
        registry.get("crossdock.widget")


def test_a_foreign_dataschema_is_refused(registry: SchemaRegistry, customer_data: dict[str, Any]) -> None:
    with pytest.raises(SchemaValidationError, match="Set dataschema to"):
        registry.validate(event(customer_data, dataschema="https://example.com/customer.json"))


# -- the directory of record


def test_export_then_load_round_trip(tmp_path: Path, stand_in_model: StandInModel) -> None:
    results = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    assert [(r.spec.type, r.status, r.version) for r in results] == [
        ("crossdock.customer.updated.v1", ExportStatus.NEW, 1),
        ("crossdock.order.accepted.v1", ExportStatus.NEW, 1),
    ]
    written = schema_path(tmp_path, SUBJECT, 1)
    assert results[0].path == written
    document = orjson.loads(written.read_bytes())
    assert document["$id"] == dataschema_uri(SUBJECT, 1)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert written.read_bytes().endswith(b"}\n")

    registry = SchemaRegistry.from_directory(tmp_path)
    assert registry.subjects() == ["crossdock.customer.updated", "crossdock.order.accepted"]

    again = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    assert {r.status for r in again} == {ExportStatus.UNCHANGED}


def test_export_writes_compatible_changes_as_the_next_version(tmp_path: Path, stand_in_model: StandInModel) -> None:
    export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    stand_in_model.schemas["customer"] = schema_of(CustomerWithRep)
    dry = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model, write=False)
    assert (dry[0].status, dry[0].version, dry[0].path) == (ExportStatus.CHANGED, 2, None)
    assert not schema_path(tmp_path, SUBJECT, 2).exists()

    results = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    assert (results[0].status, results[0].version, results[0].latest) == (ExportStatus.CHANGED, 2, 1)
    assert results[1].status is ExportStatus.UNCHANGED
    assert SchemaRegistry.from_directory(tmp_path).versions(SUBJECT) == [1, 2]


def test_export_refuses_incompatible_changes(tmp_path: Path, stand_in_model: StandInModel) -> None:
    export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    stand_in_model.schemas["customer"] = schema_of(CustomerWithRequiredLimit)
    results = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    assert results[0].status is ExportStatus.INCOMPATIBLE
    assert "properties.credit_limit: field became required; old data may omit it" in map(str, results[0].problems)
    assert not schema_path(tmp_path, SUBJECT, 2).exists()


def test_a_subject_config_sets_its_compatibility(tmp_path: Path, stand_in_model: StandInModel) -> None:
    export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    (tmp_path / SUBJECT / "config.json").write_text('{"compatibility": "NONE"}')
    stand_in_model.schemas["customer"] = schema_of(CustomerWithRequiredLimit)
    results = export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    assert results[0].status is ExportStatus.CHANGED
    assert SchemaRegistry.from_directory(tmp_path).compatibility(SUBJECT) is CompatibilityMode.NONE


def test_an_edited_directory_is_checked_on_load(tmp_path: Path, stand_in_model: StandInModel) -> None:
    export_schemas(tmp_path, catalogue=SMALL_CATALOGUE, schema_source=stand_in_model)
    breaking = schema_document(schema_of(CustomerWithRequiredLimit), SUBJECT, 2)
    schema_path(tmp_path, SUBJECT, 2).write_bytes(orjson.dumps(breaking))
    with pytest.raises(SchemaIncompatibleError, match="not BACKWARD compatible with v1"):
        SchemaRegistry.from_directory(tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("v1.json", b"{not json", "v1.json is not valid JSON"),
        ("schema.json", b"{}", "unexpected file .*schema.json; schema files are named v<N>.json"),
        ("config.json", b'{"compatibility": "SOMETIMES"}', "compatibility must be one of BACKWARD"),
    ],
)
def test_a_broken_directory_names_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    (tmp_path / SUBJECT).mkdir()
    (tmp_path / SUBJECT / name).write_bytes(content)
    with pytest.raises(SchemaRegistryError, match=message):
        SchemaRegistry.from_directory(tmp_path)


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaRegistryError, match="does not exist; create it or fix the configured path"):
        SchemaRegistry.from_directory(tmp_path / "nowhere")


def test_an_extra_directory_adds_a_users_own_types(tmp_path: Path) -> None:
    own = {"type": "object", "properties": {"pallet_id": {"type": "string"}}, "required": ["pallet_id"]}
    (tmp_path / "crossdock.pallet.scanned").mkdir()
    schema_path(tmp_path, "crossdock.pallet.scanned", 1).write_bytes(orjson.dumps(own))
    registry = SchemaRegistry.default(extra_directory=tmp_path)
    registry.validate(event({"pallet_id": "P-1"}, "crossdock.pallet.scanned.v1"))
    assert "crossdock.pallet.scanned" in registry.subjects()
    with pytest.raises(SchemaValidationError, match="Fix the producer"):
        registry.validate(event({}, "crossdock.pallet.scanned.v1"))
