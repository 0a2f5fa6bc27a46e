"""`crossdock sandbox tryton start|stop|status`: a real Tryton ERP in the background, for the demo and manual tests.

`start` leaves trytond running and writes `<workdir>/tryton.json` (URL, database, user, the password *file*, pid,
log); the password itself is only in `<workdir>/tryton.password` (mode 0600) and is never printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from crossdock.cli.common import console, errors, fail, print_json

tryton_app = typer.Typer(
    help="A real Tryton ERP on loopback, from a cached, fully set-up database.", no_args_is_help=True
)

Workdir = Annotated[Path, typer.Option("--workdir", "-w", help="where the database, log and tryton.json live")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON object")]
DEFAULT_WORKDIR = Path("var/tryton")
_STOP_TIMEOUT_S = 15.0


def _state_file(workdir: Path) -> Path:
    return workdir / "tryton.json"


def _read_state(workdir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_file(workdir).read_text())
    except (OSError, ValueError):
        return None
    return state


def _alive(pid: int | None) -> bool:
    """True if `pid` is a running trytond (not a recycled pid of something else)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"trytond" in cmdline


def _show(state: dict[str, Any], running: bool, as_json: bool) -> None:
    shown = {**state, "running": running}
    if as_json:
        print_json(shown)
        return
    table = Table("", "", show_header=False, title="Tryton sandbox")
    for key in ("running", "url", "database", "username", "password_file", "pid", "log", "start_seconds"):
        table.add_row(key, str(shown.get(key, "")))
    console.print(table)


@tryton_app.command("start")
def start(
    workdir: Workdir = DEFAULT_WORKDIR,
    port: Annotated[int | None, typer.Option(help="loopback port (default: a free one)")] = None,
    fresh: Annotated[bool, typer.Option(help="start over from the cached database, dropping earlier changes")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start trytond in the background (the first run builds the cached database: about 35 s)."""
    from crossdock.sandbox.tryton import TrytonSandbox, TrytonUnavailableError

    state = _read_state(workdir)
    if state is not None and _alive(state.get("pid")):
        errors.print(f"Tryton is already running as pid {state['pid']}; `stop` it first to restart it.")
        _show(state, True, as_json)
        return
    if port is None and state is not None and not fresh:
        port = state.get("port")  # the same URL as last time, so configs written for it keep working
    sandbox = TrytonSandbox(workdir, port)
    try:
        with errors.status("starting Tryton (building its database the first time)..."):
            endpoint = sandbox.start(fresh=fresh)
    except TrytonUnavailableError as exc:
        fail(str(exc))
    state = {
        "url": endpoint.url,
        "database": endpoint.database,
        "username": endpoint.username,
        "password_file": str(endpoint.password_file.resolve()),
        "pid": sandbox.pid,
        "port": sandbox.port,
        "log": str(sandbox.log_path.resolve()),
        "start_seconds": round(sandbox.start_seconds or 0.0, 2),
    }
    _state_file(workdir).write_text(json.dumps(state, indent=2) + "\n")
    _show(state, True, as_json)


@tryton_app.command("stop")
def stop(workdir: Workdir = DEFAULT_WORKDIR) -> None:
    """Stop the background trytond (SIGTERM, then SIGKILL after 15 s)."""
    state = _read_state(workdir)
    pid = state.get("pid") if state is not None else None
    if state is None or not _alive(pid):
        errors.print(f"No Tryton sandbox is running from {workdir}.")
        return
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _state_file(workdir).write_text(json.dumps({**state, "pid": None}, indent=2) + "\n")
    console.print(f"Stopped Tryton (pid {pid}).")


@tryton_app.command("status")
def status(workdir: Workdir = DEFAULT_WORKDIR, as_json: JsonFlag = False) -> None:
    """Whether the sandbox runs, and how to reach it; exits 1 when it does not run."""
    state = _read_state(workdir)
    if state is None:
        fail(f"no Tryton sandbox in {workdir}; start one with `crossdock sandbox tryton start`", code=1)
    running = _alive(state.get("pid"))
    _show(state, running, as_json)
    if not running:
        raise typer.Exit(1)
