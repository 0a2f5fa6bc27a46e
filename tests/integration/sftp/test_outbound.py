"""Outbound files are written atomically: a reader sees the whole file or none, and a killed sender leaves only its
hidden `.part` file behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crossdock.connectors.sftp import SftpClient, SftpUnavailableError, send
from crossdock.sandbox.sftp import SftpSandbox
from tests.integration.sftp.conftest import MakeSettings, drop, names, wait_until

SENDER = textwrap.dedent(
    """
    import asyncio, sys
    from crossdock.connectors.sftp import SftpClient, SftpMailboxSettings, send

    settings = SftpMailboxSettings.model_validate_json(open(sys.argv[1]).read())

    async def main():
        async with SftpClient(settings) as client:
            await send(client, "INVOICE_2.edi", b"x" * 200_000)

    asyncio.run(main())
    """
)


async def test_a_reader_never_sees_a_partial_file(
    make_settings: MakeSettings, sandbox: SftpSandbox, mailbox: Path
) -> None:
    outbound = mailbox / "outbound"
    content = os.urandom(24 * 1024)
    sandbox.write_delay_s = 0.01  # 24 writes of 1 KiB: long enough to watch
    snapshots: list[list[str]] = []
    async with SftpClient(make_settings(chunk_size=1024)) as client:
        sending = asyncio.create_task(send(client, "INVOICE_1.edi", content))
        while not sending.done():
            listing = names(outbound)
            snapshots.append(listing)
            if "INVOICE_1.edi" in listing:
                assert (outbound / "INVOICE_1.edi").read_bytes() == content
            await asyncio.sleep(0.005)
        assert await sending == "outbound/INVOICE_1.edi"
    assert [".INVOICE_1.edi.part"] in snapshots  # the write went to the temporary name
    assert all("INVOICE_1.edi" not in s for s in snapshots if ".INVOICE_1.edi.part" in s)
    assert names(outbound) == ["INVOICE_1.edi"]
    assert (outbound / "INVOICE_1.edi").read_bytes() == content
    assert sandbox.requests["fsync"] == 1
    assert sandbox.requests["posix_rename"] == 1


async def test_sending_a_name_again_replaces_the_file(client: SftpClient, mailbox: Path) -> None:
    drop(mailbox / "outbound", "STOCK.csv", b"sku;qty\nA;1\n")
    await send(client, "STOCK.csv", b"sku;qty\nA;2\n")
    assert names(mailbox / "outbound") == ["STOCK.csv"]
    assert (mailbox / "outbound" / "STOCK.csv").read_bytes() == b"sku;qty\nA;2\n"


async def test_servers_without_posix_rename_and_fsync_still_get_whole_files(
    client: SftpClient, sandbox: SftpSandbox, mailbox: Path
) -> None:
    sandbox.posix_rename_supported = False
    sandbox.fsync_supported = False
    drop(mailbox / "outbound", "STOCK.csv", b"old")
    await send(client, "STOCK.csv", b"new")
    await send(client, "PRICES.csv", b"list")
    assert names(mailbox / "outbound") == ["PRICES.csv", "STOCK.csv"]
    assert (mailbox / "outbound" / "STOCK.csv").read_bytes() == b"new"
    assert sandbox.requests["rename"] == 2
    assert sandbox.requests["fsync"] == 0


async def test_a_killed_sender_leaves_only_a_part_file(
    make_settings: MakeSettings, sandbox: SftpSandbox, mailbox: Path, tmp_path: Path
) -> None:
    outbound = mailbox / "outbound"
    part = outbound / ".INVOICE_2.edi.part"
    sandbox.write_delay_s = 0.01
    config = tmp_path / "sender.json"
    config.write_text(make_settings(chunk_size=1024).model_dump_json())
    sender = subprocess.Popen([sys.executable, "-c", SENDER, str(config)])
    try:
        await wait_until(lambda: sender.poll() is not None or (part.exists() and part.stat().st_size >= 4096), 20)
        assert sender.poll() is None, "the sender ended before it could be killed; run SENDER by hand to see why"
    finally:
        sender.kill()
        sender.wait()
    await wait_until(lambda: sandbox.connections == 0)
    assert names(outbound) == [".INVOICE_2.edi.part"]
    assert part.stat().st_size < 200_000

    sandbox.write_delay_s = 0
    async with SftpClient(make_settings()) as client:
        await send(client, "INVOICE_2.edi", b"ISA*00*~")
    assert names(outbound) == ["INVOICE_2.edi"]  # the retry overwrote the leftover and renamed it into place


@pytest.mark.parametrize("name", ["", ".", "..", "../INVOICE.edi", "sub/INVOICE.edi", ".INVOICE.edi"])
async def test_names_that_are_not_plain_visible_file_names_are_refused(client: SftpClient, name: str) -> None:
    with pytest.raises(ValueError, match="give"):
        await send(client, name, b"x")


async def test_a_hung_server_is_dropped_after_the_operation_timeout(
    make_settings: MakeSettings, sandbox: SftpSandbox, mailbox: Path
) -> None:
    sandbox.write_delay_s = 0.5
    async with SftpClient(make_settings(op_timeout_s=0.1)) as client:
        with pytest.raises(SftpUnavailableError, match=r"no answer within 0\.1 s while trying to write"):
            await send(client, "SLOW.edi", b"x")
        sandbox.write_delay_s = 0
        assert await send(client, "SLOW.edi", b"x") == "outbound/SLOW.edi"
        assert client.connects == 3  # dropped after each timed-out try, then a fresh connection
    assert names(mailbox / "outbound") == ["SLOW.edi"]
