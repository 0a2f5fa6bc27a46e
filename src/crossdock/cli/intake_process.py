"""The order intake process: started by `crossdock serve` beside the API, restarted when it dies.

`start_order_intake(runtime)` decides where the API's order submissions are stored: in this separate process
(`api.order_intake: process`, the default) when the store and the log are SQL databases both processes can open,
else on a writer thread of the API process (an in-memory store or log, a NATS log). Why a process:
`crossdock.api.intake_link`.

`python -m crossdock.cli.intake_process <socket path>` is the process itself: it reads its settings as JSON on
stdin (they hold secret references, never secret values, and stdin keeps even those off the command line), wires
its own store and log, says `ready` on stdout, and serves until SIGTERM or until the process that started it is
gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from crossdock.api.intake_link import RemoteOrderIntake, serve_intake
from crossdock.api.order_intake import GroupCommit, OrderIntake
from crossdock.api.order_submission import SubmissionPreparer
from crossdock.bootstrap import Runtime, bootstrap, configure_logging
from crossdock.cli.common import tune_gc_for_serving
from crossdock.config import EventLogBackend, Settings
from crossdock.observability.meters import Meters
from crossdock.store.rules import utc_now

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0
_RESTART_PAUSE_S = 0.5


def start_order_intake(runtime: Runtime) -> OrderIntake | None:
    """The intake process's link for this runtime's API, started; None when submissions stay on a thread."""
    settings = runtime.settings
    if settings.api.order_intake != "process":
        return None
    shared = (
        runtime.adapters_from_settings
        and settings.event_log in (EventLogBackend.SQLITE, EventLogBackend.POSTGRES)
        and settings.database_url.startswith(("sqlite:///", "postgresql"))
        and not settings.database_url.startswith("sqlite:///:memory:")
    )
    if not shared:
        logger.info(
            "order submissions are stored on a thread of the API process: the intake process needs a SQLite or "
            "PostgreSQL store and log it can open as well"
        )
        return None
    process = IntakeProcess(settings)
    process.start()
    return process.link(meters=runtime.meters)


class IntakeProcess:
    """Starts the intake process, and starts it again whenever it exits until `stop()`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings.model_dump_json().encode()
        self._directory = tempfile.mkdtemp(prefix="crossdock-intake-")  # mode 0700: only this user connects
        self.address = os.path.join(self._directory, "intake.sock")
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id (fault tests kill it)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the process and wait until it takes submissions."""
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="crossdock-intake-watch", daemon=True)
        self._watcher.start()

    def link(self, meters: Meters | None = None) -> RemoteOrderIntake:
        """The API's side of the link to this process; closing it stops the process. The orders it takes are
        counted into `meters` (the API's `/metrics`) as appends."""
        return RemoteOrderIntake(self.address, on_close=self.stop, meters=meters)

    def stop(self) -> None:
        """Stop the process (it finishes the group it is storing) and remove its socket."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)

    def _spawn(self) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "crossdock.cli.intake_process", self.address],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(self._settings)
        process.stdin.close()
        ready: list[bytes] = []
        reader = threading.Thread(target=lambda: ready.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(_START_TIMEOUT_S)
        if not ready or ready[0].strip() != b"ready":
            process.kill()
            raise RuntimeError(
                "the order intake process did not start (its error is in the log above); fix it, or set "
                "api.order_intake: thread to store submissions in the API process"
            )
        self._process = process

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            logger.error("the order intake process exited (status %s); starting a new one", code)
            time.sleep(_RESTART_PAUSE_S)
            try:
                self._spawn()
            except Exception:  # keep trying: the API answers 503 meanwhile, never loses an order
                logger.exception("the order intake process could not be started again; retrying")
                time.sleep(5)


def main() -> None:
    """The intake process: serve the API process that started it."""
    address = sys.argv[1]
    settings = Settings.model_validate_json(sys.stdin.buffer.read())
    configure_logging(settings)
    asyncio.run(_serve(settings, address))


async def _serve(settings: Settings, address: str) -> None:
    runtime = await bootstrap(settings)
    # SQL logs: the committer appends each group on its own thread, over a connection of its own.
    direct = getattr(runtime.log, "direct_appender", None)
    appender = direct() if direct is not None else None
    commit = GroupCommit(runtime.store, runtime.log, clock=utc_now, appender=appender)
    preparer = SubmissionPreparer(runtime.publisher)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)
    listener.bind(address)
    os.chmod(address, 0o600)
    listener.listen(16)
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    parent = os.getppid()

    def orphaned() -> None:
        # Started by `crossdock serve`: when that is gone (even killed), nothing will connect again.
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=orphaned, name="crossdock-intake-parent", daemon=True).start()
    tune_gc_for_serving()
    print("ready", flush=True)
    try:
        await asyncio.to_thread(serve_intake, listener, commit, preparer, stop=stop)
    finally:
        listener.close()
        if appender is not None:
            appender.close()
        await runtime.close()


if __name__ == "__main__":
    main()
