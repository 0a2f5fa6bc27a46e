"""The mailbox poller against a real server: files leave inbound only once logged, crashes re-deliver idempotently,
bad files end in failed/ with a note, uploads in progress wait, and the loop outlives failures and restarts."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import uuid
from pathlib import Path

import pytest

from crossdock.connectors.sftp import FailedFile, FileVerdict, SftpClient, SftpMailboxPoller
from crossdock.sandbox.sftp import SftpSandbox
from tests.integration.sftp.conftest import MakeSettings, drop, names, wait_until

PARTNER = uuid.UUID("6f1c1d2e-6c55-4d7e-9a0e-8d1f5b7c2a10")


class ProcessDied(BaseException):
    """The process stops here: nothing after this point runs, no handler sees it."""


class Ledger:
    """Stands in for the event log: one event per id, derived from partner, file name and content hash."""

    def __init__(self) -> None:
        self.events: dict[uuid.UUID, tuple[str, bytes]] = {}
        self.calls: list[str] = []

    async def accept(self, name: str, content: bytes) -> FileVerdict:
        self.calls.append(name)
        event_id = uuid.uuid5(PARTNER, f"acme/{name}/{hashlib.sha256(content).hexdigest()}")
        self.events.setdefault(event_id, (name, content))
        return FileVerdict.logged()


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def inbound(mailbox: Path) -> Path:
    return mailbox / "inbound"


# -- acknowledgement -------------------------------------------------------------------------------------------------


async def test_a_file_moves_to_processed_only_after_accept_logged_it(
    client: SftpClient, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    drop(inbound, "ORDERS_1.edi", b"ISA*00*~")
    still_in_inbound = []

    async def accept(name: str, content: bytes) -> FileVerdict:
        still_in_inbound.append((inbound / name).exists())
        return await ledger.accept(name, content)

    poller = SftpMailboxPoller(client, accept)
    first = await poller.poll_once()
    assert first.waiting == ["ORDERS_1.edi"]  # seen once: it may still be uploading
    assert ledger.calls == []
    second = await poller.poll_once()
    assert second.processed == ["ORDERS_1.edi"]
    assert still_in_inbound == [True]
    assert list(ledger.events.values()) == [("ORDERS_1.edi", b"ISA*00*~")]
    assert names(inbound) == []
    assert names(mailbox / "processed") == ["ORDERS_1.edi"]


async def test_a_crash_after_logging_but_before_answering_delivers_again_idempotently(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    settings = make_settings(take_older_than_s=0)
    drop(inbound, "ORDERS_2.edi", b"ISA*01*~")

    async def log_then_die(name: str, content: bytes) -> FileVerdict:
        await ledger.accept(name, content)
        raise ProcessDied

    async with SftpClient(settings) as client:
        with pytest.raises(ProcessDied):
            await SftpMailboxPoller(client, log_then_die).poll_once()
    assert names(inbound) == ["ORDERS_2.edi"]

    async with SftpClient(settings) as client:  # the restarted process: new memory, new connection
        report = await SftpMailboxPoller(client, ledger.accept).poll_once()
    assert report.processed == ["ORDERS_2.edi"]
    assert ledger.calls == ["ORDERS_2.edi", "ORDERS_2.edi"]
    assert len(ledger.events) == 1
    assert names(mailbox / "processed") == ["ORDERS_2.edi"]


async def test_a_crash_between_logged_and_the_move_delivers_again_idempotently(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    class DiesBeforeMoving(SftpClient):
        async def move(self, path: str, directory: str) -> str:
            raise ProcessDied

    settings = make_settings(take_older_than_s=0)
    drop(inbound, "ORDERS_3.edi", b"ISA*02*~")
    async with DiesBeforeMoving(settings) as dying:
        with pytest.raises(ProcessDied):
            await SftpMailboxPoller(dying, ledger.accept).poll_once()
    assert names(inbound) == ["ORDERS_3.edi"]
    assert len(ledger.events) == 1

    async with SftpClient(settings) as client:
        report = await SftpMailboxPoller(client, ledger.accept).poll_once()
    assert report.processed == ["ORDERS_3.edi"]
    assert len(ledger.calls) == 2
    assert len(ledger.events) == 1
    assert names(inbound) == []


# -- bad files -------------------------------------------------------------------------------------------------------


async def test_a_failing_accept_is_retried_then_the_file_goes_to_failed_with_a_note(
    make_settings: MakeSettings, mailbox: Path, inbound: Path
) -> None:
    drop(inbound, "ORDERS_4.edi", b"ISA*03*~")
    recorded: list[FailedFile] = []

    async def broken(name: str, content: bytes) -> FileVerdict:
        raise RuntimeError("the mapping orders.inbound.yaml:12 has no field po_number")

    async def record(failed: FailedFile) -> None:
        assert names(inbound) == ["ORDERS_4.edi"]  # recorded before the file leaves inbound
        recorded.append(failed)

    async with SftpClient(make_settings(take_older_than_s=0, max_attempts=3)) as client:
        poller = SftpMailboxPoller(client, broken, on_failed=record)
        assert (await poller.poll_once()).retrying == ["ORDERS_4.edi"]
        assert (await poller.poll_once()).retrying == ["ORDERS_4.edi"]
        assert names(inbound) == ["ORDERS_4.edi"]
        assert (await poller.poll_once()).failed == ["ORDERS_4.edi"]
    assert names(inbound) == []
    assert names(mailbox / "failed") == ["ORDERS_4.edi", "ORDERS_4.edi.error.txt"]
    note = (mailbox / "failed" / "ORDERS_4.edi.error.txt").read_text()
    assert "file: inbound/ORDERS_4.edi" in note
    assert "reason: gave up after 3 failed attempts; the last: accept raised RuntimeError: the mapping" in note
    assert [(f.name, f.content, f.size) for f in recorded] == [("ORDERS_4.edi", b"ISA*03*~", 8)]


async def test_one_bad_file_does_not_hold_up_the_others(
    make_settings: MakeSettings, ledger: Ledger, inbound: Path
) -> None:
    drop(inbound, "A_bad.edi", b"garbage", age_s=20)
    drop(inbound, "B_good.edi", b"ISA*04*~", age_s=10)

    async def accept(name: str, content: bytes) -> FileVerdict:
        if name.startswith("A"):
            raise ValueError("cannot parse")
        return await ledger.accept(name, content)

    async with SftpClient(make_settings(take_older_than_s=0)) as client:
        report = await SftpMailboxPoller(client, accept).poll_once()
    assert report.retrying == ["A_bad.edi"]
    assert report.processed == ["B_good.edi"]


async def test_a_rejected_file_goes_to_failed_with_the_reason(
    make_settings: MakeSettings, mailbox: Path, inbound: Path
) -> None:
    drop(inbound, "PRICES.csv", b"not x12")
    notified: list[FailedFile] = []
    reason = "no ISA segment: the file is not X12; ask the partner to resend it as an 850"

    async def reject(name: str, content: bytes) -> FileVerdict:
        return FileVerdict.rejected(reason)

    async def record(failed: FailedFile) -> None:
        notified.append(failed)

    async with SftpClient(make_settings(take_older_than_s=0)) as client:
        report = await SftpMailboxPoller(client, reject, on_failed=record).poll_once()
    assert report.failed == ["PRICES.csv"]
    assert names(mailbox / "failed") == ["PRICES.csv", "PRICES.csv.error.txt"]
    assert (mailbox / "failed" / "PRICES.csv").read_bytes() == b"not x12"
    assert f"reason: rejected: {reason}" in (mailbox / "failed" / "PRICES.csv.error.txt").read_text()
    assert notified == []  # accept recorded the rejection itself


async def test_an_oversize_file_goes_to_failed_unread(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    drop(inbound, "HUGE.edi", b"x" * 11)
    recorded: list[FailedFile] = []

    async def record(failed: FailedFile) -> None:
        recorded.append(failed)

    async with SftpClient(make_settings(take_older_than_s=0, max_file_size=10)) as client:
        report = await SftpMailboxPoller(client, ledger.accept, on_failed=record).poll_once()
    assert report.failed == ["HUGE.edi"]
    assert ledger.calls == []
    assert [(f.name, f.size, f.content) for f in recorded] == [("HUGE.edi", 11, None)]
    note = (mailbox / "failed" / "HUGE.edi.error.txt").read_text()
    assert "the file is 11 bytes, over the limit of 10 bytes (max_file_size)" in note


async def test_a_failure_that_cannot_be_recorded_keeps_the_file_in_inbound(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    drop(inbound, "HUGE.edi", b"x" * 11)
    outage = [True]

    async def record(failed: FailedFile) -> None:
        if outage[0]:
            raise ConnectionError("the exception store is down")

    async with SftpClient(make_settings(take_older_than_s=0, max_file_size=10)) as client:
        poller = SftpMailboxPoller(client, ledger.accept, on_failed=record)
        assert (await poller.poll_once()).held == ["HUGE.edi"]
        assert names(inbound) == ["HUGE.edi"]
        outage[0] = False
        assert (await poller.poll_once()).failed == ["HUGE.edi"]
    assert names(mailbox / "failed") == ["HUGE.edi", "HUGE.edi.error.txt"]


async def test_files_of_the_same_name_are_kept_apart(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    drop(mailbox / "processed", "ORDERS.edi", b"yesterday")
    drop(mailbox / "failed", "BAD.edi", b"yesterday")
    drop(inbound, "ORDERS.edi", b"today")
    drop(inbound, "BAD.edi", b"today")

    async def accept(name: str, content: bytes) -> FileVerdict:
        return FileVerdict.rejected("bad") if name == "BAD.edi" else await ledger.accept(name, content)

    async with SftpClient(make_settings(take_older_than_s=0)) as client:
        await SftpMailboxPoller(client, accept).poll_once()
    processed = names(mailbox / "processed")
    assert len(processed) == 2
    assert (mailbox / "processed" / "ORDERS.edi").read_bytes() == b"yesterday"
    renamed = next(n for n in processed if re.fullmatch(r"ORDERS-\d{8}T\d{6}Z\.edi", n))
    assert (mailbox / "processed" / renamed).read_bytes() == b"today"
    failed = names(mailbox / "failed")
    assert len(failed) == 3
    renamed = next(n for n in failed if re.fullmatch(r"BAD-\d{8}T\d{6}Z\.edi", n))
    assert f"{renamed}.error.txt" in failed
    assert (mailbox / "failed" / "BAD.edi").read_bytes() == b"yesterday"


# -- uploads in progress ---------------------------------------------------------------------------------------------


async def test_a_file_still_being_written_waits_until_its_size_holds_still(
    client: SftpClient, ledger: Ledger, inbound: Path
) -> None:
    upload = drop(inbound, "ORDERS_5.edi", b"ISA*05*")
    poller = SftpMailboxPoller(client, ledger.accept)
    assert (await poller.poll_once()).waiting == ["ORDERS_5.edi"]
    with upload.open("ab") as partner:
        partner.write(b"GS*PO*~")
    assert (await poller.poll_once()).waiting == ["ORDERS_5.edi"]
    assert ledger.calls == []
    assert (await poller.poll_once()).processed == ["ORDERS_5.edi"]
    assert list(ledger.events.values()) == [("ORDERS_5.edi", b"ISA*05*GS*PO*~")]


async def test_settle_time_counts_on_crossdocks_clock(
    make_settings: MakeSettings, ledger: Ledger, inbound: Path
) -> None:
    drop(inbound, "ORDERS_6.edi", b"ISA*06*~")
    now = [1000.0]
    async with SftpClient(make_settings(settle_s=30)) as client:
        poller = SftpMailboxPoller(client, ledger.accept, clock=lambda: now[0])
        assert (await poller.poll_once()).waiting == ["ORDERS_6.edi"]
        now[0] += 10
        assert (await poller.poll_once()).waiting == ["ORDERS_6.edi"]
        now[0] += 21
        assert (await poller.poll_once()).processed == ["ORDERS_6.edi"]


async def test_files_older_than_the_threshold_are_taken_at_first_sight(
    make_settings: MakeSettings, ledger: Ledger, inbound: Path
) -> None:
    drop(inbound, "OLD.edi", b"ISA*07*~", age_s=600)
    drop(inbound, "NEW.edi", b"ISA*08*~")
    async with SftpClient(make_settings(take_older_than_s=300)) as client:
        report = await SftpMailboxPoller(client, ledger.accept).poll_once()
    assert report.processed == ["OLD.edi"]
    assert report.waiting == ["NEW.edi"]


# -- folders and the loop --------------------------------------------------------------------------------------------


async def test_missing_processed_and_failed_folders_are_created(
    make_settings: MakeSettings, ledger: Ledger, mailbox: Path, inbound: Path
) -> None:
    shutil.rmtree(mailbox / "processed")
    shutil.rmtree(mailbox / "failed")
    drop(inbound, "ORDERS_7.edi", b"ISA*09*~")
    async with SftpClient(make_settings(take_older_than_s=0)) as client:
        assert (await SftpMailboxPoller(client, ledger.accept).poll_once()).processed == ["ORDERS_7.edi"]
    assert names(mailbox / "processed") == ["ORDERS_7.edi"]
    assert (mailbox / "failed").is_dir()


async def test_the_loop_outlives_a_missing_folder_and_a_server_restart(
    make_settings: MakeSettings, ledger: Ledger, sandbox: SftpSandbox, mailbox: Path, inbound: Path
) -> None:
    shutil.rmtree(inbound)
    stop = asyncio.Event()
    async with SftpClient(make_settings(take_older_than_s=0)) as client:
        poller = SftpMailboxPoller(client, ledger.accept)
        loop = asyncio.create_task(poller.run(stop))
        await wait_until(lambda: poller.passes >= 2)  # passes fail: inbound does not exist
        inbound.mkdir()
        drop(inbound, "A.edi", b"ISA*10*~")
        await wait_until(lambda: names(mailbox / "processed") == ["A.edi"])
        await sandbox.restart_async()
        drop(inbound, "B.edi", b"ISA*11*~")
        await wait_until(lambda: names(mailbox / "processed") == ["A.edi", "B.edi"])
        stop.set()
        await asyncio.wait_for(loop, 2)
        assert client.connects == 2
    assert len(ledger.events) == 2
