"""A real asyncssh SFTP server on loopback per test, with two partner accounts, and settings and clients for it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from crossdock.config import SecretRef
from crossdock.connectors.sftp import SftpClient, SftpMailboxSettings
from crossdock.sandbox.sftp import KeyPair, SftpSandbox, SftpUser, generate_key_pair

ACME_PASSWORD = "acme-Pa55-word"
GLOBEX_PASSWORD = "globex-Pa55-word"

MakeSettings = Callable[..., SftpMailboxSettings]


def drop(folder: Path, name: str, content: bytes, *, age_s: float = 0.0) -> Path:
    """Put a file into a mailbox folder on the server's disk, as a partner's upload would, `age_s` old."""
    path = folder / name
    path.write_bytes(content)
    if age_s:
        moment = time.time() - age_s
        os.utime(path, (moment, moment))
    return path


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll `condition` until it holds; fail the test after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def names(folder: Path) -> list[str]:
    """The file names in a folder on the server's disk, sorted."""
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def acme_key(tmp_path: Path) -> KeyPair:
    """A client key pair that the acme account authorises."""
    return generate_key_pair(tmp_path / "keys" / "acme_ed25519")


@pytest.fixture
def secret_file(tmp_path: Path) -> Callable[[str, str], SecretRef]:
    """Write a secret into a 0600 file and return its reference, as an operator would."""

    def write(name: str, value: str) -> SecretRef:
        path = tmp_path / "secrets" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return SecretRef(f"file:{path}")

    return write


@pytest.fixture
async def sandbox(tmp_path: Path, acme_key: KeyPair) -> AsyncIterator[SftpSandbox]:
    """The server, on this test's event loop: acme (password and key) and globex (password)."""
    users = [
        SftpUser("acme", password=ACME_PASSWORD, public_keys=(acme_key.public_key,)),
        SftpUser("globex", password=GLOBEX_PASSWORD),
    ]
    async with SftpSandbox(tmp_path / "server", users) as server:
        yield server


@pytest.fixture
def make_settings(sandbox: SftpSandbox, secret_file: Callable[[str, str], SecretRef]) -> MakeSettings:
    """acme's settings for the sandbox (pinned host key, loopback allowed, quick timings), any field overridden."""
    password = secret_file("acme_password", ACME_PASSWORD)

    def make(**overrides: Any) -> SftpMailboxSettings:
        fields: dict[str, Any] = {
            "host": sandbox.host,
            "port": sandbox.port,
            "username": "acme",
            "password": password,
            "host_key_fingerprint": sandbox.fingerprint,
            "allowed_hosts": [sandbox.host],
            "poll_interval_s": 0.05,
            "connect_timeout_s": 5,
            "op_timeout_s": 5,
            "reconnect_attempts": 3,
            "reconnect_backoff_s": 0.05,
            "reconnect_backoff_max_s": 0.2,
            **overrides,
        }
        return SftpMailboxSettings(**fields)

    return make


@pytest.fixture
async def client(make_settings: MakeSettings) -> AsyncIterator[SftpClient]:
    """A connected client for acme, closed after the test."""
    async with SftpClient(make_settings(), system="acme") as connected:
        yield connected


@pytest.fixture
def mailbox(sandbox: SftpSandbox) -> Path:
    """acme's home on the server's disk (inbound/, processed/, failed/, outbound/)."""
    return sandbox.home("acme")
