"""The Tryton sandbox: quick starts from the cached database, stop and start on the same port and data, the CLI."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossdock.cli.sandbox_tryton import tryton_app
from crossdock.config import SecretRef
from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.ports.connector import ErrorKind
from crossdock.sandbox.tryton import INSTALL_HINT, TrytonSandbox, TrytonUnavailableError, tryton_bin_dir

pytestmark = pytest.mark.tryton


def test_a_second_sandbox_starts_from_the_cache_in_seconds(tryton_sandbox: TrytonSandbox, tmp_path: Path) -> None:
    sandbox = TrytonSandbox(tmp_path / "second")
    with sandbox as endpoint:
        assert sandbox.pid is not None
        assert endpoint.url == f"http://127.0.0.1:{sandbox.port}"
        assert endpoint.password_file.read_text() == endpoint.password
        assert stat.S_IMODE(endpoint.password_file.stat().st_mode) == 0o600
        assert endpoint.password not in repr(endpoint)
    assert sandbox.pid is None
    # Copy and start-up only; the cache was built (or found) by the session's sandbox.
    assert sandbox.start_seconds is not None
    assert sandbox.start_seconds < 10, f"a cached start took {sandbox.start_seconds:.1f} s"


async def test_stop_and_start_again_on_the_same_port_and_data(
    tmp_path: Path, make_settings: Callable[..., TrytonSettings], unique: str
) -> None:
    sandbox = TrytonSandbox(tmp_path / "restart")
    endpoint = sandbox.start()
    client = TrytonClient(make_settings(url=endpoint.url, password=SecretRef(f"file:{endpoint.password_file}")))
    try:
        (party,) = await client.create("party.party", [{"name": f"Survivor {unique}"}])
        sandbox.stop()
        with pytest.raises(TrytonError) as down:
            await client.read("party.party", [party], ["name"])
        assert down.value.kind is ErrorKind.TRANSIENT
        again = sandbox.start()
        assert again.url == endpoint.url
        (read,) = await client.read("party.party", [party], ["name"])
        assert read["name"] == f"Survivor {unique}"
        sandbox.restart(hard=True)  # kill -9: what Tryton committed survives
        (read,) = await client.read("party.party", [party], ["name"])
        assert read["name"] == f"Survivor {unique}"
    finally:
        await client.close()
        sandbox.stop()


def test_the_cli_starts_reports_and_stops_a_background_tryton(tryton_sandbox: TrytonSandbox, tmp_path: Path) -> None:
    runner = CliRunner()
    workdir = tmp_path / "cli"
    started = runner.invoke(tryton_app, ["start", "--workdir", str(workdir), "--json"])
    try:
        assert started.exit_code == 0, started.output
        details = json.loads((workdir / "tryton.json").read_text())
        password = (workdir / "tryton.password").read_text()
        assert password not in started.output
        assert details["database"] == "crossdock"
        assert details["password_file"] == str((workdir / "tryton.password").resolve())
        status = runner.invoke(tryton_app, ["status", "--workdir", str(workdir), "--json"])
        assert status.exit_code == 0, status.output
        assert json.loads(status.stdout)["running"] is True
    finally:
        stopped = runner.invoke(tryton_app, ["stop", "--workdir", str(workdir)])
    assert stopped.exit_code == 0, stopped.output
    after = runner.invoke(tryton_app, ["status", "--workdir", str(workdir), "--json"])
    assert after.exit_code == 1
    assert json.loads(after.stdout)["running"] is False


def test_without_trytond_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TrytonUnavailableError) as caught:
        tryton_bin_dir()
    assert INSTALL_HINT in str(caught.value)
    assert INSTALL_HINT == "pip install -e '.[tryton-test]'"
