"""`crossdock schemas list | check | export`, driven through Typer's CliRunner with a stand-in model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from crossdock.cli.schemas import make_schemas_app, schemas_app
from crossdock.events.catalogue import EventCatalogue, EventTypeSpec
from crossdock.events.registry import schema_path
from tests.unit.events.standins import SMALL_CATALOGUE, Customer, StandInModel, schema_of

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


class CustomerWithRep(Customer):
    """A compatible change."""

    sales_rep: str | None = None


class CustomerWithRequiredLimit(Customer):
    """An incompatible change."""

    credit_limit: Decimal


@pytest.fixture
def app(tmp_path: Path, stand_in_model: StandInModel) -> typer.Typer:
    return make_schemas_app(catalogue=SMALL_CATALOGUE, schema_source=stand_in_model, registry_dir=tmp_path)


def run(app: typer.Typer, *args: str) -> Any:
    return runner.invoke(app, list(args), env=WIDE)


def test_export_then_list(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, "export")
    assert result.exit_code == 0, result.output
    assert "2 schema file(s) written." in result.output
    assert schema_path(tmp_path, "crossdock.customer.updated", 1).exists()

    listed = run(app, "list")
    assert listed.exit_code == 0, listed.output
    assert "crossdock.order.accepted.v1" in listed.output
    assert "sales_order" in listed.output

    rows = orjson.loads(run(app, "list", "--json").output)
    assert rows[0] == {
        "type": "crossdock.customer.updated.v1",
        "subject": "crossdock.customer.updated",
        "versions": [1],
        "entity": "customer",
        "description": "A customer changed.",
    }


def test_list_shows_unregistered_types_and_a_users_own(app: typer.Typer, tmp_path: Path) -> None:
    own = tmp_path.parent / "own"
    (own / "crossdock.pallet.scanned").mkdir(parents=True)
    schema_path(own, "crossdock.pallet.scanned", 1).write_text('{"type": "object"}')
    listed = run(app, "list", "--extra", str(own))
    assert listed.exit_code == 0, listed.output
    assert "not registered" in listed.output
    rows = orjson.loads(run(app, "list", "--json", "--extra", str(own)).output)
    assert rows[-1]["type"] == "crossdock.pallet.scanned.v1"
    assert rows[-1]["entity"] is None


def test_list_reads_schema_dir_from_the_config_under_the_main_cli(app: typer.Typer, tmp_path: Path) -> None:
    own = tmp_path.parent / "own-configured"
    (own / "crossdock.pallet.scanned").mkdir(parents=True)
    schema_path(own, "crossdock.pallet.scanned", 1).write_text('{"type": "object"}')
    config = tmp_path.parent / "crossdock.yaml"
    config.write_text(f"schema_dir: {own}\n")
    # The main CLI's callback puts `--config` into ctx.obj; here the runner does it.
    result = runner.invoke(app, ["list", "--json"], env={**WIDE, "CROSSDOCK_CONFIG": ""}, obj={"config": config})
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)[-1]["type"] == "crossdock.pallet.scanned.v1"

    broken = runner.invoke(app, ["list"], obj={"config": tmp_path / "missing.yaml"})
    assert broken.exit_code == 2
    assert "cannot read the config file" in broken.output


def test_check_passes_when_unchanged_and_on_compatible_changes(app: typer.Typer, stand_in_model: StandInModel) -> None:
    run(app, "export")
    result = run(app, "check")
    assert result.exit_code == 0, result.output
    assert "All event schemas are compatible" in result.output

    stand_in_model.schemas["customer"] = schema_of(CustomerWithRep)
    result = run(app, "check")
    assert result.exit_code == 0, result.output
    assert "compatible change: export registers v2" in result.output


def test_check_fails_listing_what_would_break(app: typer.Typer, stand_in_model: StandInModel) -> None:
    run(app, "export")
    stand_in_model.schemas["customer"] = schema_of(CustomerWithRequiredLimit)
    result = run(app, "check")
    assert result.exit_code == 1
    assert "incompatible with v1" in result.output
    assert "properties.credit_limit: field became required; old data may omit it" in result.output

    payload = orjson.loads(run(app, "check", "--json").output)
    assert payload["ok"] is False
    customer = payload["results"][0]
    assert customer["status"] == "incompatible"
    assert {
        "path": "properties.credit_limit",
        "message": "became non-nullable; old data may hold null",
        "direction": "backward",
    } in customer["problems"]


def test_check_fails_for_unregistered_types(app: typer.Typer) -> None:
    result = run(app, "check")
    assert result.exit_code == 1
    assert "not registered" in result.output


def test_check_fails_when_the_catalogue_is_ahead_of_the_registry(tmp_path: Path, stand_in_model: StandInModel) -> None:
    run(make_schemas_app(catalogue=SMALL_CATALOGUE, schema_source=stand_in_model, registry_dir=tmp_path), "export")
    ahead = EventCatalogue([EventTypeSpec("customer", "updated", 2, "A customer changed.", "customer")])
    app = make_schemas_app(catalogue=ahead, schema_source=stand_in_model, registry_dir=tmp_path)
    result = run(app, "check")
    assert result.exit_code == 1
    assert "crossdock.customer.updated.v2 is in the catalogue but not registered" in result.output


def test_export_writes_the_next_version_and_refuses_breaking_ones(
    app: typer.Typer, stand_in_model: StandInModel, tmp_path: Path
) -> None:
    run(app, "export")
    stand_in_model.schemas["customer"] = schema_of(CustomerWithRep)
    result = run(app, "export")
    assert result.exit_code == 0, result.output
    assert "v2 written" in result.output
    assert "Bump crossdock.customer.updated to version 2" in result.output
    assert schema_path(tmp_path, "crossdock.customer.updated", 2).exists()

    stand_in_model.schemas["customer"] = schema_of(CustomerWithRequiredLimit)
    result = run(app, "export", "--json")
    assert result.exit_code == 1
    payload = orjson.loads(result.output)
    assert payload["results"][0]["status"] == "incompatible"
    assert not schema_path(tmp_path, "crossdock.customer.updated", 3).exists()


def test_export_to_another_directory(app: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    result = run(app, "export", str(target))
    assert result.exit_code == 0, result.output
    assert schema_path(target, "crossdock.order.accepted", 1).exists()
    assert not schema_path(tmp_path, "crossdock.order.accepted", 1).exists()


def test_errors_are_messages_not_tracebacks(tmp_path: Path, stand_in_model: StandInModel) -> None:
    broken = tmp_path / "broken"
    (broken / "crossdock.customer.updated").mkdir(parents=True)
    (broken / "crossdock.customer.updated" / "v1.json").write_text("{oops")
    app = make_schemas_app(catalogue=SMALL_CATALOGUE, schema_source=stand_in_model, registry_dir=broken)
    for command in ("list", "check", "export"):
        result = run(app, command)
        assert result.exit_code == 2
        assert "v1.json is not valid JSON" in result.output
        assert "Traceback" not in result.output

    missing = make_schemas_app(
        catalogue=EventCatalogue([EventTypeSpec("widget", "built", 1, "A widget.", "widget")]),
        schema_source=stand_in_model,
        registry_dir=tmp_path / "fresh",
    )
    result = run(missing, "check")
    assert result.exit_code == 2
    assert "no usable schema for entity 'widget'" in result.output
    assert "Traceback" not in result.output

    result = run(app, "list", "--extra", str(tmp_path / "nowhere"))
    assert result.exit_code == 2


def test_the_default_app_lists_the_packaged_catalogue() -> None:
    result = runner.invoke(schemas_app, ["list", "--json"], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = orjson.loads(result.output)
    assert {"type": "crossdock.order.accepted.v1", "entity": "sales_order"}.items() <= next(
        row for row in rows if row["type"] == "crossdock.order.accepted.v1"
    ).items()
