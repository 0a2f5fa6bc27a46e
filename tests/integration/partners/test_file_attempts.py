"""A partner's file that keeps failing is given up on after `max_attempts` counted in the store: restarting the
worker between attempts (a new mailbox, a new poller, the same store) does not give the file a fresh count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crossdock.config import SecretRef
from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.mailbox import SftpPartnerMailbox
from crossdock.partners.file_attempts import StoreFileAttempts
from crossdock.ports.partners import InboundVerdict
from crossdock.sandbox.sftp import SftpSandbox, SftpUser
from crossdock.store import SqlStore

PASSWORD = "acme-Pa55-word"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SftpSandbox]:
    async with SftpSandbox(tmp_path / "sftp", users=[SftpUser("acme", password=PASSWORD)]) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    sql = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    sql.migrate()
    return sql


def settings(sandbox: SftpSandbox, tmp_path: Path) -> SftpMailboxSettings:
    secret = tmp_path / "acme.password"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    return SftpMailboxSettings(
        host=sandbox.host,
        port=sandbox.port,
        username="acme",
        password=SecretRef(f"file:{secret}"),
        host_key_fingerprint=sandbox.fingerprint,
        allowed_hosts=[sandbox.host],
        take_older_than_s=0,
        max_attempts=3,
    )


async def fails(name: str, content: bytes) -> InboundVerdict:
    raise RuntimeError(f"the log is full while taking {name}")


async def test_attempt_counts_survive_restarts_and_the_file_goes_to_failed_on_the_last(
    sandbox: SftpSandbox, store: SqlStore, tmp_path: Path
) -> None:
    home = sandbox.home("acme")
    (home / "inbound" / "855_4711.edi").write_bytes(b"ISA*00*~")
    config = settings(sandbox, tmp_path)
    counts = []
    for _restart in range(3):
        # Each pass in a new mailbox and poller, as after a worker restart; only the store carries over.
        attempts = StoreFileAttempts(store, "acme", clock=lambda: datetime.now(UTC))
        mailbox = SftpPartnerMailbox(config, system="edi-acme", attempts=attempts)
        try:
            await mailbox.take(fails)
        finally:
            await mailbox.close()
        with store.unit_of_work(read_only=True) as uow:
            counts.append([(a.name, a.attempts) for a in uow.partners.file_attempts("acme")])

    assert counts == [[("855_4711.edi", 1)], [("855_4711.edi", 2)], []]  # filed on the third: its count is dropped
    assert sorted(p.name for p in (home / "failed").iterdir()) == ["855_4711.edi", "855_4711.edi.error.txt"]
    note = (home / "failed" / "855_4711.edi.error.txt").read_text()
    assert "gave up after 3 failed attempts; the last: accept raised RuntimeError: the log is full" in note
    assert list((home / "inbound").iterdir()) == []


async def test_a_new_upload_under_the_same_name_starts_from_zero(
    sandbox: SftpSandbox, store: SqlStore, tmp_path: Path
) -> None:
    home = sandbox.home("acme")
    (home / "inbound" / "855_4711.edi").write_bytes(b"ISA*00*~")
    attempts = StoreFileAttempts(store, "acme", clock=lambda: datetime.now(UTC))
    mailbox = SftpPartnerMailbox(settings(sandbox, tmp_path), system="edi-acme", attempts=attempts)
    try:
        await mailbox.take(fails)
        (home / "inbound" / "855_4711.edi").write_bytes(b"ISA*00*corrected~")  # the partner sends it again
        await mailbox.take(fails)
    finally:
        await mailbox.close()
    with store.unit_of_work(read_only=True) as uow:
        assert [(a.size, a.attempts) for a in uow.partners.file_attempts("acme")] == [(17, 1)]
