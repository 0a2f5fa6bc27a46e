"""The SFTP client against a real server: host key trust, logins, chroots, listings, reads, moves, reconnects and
egress checks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest

from crossdock.config import SecretRef
from crossdock.connectors.sftp import (
    SftpAuthError,
    SftpClient,
    SftpFileNotFoundError,
    SftpFileTooLargeError,
    SftpHostKeyError,
    SftpSetupError,
    SftpUnavailableError,
)
from crossdock.ports.connector import ErrorKind
from crossdock.sandbox.sftp import KeyPair, SftpSandbox, generate_key_pair
from tests.integration.sftp.conftest import GLOBEX_PASSWORD, MakeSettings, drop, names

OTHER_FINGERPRINT = "SHA256:" + "A" * 43


# -- host keys -------------------------------------------------------------------------------------------------------


async def test_a_pinned_host_key_is_trusted(make_settings: MakeSettings, sandbox: SftpSandbox) -> None:
    async with SftpClient(make_settings()) as client:
        assert client.server_host_key == sandbox.fingerprint


async def test_a_wrong_pin_is_refused_naming_the_presented_key(
    make_settings: MakeSettings, sandbox: SftpSandbox
) -> None:
    client = SftpClient(make_settings(host_key_fingerprint=OTHER_FINGERPRINT), system="acme")
    with pytest.raises(SftpHostKeyError) as refused:
        await client.connect()
    message = str(refused.value)
    assert refused.value.kind is ErrorKind.CONFIGURATION
    assert refused.value.presented == sandbox.fingerprint
    assert sandbox.fingerprint in message
    assert OTHER_FINGERPRINT in message
    assert "does not match" in message
    assert "confirm the new fingerprint with the partner" in message
    assert client.connects == 0


async def test_no_pin_and_no_known_hosts_is_refused_saying_how_to_pin(
    make_settings: MakeSettings, sandbox: SftpSandbox
) -> None:
    client = SftpClient(make_settings(host_key_fingerprint=None), system="acme")
    started = asyncio.get_running_loop().time()
    with pytest.raises(SftpHostKeyError) as refused:
        await client.connect()
    assert f"set `host_key_fingerprint: {sandbox.fingerprint}` for systems.acme" in str(refused.value)
    assert "refuses unknown host keys" in str(refused.value)
    # A trust problem is not retried with backoff: it will not fix itself.
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_known_hosts_file_is_trusted(make_settings: MakeSettings, sandbox: SftpSandbox, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sandbox.known_hosts_line() + "\n")
    async with SftpClient(make_settings(host_key_fingerprint=None, known_hosts=known_hosts)) as client:
        assert client.server_host_key == sandbox.fingerprint


async def test_a_known_hosts_file_with_another_key_is_refused(make_settings: MakeSettings, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    known_hosts = tmp_path / "known_hosts"
    settings = make_settings(host_key_fingerprint=None, known_hosts=known_hosts)
    known_hosts.write_text(f"[{settings.host}]:{settings.port} {other}\n")
    with pytest.raises(SftpHostKeyError, match=re.escape(f"which is not listed in {known_hosts}")):
        await SftpClient(settings).connect()


async def test_a_missing_known_hosts_file_says_what_to_do(make_settings: MakeSettings, tmp_path: Path) -> None:
    settings = make_settings(host_key_fingerprint=None, known_hosts=tmp_path / "nowhere")
    with pytest.raises(SftpSetupError, match=r"cannot be read.*create it with the partner's confirmed host key"):
        await SftpClient(settings).connect()


# -- logins ----------------------------------------------------------------------------------------------------------


async def test_password_login(make_settings: MakeSettings) -> None:
    async with SftpClient(make_settings()) as client:
        assert await client.list_files("/") == []
        assert client.connects == 1


async def test_a_wrong_password_is_refused_without_showing_it(
    make_settings: MakeSettings, secret_file: Callable[[str, str], SecretRef]
) -> None:
    reference = secret_file("wrong", "not-the-Pa55-word")
    with pytest.raises(SftpAuthError) as refused:
        await SftpClient(make_settings(password=reference), system="acme").connect()
    message = str(refused.value)
    assert f"the password in {reference}" in message
    assert "not-the-Pa55-word" not in message
    assert refused.value.kind is ErrorKind.CONFIGURATION


async def test_key_login(make_settings: MakeSettings, acme_key: KeyPair) -> None:
    settings = make_settings(password=None, private_key=SecretRef(f"file:{acme_key.private_key_path}"))
    async with SftpClient(settings) as client:
        assert [f.name for f in await client.list_files("/")] == []


async def test_an_encrypted_key_needs_its_passphrase(
    make_settings: MakeSettings, sandbox: SftpSandbox, tmp_path: Path, secret_file: Callable[[str, str], SecretRef]
) -> None:
    pair = generate_key_pair(tmp_path / "keys" / "encrypted", passphrase="open-Sesame-1")
    sandbox.authorize_key("acme", pair.public_key)
    key = SecretRef(f"file:{pair.private_key_path}")
    with pytest.raises(SftpSetupError, match=r"cannot be used.*`private_key_passphrase` if it is encrypted"):
        await SftpClient(make_settings(password=None, private_key=key)).connect()
    passphrase = secret_file("passphrase", "open-Sesame-1")
    async with SftpClient(make_settings(password=None, private_key=key, private_key_passphrase=passphrase)):
        pass


async def test_a_key_the_account_does_not_list_is_refused(make_settings: MakeSettings, tmp_path: Path) -> None:
    stranger = generate_key_pair(tmp_path / "keys" / "stranger")
    settings = make_settings(password=None, private_key=SecretRef(f"file:{stranger.private_key_path}"))
    with pytest.raises(SftpAuthError, match="the key in file:"):
        await SftpClient(settings).connect()


async def test_each_partner_sees_only_its_own_tree(
    make_settings: MakeSettings, sandbox: SftpSandbox, secret_file: Callable[[str, str], SecretRef]
) -> None:
    drop(sandbox.home("acme") / "inbound", "ACME_ORDER.edi", b"acme's")
    globex = make_settings(username="globex", password=secret_file("globex", GLOBEX_PASSWORD))
    async with SftpClient(globex) as client:
        assert await client.list_inbound() == []
        for path in ("../acme/inbound/ACME_ORDER.edi", "/../../acme/inbound/ACME_ORDER.edi"):
            with pytest.raises(SftpFileNotFoundError):
                await client.read(path)


# -- files -----------------------------------------------------------------------------------------------------------


async def test_listing_matches_the_glob_skips_uploads_in_progress_and_sorts_by_mtime_then_name(
    make_settings: MakeSettings, mailbox: Path
) -> None:
    inbound = mailbox / "inbound"
    drop(inbound, "b.edi", b"2", age_s=100)
    drop(inbound, "a.edi", b"1", age_s=100)
    drop(inbound, "c.edi", b"3", age_s=200)
    drop(inbound, "d.edi", b"4", age_s=10)
    drop(inbound, "notes.txt", b"x", age_s=300)
    drop(inbound, ".e.edi.part", b"x", age_s=300)
    drop(inbound, "f.edi.filepart", b"x", age_s=300)
    (inbound / "archive.edi").mkdir()
    async with SftpClient(make_settings(file_glob="*.edi")) as client:
        listed = await client.list_inbound()
    assert [f.name for f in listed] == ["c.edi", "a.edi", "b.edi", "d.edi"]
    assert listed[0].path == "inbound/c.edi"
    assert listed[0].size == 1


async def test_reads_whole_or_in_chunks_and_stops_at_the_size_limit(client: SftpClient, mailbox: Path) -> None:
    content = bytes(range(256)) * 40  # 10 KiB
    drop(mailbox / "inbound", "big.bin", content)
    assert await client.read("inbound/big.bin") == content
    chunks = [chunk async for chunk in client.read_chunks("inbound/big.bin", chunk_size=4096)]
    assert [len(c) for c in chunks] == [4096, 4096, 2048]
    assert b"".join(chunks) == content
    with pytest.raises(SftpFileTooLargeError, match="max_file_size") as too_large:
        await client.read("inbound/big.bin", max_size=5000)
    assert too_large.value.kind is ErrorKind.DATA_QUALITY
    with pytest.raises(SftpFileNotFoundError):
        await client.read("inbound/missing.bin")


async def test_moves_never_overwrite_a_file_of_the_same_name(client: SftpClient, mailbox: Path) -> None:
    drop(mailbox / "processed", "ORDERS.edi", b"first")
    moved = []
    for content in (b"second", b"third"):
        drop(mailbox / "inbound", "ORDERS.edi", content)
        moved.append(await client.move("inbound/ORDERS.edi", "processed"))
    assert re.fullmatch(r"processed/ORDERS-\d{8}T\d{6}Z\.edi", moved[0])
    assert re.fullmatch(r"processed/ORDERS-\d{8}T\d{6}Z(-2)?\.edi", moved[1])
    assert moved[0] != moved[1]
    contents = sorted(p.read_bytes() for p in (mailbox / "processed").iterdir())
    assert contents == [b"first", b"second", b"third"]
    assert names(mailbox / "inbound") == []


async def test_a_missing_folder_is_a_setup_error(client: SftpClient) -> None:
    with pytest.raises(SftpSetupError, match="the folder nowhere does not exist on the server; ask the partner"):
        await client.list_files("nowhere")


# -- connection ------------------------------------------------------------------------------------------------------


async def test_reconnects_after_the_server_restarts_on_the_same_port(
    client: SftpClient, sandbox: SftpSandbox, mailbox: Path
) -> None:
    port = sandbox.port
    assert await client.list_inbound() == []
    await sandbox.restart_async()
    assert sandbox.port == port
    drop(mailbox / "inbound", "after.edi", b"x")
    assert [f.name for f in await client.list_inbound()] == ["after.edi"]
    assert client.connects == 2


async def test_a_server_that_stays_down_is_an_outage_until_it_returns(client: SftpClient, sandbox: SftpSandbox) -> None:
    await sandbox.stop_async()
    with pytest.raises(SftpUnavailableError, match="cannot connect") as down:
        await client.list_inbound()
    assert down.value.kind is ErrorKind.DOWNSTREAM_OUTAGE
    await sandbox.start_async()
    assert await client.list_inbound() == []


# -- egress ----------------------------------------------------------------------------------------------------------


async def test_loopback_is_refused_unless_allowed(make_settings: MakeSettings, sandbox: SftpSandbox) -> None:
    with pytest.raises(SftpSetupError) as refused:
        await SftpClient(make_settings(allowed_hosts=[]), system="acme").connect()
    message = str(refused.value)
    assert message.startswith(f"systems.acme.host: sftp://127.0.0.1:{sandbox.port} resolves to 127.0.0.1")
    assert "allow_private_network: true" in message
    assert sandbox.connections == 0
    async with SftpClient(make_settings(allowed_hosts=[], allow_private_network=True)) as client:
        assert client.connects == 1


async def test_a_private_host_is_refused_before_any_connection(make_settings: MakeSettings) -> None:
    with pytest.raises(SftpSetupError, match=r"sftp://10\.20\.30\.40:22 resolves to 10\.20\.30\.40, a private address"):
        await SftpClient(make_settings(host="10.20.30.40", port=22, allowed_hosts=[])).connect()
