"""Stopping the local servers the sandboxes start: politely first, then for good."""

from __future__ import annotations

import signal
import subprocess

STOP_TIMEOUT_S = 15.0


def terminate(process: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, and SIGKILL if the process has not exited within `timeout_s`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def kill(process: subprocess.Popen[bytes] | None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGKILL, as in a crash: no chance to flush anything."""
    if process is None or process.poll() is not None:
        return
    process.kill()
    process.wait(timeout=timeout_s)
