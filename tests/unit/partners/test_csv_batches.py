"""CSV batch files: row-level validation, partial acceptance, an error report, orders and prices across rows,
async chunk sources, constant memory."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import AsyncIterator, Iterator

from crossdock.events.envelope import CloudEvent
from crossdock.partners.csv_batches import (
    INVENTORY_SCHEMA,
    ORDER_SCHEMA,
    PRICE_LIST_RECEIVED,
    PRICE_LIST_SCHEMA,
    CsvBatchReader,
    chunked,
)

INVENTORY = b"""sku,location,uom,on_hand,allocated,on_order,next_receipt_date
SKU-1,DC1,EA,120,20,50,2026-12-01
SKU-2,DC1,EA,abc,0,0,
,DC1,EA,5,,,
SKU-3,DC2,CS,7,,,2026-13-40

SKU-4,DC2,EA,3.5,1,,
"""

HEADER = (
    b"po_number,ship_to_name,ship_to_street,ship_to_city,ship_to_region,ship_to_postal_code,ship_to_country,"
    b"sku,quantity,uom,unit_price,currency\n"
)
ORDERS = (
    HEADER
    + b"""PO-1,Jane,1 Main St,Columbus,OH,43215,US,SKU-1,2,EA,4.25,USD
PO-1,Jane,1 Main St,Columbus,OH,43215,US,SKU-2,1,CS,80.00,USD
PO-2,Bob,2 Elm St,Dayton,OH,45402,US,SKU-1,oops,EA,4.25,USD
PO-2,Bob,2 Elm St,Dayton,OH,45402,US,SKU-3,1,EA,9.00,USD
PO-3,Ann,3 Oak St,Akron,OH,44308,US,SKU-9,5,EA,1.00,USD
"""
)


class Sink:
    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.calls = 0

    async def __call__(self, events: list[CloudEvent]) -> None:
        self.calls += 1
        self.events.extend(events)


def report_rows(report: bytes | None) -> list[list[str]]:
    assert report is not None
    return list(csv.reader(io.StringIO(report.decode())))[1:]


async def test_good_rows_are_taken_and_bad_rows_reported_with_what_is_wrong() -> None:
    sink = Sink()
    reader = CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, sink)
    outcome = await reader.read("stock.csv", chunked(io.BytesIO(INVENTORY), 7))  # tiny chunks: lines straddle them
    assert (outcome.rows, outcome.accepted, outcome.refused, outcome.events) == (5, 2, 3, 2)
    assert outcome.usable
    assert [e.data["sku"] for e in sink.events] == ["SKU-1", "SKU-4"]
    first = sink.events[0].data
    assert (first["on_hand"]["value"], first["available_to_promise"]["value"], first["next_receipt_date"]) == (
        "120",
        "100",
        "2026-12-01",
    )
    rows = report_rows(outcome.report)
    assert [(row[0], row[1]) for row in rows] == [("3", "on_hand"), ("4", "sku"), ("5", "next_receipt_date")]
    assert "not a number" in rows[0][2]
    assert rows[0][3].startswith("SKU-2,DC1")


async def test_the_same_file_read_again_gives_the_same_event_ids() -> None:
    first, second = Sink(), Sink()
    await CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, first).read("stock.csv", [INVENTORY])
    await CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, second).read("stock.csv", [INVENTORY])
    assert [e.id for e in first.events] == [e.id for e in second.events]


async def test_an_order_spans_its_rows_and_is_refused_whole_when_one_row_is_bad() -> None:
    sink = Sink()
    outcome = await CsvBatchReader("acme", "cus-acme", ORDER_SCHEMA, sink).read("orders.csv", [ORDERS])
    assert (outcome.accepted, outcome.refused) == (3, 2)
    numbers = [e.data["number"] for e in sink.events]
    assert numbers == ["CSV-acme-PO-1", "CSV-acme-PO-3"]
    po1 = sink.events[0]
    assert [line["sku"] for line in po1.data["lines"]] == ["SKU-1", "SKU-2"]
    assert (po1.data["customer_id"], po1.partnerid, po1.data["channel"]) == ("cus-acme", "cus-acme", "edi")
    rows = report_rows(outcome.report)
    assert [row[0] for row in rows] == ["4", "5"]
    assert "quantity" in rows[0][2]
    assert "another row of the order" in rows[1][2]


async def test_a_file_without_the_required_columns_or_not_utf8_is_refused_whole() -> None:
    sink = Sink()
    wrong = await CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, sink).read("x.csv", [b"item,qty\nA,1\n"])
    assert not wrong.usable
    assert "sku" in wrong.problems[0]
    latin = await CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, sink).read(
        "y.csv", [b"sku,location,uom,on_hand\nR\xe9f,DC1,EA,1\n"]
    )
    assert not latin.usable
    assert "UTF-8" in latin.problems[0]
    assert sink.events == []


PRICES = b"""SKU,Price,Currency,UOM,Valid_From,Min_Qty
VALVE-1,12.50,USD,EA,2026-12-01,1
VALVE-1,11.75,USD,EA,2026-12-01,10
VALVE-1,10.90,USD,EA,2026-12-01,50
VALVE-2,80.00,USD,CS,,
PIPE-3,4.10,USD,EA,2026-12-01,10
PIPE-3,4.00,USD,EA,2026-12-01,5
HOSE-4,cheap,USD,EA,2026-12-01,1
HOSE-4,2.00,USD,EA,2026-12-01,20
CLAMP-5,0.30,usd,EA,2026-12-01,1
"""


async def test_a_price_list_becomes_one_event_per_price_with_its_quantity_breaks() -> None:
    sink = Sink()
    reader = CsvBatchReader("acme", "sup-acme", PRICE_LIST_SCHEMA, sink)
    outcome = await reader.read("prices.csv", chunked(io.BytesIO(PRICES), 11))
    assert (outcome.rows, outcome.accepted, outcome.refused) == (9, 4, 5)
    assert {e.type for e in sink.events} == {PRICE_LIST_RECEIVED}
    valve, case = (e.data for e in sink.events)
    assert (valve["id"], valve["code"], valve["currency"], valve["valid_from"]) == (
        "sup-acme:price:VALVE-1:EA:2026-12-01",
        "sup-acme",
        "USD",
        "2026-12-01",
    )
    [entry] = valve["entries"]
    assert [(b["min_quantity"], b["unit_price"]["amount"]) for b in entry["breaks"]] == [
        ("1", "12.50"),
        ("10", "11.75"),
        ("50", "10.90"),
    ]
    assert (case["valid_from"], case["entries"][0]["uom"], case["entries"][0]["breaks"][0]["min_quantity"]) == (
        None,
        "CS",
        "1",
    )
    assert all(e.partnerid == "sup-acme" for e in sink.events)
    # A cell's error is reported as its row is read, a price's when its last row is: sort by row to read it.
    rows = sorted(report_rows(outcome.report), key=lambda row: int(row[0]))
    assert [(row[0], row[1]) for row in rows] == [("6", ""), ("7", ""), ("8", "price"), ("9", ""), ("10", "currency")]
    assert "ascending min_quantity" in rows[0][2]  # PIPE-3's breaks go down: the price is refused whole
    assert "another break of it has an error" in rows[3][2]


async def test_chunks_may_come_from_an_async_source() -> None:
    async def download() -> AsyncIterator[bytes]:
        for start in range(0, len(PRICES), 16):
            yield PRICES[start : start + 16]

    sink = Sink()
    outcome = await CsvBatchReader("acme", "sup-acme", PRICE_LIST_SCHEMA, sink).read("prices.csv", download())
    assert (outcome.accepted, len(sink.events)) == (4, 2)
    again = Sink()
    await CsvBatchReader("acme", "sup-acme", PRICE_LIST_SCHEMA, again).read("prices.csv", [PRICES])
    assert [e.id for e in sink.events] == [e.id for e in again.events]  # chunking does not change event ids


async def test_a_file_without_line_breaks_is_refused_not_held() -> None:
    one_line = [b"sku,price,currency,uom," + b"x" * 65536] * 40  # 2.5 MB and no line break
    outcome = await CsvBatchReader("acme", "sup-acme", PRICE_LIST_SCHEMA, Sink()).read("flat.csv", one_line)
    assert not outcome.usable
    assert "without a line break" in outcome.problems[0]


def big_inventory(rows: int) -> Iterator[bytes]:
    yield b"sku,location,uom,on_hand,allocated,on_order,next_receipt_date\n"
    block = []
    for n in range(rows):
        on_hand = "x" if n % 1000 == 0 else str(n % 500)  # one row in a thousand is refused
        block.append(f"SKU-{n},DC{n % 7},EA,{on_hand},1,0,\n")
        if len(block) == 1000:
            yield "".join(block).encode()
            block = []
    if block:
        yield "".join(block).encode()


async def test_memory_stays_flat_however_long_the_file() -> None:
    async def discard(events: list[CloudEvent]) -> None:
        del events

    peaks = []
    for rows in (4_000, 16_000):
        reader = CsvBatchReader("acme", "cus-acme", INVENTORY_SCHEMA, discard, batch_rows=500)
        tracemalloc.start()
        outcome = await reader.read("big.csv", big_inventory(rows))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert (outcome.accepted, outcome.refused) == (rows - rows // 1000, rows // 1000)
    # Four times the rows, and the peak stays where the small file put it: rows are never all held.
    assert peaks[1] < peaks[0] * 1.5
