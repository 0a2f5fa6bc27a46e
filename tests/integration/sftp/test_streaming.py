"""CSV files stream from the SFTP server to the CSV reader in chunks: a file of tens of megabytes is taken with a peak
of traced memory that is a small fraction of its size (a whole-file read would need all of it at once), and a file
read whole is still refused past `max_file_size` while a streamed one is not."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

from crossdock.connectors.sftp import FileVerdict, SftpClient, SftpMailboxPoller
from crossdock.events.envelope import CloudEvent
from crossdock.partners.csv_batches import PRICE_LIST_SCHEMA, CsvBatchReader
from tests.integration.sftp.conftest import MakeSettings, drop, names

ROWS = 15_000
NOTE = "n" * 4000  # a wide column the schema does not know (ignored): ~4 KB a row, so the file is ~60 MB


def price_file(path: Path) -> int:
    """A supplier price list of ROWS rows, written in blocks; its size in bytes."""
    with path.open("wb") as out:
        out.write(b"sku,price,currency,uom,valid_from,min_qty,note\n")
        block = []
        for n in range(ROWS):
            # Every 100th price is refused (no currency): the error report grows with the file, spilled to disk.
            currency = "" if n % 100 == 99 else "USD"
            block.append(f"SKU-{n},{n % 97}.50,{currency},EA,2026-12-01,1,{NOTE}\n")
            if len(block) == 1000:
                out.write("".join(block).encode())
                block.clear()
        out.write("".join(block).encode())
    return path.stat().st_size


class Counter:
    """Stands in for the log: counts what is published, keeps nothing."""

    def __init__(self) -> None:
        self.events = 0

    async def publish(self, events: list[CloudEvent]) -> None:
        self.events += len(events)


async def test_a_large_csv_streams_with_a_small_fraction_of_its_size_in_memory(
    make_settings: MakeSettings, mailbox: Path
) -> None:
    size = price_file(mailbox / "inbound" / "prices.csv")
    counter = Counter()
    reader = CsvBatchReader("acme", "sup-acme", PRICE_LIST_SCHEMA, counter.publish)
    outcomes = []

    async def whole(name: str, content: bytes) -> FileVerdict:
        raise AssertionError(f"{name} was read whole ({len(content)} bytes); it should have streamed")

    async def streamed(name: str, chunks: AsyncIterator[bytes]) -> FileVerdict:
        outcomes.append(await reader.read(name, chunks))
        return FileVerdict.logged()

    settings = make_settings(take_older_than_s=0, max_file_size=1024 * 1024, chunk_size=64 * 1024)
    async with SftpClient(settings, system="acme") as client:
        poller = SftpMailboxPoller(client, whole, accept_stream=streamed, streamed=lambda name: name.endswith(".csv"))
        tracemalloc.start()
        try:
            report = await poller.poll_once()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert report.processed == ["prices.csv"]
    [outcome] = outcomes
    assert (outcome.rows, outcome.accepted, outcome.refused) == (ROWS, ROWS - ROWS // 100, ROWS // 100)
    assert counter.events == ROWS - ROWS // 100  # one price per SKU
    assert size > 50 * 1024 * 1024
    # Chunks, one row, one batch of 500 prices and the report's first MiB are held, never the file.
    assert peak < size / 8, f"peak traced memory {peak} bytes for a file of {size} bytes"
    assert names(mailbox / "processed") == ["prices.csv"]


async def test_a_file_read_whole_is_refused_past_max_file_size_but_a_streamed_one_is_not(
    make_settings: MakeSettings, mailbox: Path
) -> None:
    big = b"x" * 4096
    drop(mailbox / "inbound", "ORDERS.edi", big)
    stock = b"sku,location,uom,on_hand\n" + b"A,DC1,EA,1\n" * 400
    drop(mailbox / "inbound", "stock.csv", stock)
    taken: dict[str, int] = {}

    async def whole(name: str, content: bytes) -> FileVerdict:
        taken[name] = len(content)
        return FileVerdict.logged()

    async def streamed(name: str, chunks: AsyncIterator[bytes]) -> FileVerdict:
        taken[name] = sum([len(chunk) async for chunk in chunks])
        return FileVerdict.logged()

    settings = make_settings(take_older_than_s=0, max_file_size=1024, chunk_size=1024)
    async with SftpClient(settings, system="acme") as client:
        poller = SftpMailboxPoller(client, whole, accept_stream=streamed, streamed=lambda name: name.endswith(".csv"))
        report = await poller.poll_once()

    assert sorted(report.processed) == ["stock.csv"]
    assert report.failed == ["ORDERS.edi"]
    assert taken == {"stock.csv": len(stock)}
    note = (mailbox / "failed" / "ORDERS.edi.error.txt").read_text()
    assert "over the limit of 1024 bytes (max_file_size)" in note
