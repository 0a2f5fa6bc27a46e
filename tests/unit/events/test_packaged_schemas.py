"""The packaged registry against the real canonical model: complete, in step, and accepting real data."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from crossdock.events.catalogue import CATALOGUE
from crossdock.events.envelope import CloudEvent
from crossdock.events.registry import (
    PACKAGED_SCHEMA_DIR,
    ExportStatus,
    SchemaRegistry,
    SchemaValidationError,
    export_schemas,
)
from crossdock.model.catalogue import CANONICAL_ENTITIES
from tests.unit.model import examples


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.default()


def example_of(entity: str) -> BaseModel:
    """The model team's typical instance of an entity."""
    builder = getattr(examples, "return_authorization" if entity == "return" else entity)
    instance: BaseModel = builder()
    return instance


def test_every_catalogued_entity_is_a_canonical_model() -> None:
    for spec in CATALOGUE:
        assert CATALOGUE.model_for(spec.type) is CANONICAL_ENTITIES[spec.data_entity]
    assert {spec.data_entity for spec in CATALOGUE} == set(CANONICAL_ENTITIES)


def test_every_catalogue_type_is_registered_at_its_version(registry: SchemaRegistry) -> None:
    for spec in CATALOGUE:
        assert spec.type in registry, f"{spec.type} is not registered; run `crossdock schemas export`"
        assert registry.get(spec.type).schema["$id"] == registry.dataschema(spec.type)


def test_the_packaged_schemas_are_in_step_with_the_model() -> None:
    # The gate behind `crossdock schemas check`: a model change needs an export (and a review) to land.
    stale = [
        f"{result.spec.type}: {result.status.value} {[str(p) for p in result.problems]}"
        for result in export_schemas(PACKAGED_SCHEMA_DIR, write=False)
        if result.status is not ExportStatus.UNCHANGED
    ]
    assert not stale, "run `crossdock schemas export` and review the new versions:\n" + "\n".join(stale)


def test_real_data_of_every_type_validates(registry: SchemaRegistry) -> None:
    for spec in CATALOGUE:
        data = example_of(spec.data_entity).model_dump(mode="json")
        registry.validate(
            CloudEvent(type=spec.type, source="test", subject="x", data=data, dataschema=registry.dataschema(spec.type))
        )


def test_data_of_the_wrong_entity_is_refused(registry: SchemaRegistry) -> None:
    wrong = CloudEvent(
        type="crossdock.order.accepted.v1",
        source="test",
        subject="x",
        data=example_of("customer").model_dump(mode="json"),
    )
    with pytest.raises(SchemaValidationError, match="canonical sales_order"):
        registry.validate(wrong)
