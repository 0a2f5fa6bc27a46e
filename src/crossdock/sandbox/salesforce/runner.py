"""Run the sandbox on a free loopback port: in a background thread (fast, for tests) or a subprocess (for the demo,
benchmarks and fault tests that kill it).

    with SalesforceSandbox(tmp_path / "org.db") as sandbox:
        token = httpx.post(f"{sandbox.url}/services/oauth2/token", data=sandbox.client_credentials_form()).json()

A subprocess reads its settings from a JSON file written with mode 0600, so secrets never appear in `ps`:
`python -m crossdock.sandbox.salesforce.runner --config salesforce.json --port 8123`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal

from crossdock.sandbox.nats_server import free_port
from crossdock.sandbox.process import kill, terminate
from crossdock.sandbox.salesforce.faults import Fault

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
SETTINGS_KEYS = (
    "faults",
    "fault_seed",
    "database",
    "client_id",
    "client_secret",
    "admin_token",
    "username",
    "jwt_public_key",
    "daily_api_limit",
)


def _fault_settings(fault: Fault) -> dict[str, Any]:
    return {key: value for key, value in fault.to_json().items() if key not in {"id", "fired"}}


def new_credentials(username: str = "integration@crossdock.sandbox") -> dict[str, str]:
    """Fresh client credentials and admin token for a new sandbox org."""
    return {
        "client_id": "3MVG9crossdock." + secrets.token_urlsafe(24),
        "client_secret": secrets.token_hex(32),
        "admin_token": secrets.token_urlsafe(32),
        "username": username,
    }


def write_private_json(path: Path, content: dict[str, Any]) -> None:
    """Write JSON readable by the owner only (it holds secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(content, handle, indent=2)
    path.chmod(0o600)


def wait_healthy(url: str, timeout_s: float = _START_TIMEOUT_S, alive: Any = None) -> bool:
    """True once `GET /sandbox/health` answers 200; False on timeout or when `alive()` turns False."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{url}/sandbox/health", timeout=1) as response,  # noqa: S310 -- our own http URL
        ):
            if response.status == 200:
                return True
        time.sleep(0.05)
    return False


def spawn(config_path: Path, port: int, log_path: Path, *, detach: bool = False) -> subprocess.Popen[bytes]:
    """Start `python -m crossdock.sandbox.salesforce.runner` on `port` with the settings in `config_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crossdock.sandbox.salesforce.runner",
                "--config",
                str(config_path),
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )


class SalesforceSandbox:
    """A sandbox org served on 127.0.0.1: `start() -> url`, `stop()`, `kill()`, `restart()`, or a `with` block."""

    def __init__(
        self,
        database: Path,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        admin_token: str | None = None,
        username: str = "integration@crossdock.sandbox",
        jwt_public_key: str | None = None,
        daily_api_limit: int = 15000,
        port: int | None = None,
        mode: Literal["thread", "subprocess"] = "thread",
        faults: list[Fault] | None = None,
        fault_seed: int = 0,
    ) -> None:
        generated = new_credentials(username)
        self.database = database
        self.client_id = client_id or generated["client_id"]
        self.client_secret = client_secret or generated["client_secret"]
        self.admin_token = admin_token or generated["admin_token"]
        self.username = username
        self.jwt_public_key = jwt_public_key
        self.daily_api_limit = daily_api_limit
        self.port = port or free_port()
        self.mode = mode
        self.faults = faults or []
        self.fault_seed = fault_seed
        self._process: subprocess.Popen[bytes] | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The instance URL, http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """Where a subprocess finds its settings (mode 0600)."""
        return self.database.with_name(self.database.name + ".sandbox.json")

    @property
    def log_path(self) -> Path:
        """Where a subprocess writes its log."""
        return self.database.with_name(self.database.name + ".log")

    def settings(self) -> dict[str, Any]:
        """The settings `create_app` takes, as JSON (faults as their admin-API objects)."""
        return {
            "database": str(self.database),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "admin_token": self.admin_token,
            "username": self.username,
            "jwt_public_key": self.jwt_public_key,
            "daily_api_limit": self.daily_api_limit,
            "faults": [_fault_settings(fault) for fault in self.faults],
            "fault_seed": self.fault_seed,
        }

    def client_credentials_form(self) -> dict[str, str]:
        """The form of a client-credentials token request."""
        return {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}

    def start(self) -> str:
        """Serve the org and return its URL once it answers."""
        if self.mode == "subprocess":
            self._start_process()
        else:
            self._start_thread()
        return self.url

    def _start_thread(self) -> None:
        import uvicorn

        from crossdock.sandbox.salesforce.app import create_app

        settings = self.settings()
        settings["faults"] = [Fault.from_json(fault) for fault in settings["faults"]]
        app = create_app(Path(settings.pop("database")), **settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"salesforce-sandbox-{self.port}", daemon=True)
        self._thread.start()
        if not wait_healthy(self.url, alive=self._thread.is_alive):
            self.stop()
            raise RuntimeError(f"the Salesforce sandbox did not start on port {self.port}; is the port free?")

    def _start_process(self) -> None:
        if self._process is not None and self._process.poll() is None:
            raise RuntimeError(f"the Salesforce sandbox is already running as pid {self._process.pid}")
        write_private_json(self.config_path, self.settings())
        self._process = spawn(self.config_path, self.port, self.log_path)
        process = self._process
        if not wait_healthy(self.url, alive=lambda: process.poll() is None):
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            self.stop()
            raise RuntimeError(f"the Salesforce sandbox did not start on port {self.port}; its log ends with:\n{tail}")

    @property
    def pid(self) -> int | None:
        """The subprocess's id while it runs."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM for a subprocess, SIGKILL if it does not exit in time)."""
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(_STOP_TIMEOUT_S)
            self._server = None
            self._thread = None
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT_S)

    def kill(self) -> None:
        """Kill -9 the subprocess (no chance to flush anything)."""
        process, self._process = self._process, None
        kill(process, _STOP_TIMEOUT_S)

    def restart(self, *, hard: bool = False) -> str:
        """Stop (or kill, when `hard`) and start again on the same port and database."""
        if hard:
            self.kill()
        self.stop()
        return self.start()

    def __enter__(self) -> SalesforceSandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve a sandbox org from a settings file (the subprocess entry point)."""
    import uvicorn

    from crossdock.sandbox.salesforce.app import create_app

    parser = argparse.ArgumentParser(description="Serve the Crossdock Salesforce sandbox on 127.0.0.1.")
    parser.add_argument("--config", type=Path, required=True, help="JSON settings (database, client_id, ...)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = json.loads(args.config.read_text())
    options = {key: settings[key] for key in SETTINGS_KEYS if settings.get(key) is not None}
    options["faults"] = [Fault.from_json(fault) for fault in options.get("faults", [])]
    database = Path(options.pop("database"))
    app = create_app(database, **options)
    # The process holds every record in memory: keep the startup heap out of full collections, and collect less
    # often, so that a 200-record call does not pay for a scan of the whole org.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
