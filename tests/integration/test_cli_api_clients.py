"""`crossdock api clients` as an operator meets it: the secret printed once and never again, scopes a client's
kind may not hold refused, rotation with a grace period, revocation, and a listing without secrets or hashes."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from crossdock.api.clients import list_clients
from crossdock.api.security.credentials import check_secret, from_record, looks_like_secret
from crossdock.bootstrap import open_store
from crossdock.cli import app
from crossdock.config import Settings
from crossdock.ports.api import ApiClientRecord

SECRET = re.compile(r"cdk?s?k?_[0-9A-Za-z]{49}")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "crossdock.yaml"
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'crossdock.db'}",
        "event_log": "memory",
        "api": {"rate_plans": {"gold": {"requests_per_second": 100, "burst": 200}}},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


def crossdock(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), "api", "clients", *args])


def stored(config: Path, client_id: str) -> ApiClientRecord:
    store = open_store(Settings(database_url=yaml.safe_load(config.read_text())["database_url"]))
    try:
        return next(record for record in list_clients(store) if record.client_id == client_id)
    finally:
        store.dispose()


def test_create_prints_the_secret_once_and_list_never_shows_it(config: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = crossdock(
        config, "create", "--name", "Acme portal", "--kind", "partner", "--partner", "cus-acme",
        "--scope", "orders:read", "--scope", "orders:write credit:read", "--rate-plan", "gold", "--client-id", "acme",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    secrets = SECRET.findall(created.stdout)
    assert len(secrets) == 1
    secret = secrets[0]
    assert looks_like_secret(secret)
    assert "client id: acme" in created.stdout
    assert "cannot show it again" in created.stderr
    record = stored(config, "acme")
    assert check_secret(from_record(record), secret, datetime.now(UTC))
    assert (record.partner_id, record.rate_plan) == ("cus-acme", "gold")
    assert record.scopes == {"orders:read", "orders:write", "credit:read"}

    table = crossdock(config, "list")
    as_json = crossdock(config, "list", "--json")
    assert table.exit_code == as_json.exit_code == 0
    [listed] = json.loads(as_json.stdout)
    assert (listed["client_id"], listed["kind"], listed["revoked_at"]) == ("acme", "partner", None)
    for output in (table.stdout, as_json.stdout, caplog.text):
        assert secret not in output
        assert "sha256:" not in output
        assert "hash" not in output


def test_scopes_a_kind_may_not_hold_and_unknown_plans_are_refused(config: Path) -> None:
    refusals = {
        "systems:read": ["--kind", "partner", "--partner", "cus-acme", "--scope", "systems:read"],
        "ask the operator": ["--kind", "partner", "--scope", "orders:read"],
        "unknown scope": ["--kind", "internal", "--scope", "orders:delete"],
        "unknown rate plan": ["--kind", "internal", "--scope", "orders:read", "--rate-plan", "platinum"],
    }
    for expected, args in refusals.items():
        result = crossdock(config, "create", "--name", "x", *args)
        assert result.exit_code == 2, (expected, result.output)
        assert not SECRET.search(result.stdout)
    missing_partner = crossdock(config, "create", "--name", "x", "--kind", "partner", "--scope", "orders:read")
    assert "needs the partner_id" in missing_partner.stderr
    beyond = crossdock(config, "create", "--name", "x", "--kind", "partner", "--partner", "p", "--scope", "operator")
    assert "may hold" in beyond.stderr
    assert json.loads(crossdock(config, "list", "--json").stdout) == []


def test_rotate_keeps_the_old_secret_for_its_grace_and_revoke_shuts_the_client_out(config: Path) -> None:
    created = crossdock(
        config, "create", "--name", "shop", "--kind", "internal", "--scope", "orders:write", "--client-id", "shop"
    )
    first = SECRET.findall(created.stdout)[0]
    rotated = crossdock(config, "rotate", "shop", "--grace-hours", "2", "--json")
    assert rotated.exit_code == 0, rotated.output
    body = json.loads(rotated.stdout)
    second = body["secret"]
    assert second != first
    now = datetime.now(UTC)
    client = from_record(stored(config, "shop"))
    assert check_secret(client, first, now)
    assert check_secret(client, second, now)
    assert not check_secret(client, first, now + timedelta(hours=2, minutes=1))

    at_once = crossdock(config, "rotate", "shop", "--grace-hours", "0")
    third = SECRET.findall(at_once.stdout)[0]
    assert "stopped working" in at_once.stdout
    client = from_record(stored(config, "shop"))
    assert not check_secret(client, second, now)
    assert check_secret(client, third, now)

    revoked = crossdock(config, "revoke", "shop")
    assert revoked.exit_code == 0
    assert not check_secret(from_record(stored(config, "shop")), third, datetime.now(UTC))
    assert json.loads(crossdock(config, "list", "--json").stdout)[0]["revoked_at"]
    again = crossdock(config, "rotate", "shop")
    assert again.exit_code == 2
    assert "revoked" in again.stderr
    unknown = crossdock(config, "revoke", "nobody")
    assert unknown.exit_code == 2
    assert "crossdock api clients list" in unknown.stderr
