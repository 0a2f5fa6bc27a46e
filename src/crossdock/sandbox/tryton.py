"""A real Tryton ERP for tests and the demo, run as `trytond` subprocesses on a copied SQLite database.

Tryton is GPL-3 and never imported: the `trytond-admin` and `trytond` executables of the `crossdock[tryton-test]`
extra are started and spoken to over JSON-RPC. Building a database takes about 50 s (module activation and the
business setup over RPC, `tryton_setup`), so the fully set-up database is cached once per machine in
`${XDG_CACHE_HOME:-~/.cache}/crossdock/tryton/<trytond version>-<hash>/` and each sandbox copies it: a start then costs
the copy and the server's start-up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from crossdock.sandbox import tryton_setup
from crossdock.sandbox.nats_server import free_port
from crossdock.sandbox.process import kill, terminate

MODULES = (
    "party",
    "product",
    "stock",
    "sale",
    "purchase",
    "account_invoice",
    "sale_supply_drop_shipment",
    "sale_opportunity",
    "carrier",
    "account_credit_limit",
    "sale_price_list",
)
DATABASE = "crossdock"
USERNAME = "admin"
INSTALL_HINT = "pip install -e '.[tryton-test]'"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0
_ADMIN_TIMEOUT_S = 600.0


class TrytonUnavailableError(RuntimeError):
    """Tryton cannot run here: it is not installed, or its database could not be built or started."""


@dataclass(frozen=True, slots=True)
class TrytonEndpoint:
    """How to reach a running sandbox Tryton; the password also sits in `password_file` (mode 0600)."""

    url: str
    database: str
    username: str
    password: str = field(repr=False)
    password_file: Path

    def options(self) -> dict[str, Any]:
        """Settings for a `tryton` system in crossdock.yaml, with the password by reference."""
        # The sandbox's accounting category lets items created by Crossdock be sold and invoiced.
        return {
            "type": "tryton",
            "url": self.url,
            "database": self.database,
            "username": self.username,
            "password": f"file:{self.password_file}",
            "item_account_category": tryton_setup.ACCOUNT_CATEGORY,
            "allow_private_network": True,  # the sandbox listens on loopback, which connectors refuse by default
        }


def tryton_bin_dir() -> Path:
    """The directory holding `trytond` and `trytond-admin`: next to this Python, else on PATH."""
    candidates = [Path(sys.executable).parent, Path(sys.prefix) / "bin"]
    on_path = shutil.which("trytond")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("trytond", "trytond-admin")):
            return directory
    raise TrytonUnavailableError(f"trytond is not installed in this environment; install it with `{INSTALL_HINT}`")


def trytond_version(bin_dir: Path) -> str:
    """The installed trytond's version, as `trytond --version` prints it."""
    try:
        out = subprocess.run(
            [str(bin_dir / "trytond"), "--version"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise TrytonUnavailableError(f"`trytond --version` failed ({exc}); reinstall it with `{INSTALL_HINT}`") from exc
    return out.strip().rsplit(" ", 1)[-1]


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/crossdock/tryton`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossdock" / "tryton"


def cache_key(version: str, today: date) -> str:
    """`<version>-<hash>`: the hash covers the modules, the setup code and the year its fiscal years are built for."""
    digest = hashlib.sha256()
    digest.update(" ".join(MODULES).encode())
    digest.update(Path(tryton_setup.__file__).read_bytes())
    digest.update(str(today.year).encode())
    return f"{version}-{digest.hexdigest()[:12]}"


def _write_config(path: Path, db_dir: Path, port: int | None) -> None:
    lines = ["[database]", "uri = sqlite://", f"path = {db_dir}"]
    if port is not None:
        lines += ["[web]", f"listen = 127.0.0.1:{port}"]
    path.write_text("\n".join(lines) + "\n")


def _write_secret(path: Path, secret: str) -> None:
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)


def _checkpoint(database_file: Path) -> None:
    """Fold SQLite's write-ahead log into the file, so copying the one file copies every committed change."""
    connection = sqlite3.connect(database_file)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


class TrytonSandbox:
    """One trytond on loopback over a private copy of the cached database: start, stop, kill, restart."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        database: str = DATABASE,
        cache_dir: Path | None = None,
        today: date | None = None,
    ) -> None:
        # Absolute: trytond is given the database directory in its config, and a relative one is not found there.
        self.workdir = Path(workdir).resolve()
        self.port = port or free_port()
        self.database = database
        self._cache_dir = cache_dir
        self._today = today or datetime.now(UTC).date()
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint: TrytonEndpoint | None = None
        self.start_seconds: float | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def endpoint(self) -> TrytonEndpoint | None:
        """How to reach the server, once started."""
        return self._endpoint

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.workdir / "trytond.log"

    @property
    def pid_file(self) -> Path:
        """Where trytond writes its process id."""
        return self.workdir / "trytond.pid"

    @property
    def database_file(self) -> Path:
        """The sandbox's own SQLite database file."""
        return self.workdir / "db" / f"{self.database}.sqlite"

    def start(self, *, fresh: bool = False) -> TrytonEndpoint:
        """Start the server (copying the cached database first, or when `fresh`) and return once it answers."""
        if self.pid is not None:
            raise RuntimeError(f"trytond is already running as pid {self.pid}; stop() it first")
        started = time.monotonic()
        bin_dir = tryton_bin_dir()
        password_file = self.workdir / "tryton.password"
        if fresh or not self.database_file.exists() or not password_file.exists():
            cached = self._cached_database(bin_dir)
            self.database_file.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.database_file}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(cached / "db" / f"{DATABASE}.sqlite", self.database_file)
            _write_secret(password_file, (cached / "password").read_text())
        password = password_file.read_text()
        self._launch(bin_dir, password)
        self._endpoint = TrytonEndpoint(self.url, self.database, USERNAME, password, password_file)
        self.start_seconds = time.monotonic() - started
        return self._endpoint

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), and SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT_S)

    def kill(self) -> None:
        """Kill -9, as in a crash of the ERP."""
        process, self._process = self._process, None
        kill(process, _STOP_TIMEOUT_S)

    def restart(self, *, hard: bool = False) -> TrytonEndpoint:
        """Stop (or kill, when `hard`) and start again on the same port and database."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def __enter__(self) -> TrytonEndpoint:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _launch(self, bin_dir: Path, password: str) -> None:
        config = self.workdir / "trytond.conf"
        _write_config(config, self.database_file.parent, self.port)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(bin_dir / "trytond"), "-c", str(config), "-d", self.database, "--pidfile", str(self.pid_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for the caller must not kill a backgrounded sandbox
            )
        self._wait_ready(password)

    def _wait_ready(self, password: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        login = {"id": 1, "method": "common.db.login", "params": [USERNAME, {"password": password}, "en"]}
        with httpx.Client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    break
                # A login on the database both proves the server is up and loads its pool before the first test.
                with contextlib.suppress(httpx.HTTPError):
                    response = http.post(f"{self.url}/{self.database}/rpc/", json=login)
                    if response.status_code == httpx.codes.OK and "result" in response.json():
                        return
                time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
        self.stop()
        raise TrytonUnavailableError(f"trytond on port {self.port} did not become ready; its log ends with:\n{tail}")

    def _cached_database(self, bin_dir: Path) -> Path:
        root = self._cache_dir or cache_root()
        target = root / cache_key(trytond_version(bin_dir), self._today)
        if (target / "ready").exists():
            return target
        root.mkdir(parents=True, exist_ok=True)
        with (root / f"{target.name}.lock").open("w") as lock:
            # Parallel test runs on one machine build the database once; the others wait and reuse it.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (target / "ready").exists():
                _build(bin_dir, target, self._today)
        return target


def _build(bin_dir: Path, target: Path, today: date) -> None:
    """Activate the modules, run the business setup over RPC, and keep the result as the cache entry."""
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        builder = TrytonSandbox(staging, database=DATABASE, today=today)
        builder.database_file.parent.mkdir()
        builder.database_file.touch()  # Tryton's SQLite backend opens an existing file only
        password = secrets.token_urlsafe(18)
        _write_secret(staging / "password", password)
        config = staging / "trytond.conf"
        _write_config(config, builder.database_file.parent, None)
        admin = [
            str(bin_dir / "trytond-admin"),
            *("-c", str(config), "-d", DATABASE, "--all", "--email", "admin@example.com"),
            *("-u", *MODULES, "--activate-dependencies"),
        ]
        with (staging / "trytond-admin.log").open("wb") as log:
            result = subprocess.run(
                admin,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TRYTONPASSFILE": str(staging / "password")},
                timeout=_ADMIN_TIMEOUT_S,
                check=False,
            )
        if result.returncode != 0:
            tail = (staging / "trytond-admin.log").read_text(errors="replace")[-3000:]
            raise TrytonUnavailableError(f"trytond-admin failed with exit code {result.returncode}:\n{tail}")
        builder._launch(bin_dir, password)
        try:
            # The setup is async (it uses the connector's client); a thread keeps it out of any running event loop.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _set_up(builder.url, password, today)).result()
        finally:
            builder.stop()
        _checkpoint(builder.database_file)
        (staging / "meta.json").write_text(
            json.dumps({"modules": MODULES, "build_seconds": round(time.monotonic() - started, 1), "year": today.year})
        )
        (staging / "ready").touch()
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


async def _set_up(url: str, password: str, today: date) -> None:
    from crossdock.config import SecretRef
    from crossdock.connectors.tryton.client import TrytonClient
    from crossdock.connectors.tryton.config import TrytonSettings

    with tempfile.TemporaryDirectory() as scratch:
        secret = Path(scratch) / "password"
        _write_secret(secret, password)
        client = TrytonClient(TrytonSettings(url=url, database=DATABASE, password=SecretRef(f"file:{secret}")))
        try:
            await tryton_setup.set_up(client, today)
        finally:
            await client.close()
