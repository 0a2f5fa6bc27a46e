"""The SFTP sandbox itself: a background thread for synchronous tests, restarts on one port and key, SFTP only."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import asyncssh
import pytest

from crossdock.config import SecretRef
from crossdock.connectors.sftp import SftpClient, SftpMailboxSettings, send
from crossdock.sandbox.sftp import SftpSandbox, SftpUser
from tests.integration.sftp.conftest import ACME_PASSWORD


def test_the_sandbox_serves_from_a_thread_for_synchronous_tests(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("pw-Thread-1")
    with SftpSandbox(users=[SftpUser("acme", password="pw-Thread-1")]) as sandbox:
        root = sandbox.root
        settings = SftpMailboxSettings(
            host=sandbox.host,
            port=sandbox.port,
            username="acme",
            password=SecretRef(f"file:{password}"),
            host_key_fingerprint=sandbox.fingerprint,
            allowed_hosts=[sandbox.host],
        )

        async def round_trip() -> bytes:
            async with SftpClient(settings) as client:
                await send(client, "HELLO.txt", b"hello")
                return await client.read("outbound/HELLO.txt")

        assert asyncio.run(round_trip()) == b"hello"
        port = sandbox.port
        sandbox.restart()
        assert sandbox.port == port
        assert asyncio.run(round_trip()) == b"hello"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not root.exists()  # the sandbox made its own temporary root and removed it


def test_the_host_key_is_kept_in_the_root(tmp_path: Path) -> None:
    first = SftpSandbox(tmp_path)
    again = SftpSandbox(tmp_path)
    assert first.fingerprint == again.fingerprint
    assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", first.fingerprint)
    assert (tmp_path / "ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600


async def test_sessions_get_sftp_and_nothing_else(sandbox: SftpSandbox) -> None:
    async with asyncssh.connect(
        sandbox.host,
        sandbox.port,
        username="acme",
        password=ACME_PASSWORD,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        config=None,
    ) as conn:
        with pytest.raises(asyncssh.ChannelOpenError, match="Session request failed"):
            await conn.run("cat /etc/passwd")
        async with conn.start_sftp_client() as sftp:
            assert sorted(await sftp.listdir("/")) == [".", "..", "failed", "inbound", "outbound", "processed"]
