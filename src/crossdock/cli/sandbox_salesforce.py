"""`crossdock sandbox salesforce`: start, stop and inspect a local Salesforce sandbox org.

The org lives in a work directory: `salesforce.db` (its data), `salesforce.json` (client credentials, admin token
and URL, generated at the first start, mode 0600), `salesforce.pid` and `salesforce.log`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from crossdock.cli.common import console, fail, print_json

salesforce_app = typer.Typer(
    help="A local Salesforce org that follows Salesforce's REST API, for the connector's tests and the demo.",
    no_args_is_help=True,
)
WorkdirOption = Annotated[
    Path, typer.Option("--workdir", help="where the org's database, credentials, pid file and log live")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
_STOP_TIMEOUT_S = 10.0
_RUNNER_MODULE = "crossdock.sandbox.salesforce.runner"


def _paths(workdir: Path) -> dict[str, Path]:
    return {
        name: workdir / f"salesforce.{suffix}"
        for name, suffix in (("settings", "json"), ("pid", "pid"), ("log", "log"), ("database", "db"))
    }


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        settings: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        fail(f"{path} is not valid JSON ({error}); fix it or delete it to generate new credentials")
    return settings


def _running_pid(pid_path: Path) -> int | None:
    """The sandbox's pid from the pid file, if that process is alive and is the sandbox runner."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(ChildProcessError):
        # Reap it if this very process started it and it has exited (a zombie still answers kill 0).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    # Never signal a stranger that reused the pid: on Linux, check it runs the sandbox runner.
    if cmdline.exists() and _RUNNER_MODULE not in cmdline.read_bytes().decode(errors="replace"):
        return None
    return pid


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/sandbox/health", timeout=2) as response:  # noqa: S310 -- loopback http
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _usage(settings: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 -- loopback http
        f"{settings['url']}/sandbox/stats", headers={"Authorization": f"Bearer {settings['admin_token']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            stats: dict[str, Any] = json.loads(response.read())
    except (OSError, urllib.error.URLError, json.JSONDecodeError):
        return {}
    return {"apiUsage": stats.get("apiUsage"), "dailyApiLimit": stats.get("dailyApiLimit"), "calls": stats.get("calls")}


@salesforce_app.command()
def start(
    workdir: WorkdirOption = Path("var/sandbox"),
    port: Annotated[
        int | None, typer.Option(help="loopback port (default: the last one used, else a free one)")
    ] = None,
    jwt_public_key: Annotated[
        Path | None, typer.Option(help="PEM public key that verifies JWT-bearer assertions")
    ] = None,
    daily_api_limit: Annotated[int | None, typer.Option(help="API calls allowed per 24 hours")] = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="serve in this process until Ctrl-C")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start the sandbox org in the background and print its URL and where its credentials are."""
    from crossdock.sandbox.nats_server import free_port
    from crossdock.sandbox.salesforce import runner

    paths = _paths(workdir)
    settings = _load(paths["settings"])
    pid = _running_pid(paths["pid"])
    if pid is not None:
        fail(
            f"the Salesforce sandbox is already running at {settings.get('url')} (pid {pid}); "
            f"run `crossdock sandbox salesforce stop --workdir {workdir}` first"
        )
    if not settings:
        settings = dict(runner.new_credentials())
    if jwt_public_key is not None:
        try:
            settings["jwt_public_key"] = jwt_public_key.read_text()
        except OSError as error:
            fail(f"cannot read the JWT public key {jwt_public_key}: {error.strerror}")
    if daily_api_limit is not None:
        settings["daily_api_limit"] = daily_api_limit
    settings["port"] = port or settings.get("port") or free_port()
    settings["url"] = f"http://127.0.0.1:{settings['port']}"
    settings["database"] = str(paths["database"].resolve())
    runner.write_private_json(paths["settings"], settings)
    if foreground:
        console.print(f"Salesforce sandbox at {settings['url']}; credentials in {paths['settings']}")
        runner.main(["--config", str(paths["settings"]), "--port", str(settings["port"])])
        return
    process = runner.spawn(paths["settings"], int(settings["port"]), paths["log"], detach=True)
    if not runner.wait_healthy(settings["url"], alive=lambda: process.poll() is None):
        tail = paths["log"].read_text(errors="replace")[-1500:] if paths["log"].exists() else ""
        with contextlib.suppress(OSError):
            process.kill()
        fail(
            f"the Salesforce sandbox did not start on port {settings['port']} (is it taken? pass --port); "
            f"its log {paths['log']} ends with:\n{tail}"
        )
    paths["pid"].write_text(f"{process.pid}\n")
    result = {
        "url": settings["url"],
        "pid": process.pid,
        "credentials": str(paths["settings"]),
        "log": str(paths["log"]),
    }
    if as_json:
        print_json(result)
        return
    console.print(f"Salesforce sandbox running at [bold]{settings['url']}[/] (pid {process.pid})")
    console.print(f"client credentials and admin token: {paths['settings']} (mode 0600)")


@salesforce_app.command()
def stop(workdir: WorkdirOption = Path("var/sandbox")) -> None:
    """Stop the sandbox org (SIGTERM, then SIGKILL if it does not exit in time); its data stays."""
    paths = _paths(workdir)
    pid = _running_pid(paths["pid"])
    if pid is None:
        paths["pid"].unlink(missing_ok=True)
        console.print("the Salesforce sandbox is not running")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while _running_pid(paths["pid"]) is not None:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + _STOP_TIMEOUT_S
        time.sleep(0.05)
    paths["pid"].unlink(missing_ok=True)
    console.print(f"stopped the Salesforce sandbox (pid {pid})")


@salesforce_app.command()
def status(workdir: WorkdirOption = Path("var/sandbox"), as_json: JsonFlag = False) -> None:
    """Whether the sandbox org runs, where, and its API usage; exits 1 when it is not running."""
    paths = _paths(workdir)
    settings = _load(paths["settings"])
    pid = _running_pid(paths["pid"])
    url = settings.get("url")
    running = pid is not None and bool(url) and _healthy(str(url))
    result: dict[str, Any] = {"running": running, "url": url, "pid": pid, "credentials": str(paths["settings"])}
    if running:
        result |= _usage(settings)
    if as_json:
        print_json(result)
    elif running:
        console.print(f"running at {url} (pid {pid}); API usage {result.get('apiUsage')}/{result.get('dailyApiLimit')}")
    else:
        console.print("the Salesforce sandbox is not running" + (f" (last URL {url})" if url else ""))
    if not running:
        raise typer.Exit(1)
