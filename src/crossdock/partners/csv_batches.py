"""CSV batch files from partners (inventory feeds, distributor orders, supplier price lists): a schema per partner
and kind (`csv_schemas`), row-level validation, partial acceptance, and an error report to send back, streamed so
that a 1 GB file needs constant memory.

A file is read as byte chunks, from an iterator or an async iterator (an SFTP download in progress); rows are
validated one at a time and turned into canonical events in batches of `batch_rows`; refused rows go to the error
report as they are found (row number, column, what is wrong, the row as it was). Parsing and validation run in a
worker thread, which pulls chunks from the event loop one at a time and hands each batch back to it to publish:
the loop keeps serving other work while a large file is read, and only one chunk, one row and one batch are held.

Rows that belong together are taken or refused together: an order spans consecutive rows with the same order
reference, a price consecutive rows with the same SKU, UOM, currency and start date (one row per quantity break).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import hashlib
import io
import tempfile
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from pydantic import ValidationError

from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.inventory import InventoryPosition
from crossdock.model.pricing import PriceList
from crossdock.model.sales import SalesOrder
from crossdock.partners.csv_schemas import (
    INVENTORY_SCHEMA,
    ORDER_SCHEMA,
    PRICE_LIST_SCHEMA,
    SCHEMAS,
    CsvColumn,
    CsvSchema,
)

__all__ = [
    "INVENTORY_SCHEMA",
    "ORDER_SCHEMA",
    "PRICE_LIST_SCHEMA",
    "SCHEMAS",
    "CsvBatchReader",
    "CsvColumn",
    "CsvOutcome",
    "CsvSchema",
    "chunked",
    "text_lines",
]

_NAMESPACE = uuid.UUID("b7c8f0a1-4d52-4e8b-9a63-0f4a1c2d3e5f")
_REPORT_MEMORY = 1 << 20  # the error report stays in memory up to 1 MiB, then spills to a temporary file
_MAX_LINE = 1 << 20  # characters: a longer line is a file without line breaks, not a row
PRICE_LIST_RECEIVED = event_type("price_list", "received")

Row = tuple[int, dict[str, Any] | None, list[str]]  # row number, its values (None when refused), the cells as sent


@dataclass
class CsvOutcome:
    """What a file came to: rows read, accepted and refused, events logged, and the error report (if any)."""

    rows: int = 0
    accepted: int = 0
    refused: int = 0
    events: int = 0
    report: bytes | None = None
    problems: list[str] = field(default_factory=list)  # file-level problems (no header, a wrong header)

    @property
    def usable(self) -> bool:
        """Something in the file was taken, or there was nothing wrong with it."""
        return not self.problems and (self.accepted > 0 or self.refused == 0)


Publish = Callable[[list[CloudEvent]], Awaitable[Any]]
Chunks = Iterable[bytes] | AsyncIterable[bytes]


class _Report:
    """The error report, written as rows are refused; held in memory up to 1 MiB, then on disk."""

    def __init__(self, limit: int) -> None:
        # Kept open for the report's life and closed in `content()`; a context manager would not span the reading.
        self._file: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            _REPORT_MEMORY, mode="w+", newline="", encoding="utf-8"
        )
        self._writer = csv.writer(self._file)
        self._writer.writerow(["row", "column", "error", "line"])
        self._limit = limit
        self.count = 0

    def add(self, row: int, column: str, error: str, line: list[str]) -> None:
        self.count += 1
        if self.count <= self._limit:
            self._writer.writerow([row, column, error, ",".join(line)])

    def content(self) -> bytes | None:
        if not self.count:
            return None
        if self.count > self._limit:
            self._writer.writerow(["", "", f"{self.count - self._limit} more refused rows not listed", ""])
        self._file.seek(0)
        content = self._file.read().encode("utf-8")
        self._file.close()
        return content


def text_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decoded lines from byte chunks, without holding more than one chunk and one line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line + "\n"
        if len(pending) > _MAX_LINE:
            raise csv.Error(f"a line runs past {_MAX_LINE} characters without a line break")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _pulled(chunks: AsyncIterable[bytes], loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
    """An async iterable's chunks, for a worker thread: each one fetched on `loop`, one at a time."""
    iterator = aiter(chunks)

    async def following() -> bytes | None:
        try:
            return await anext(iterator)
        except StopAsyncIteration:
            return None

    while (chunk := asyncio.run_coroutine_threadsafe(following(), loop).result()) is not None:
        yield chunk


class CsvBatchReader:
    """Reads one partner's CSV files of one kind into events."""

    def __init__(
        self, partner: str, partner_id: str, schema: CsvSchema, publish: Publish, *, batch_rows: int = 500
    ) -> None:
        self.partner = partner
        self.partner_id = partner_id  # the partner's canonical id: the customer of its orders, the supplier of prices
        self.schema = schema
        self._publish = publish
        self._batch_rows = batch_rows

    async def read(self, file_name: str, chunks: Chunks) -> CsvOutcome:
        """Validate and log the file's rows; refused rows go to the report (see the module docstring)."""
        loop = asyncio.get_running_loop()
        source = _pulled(chunks, loop) if isinstance(chunks, AsyncIterable) else chunks

        async def send(batch: list[CloudEvent]) -> None:
            await self._publish(batch)

        def publish(batch: list[CloudEvent]) -> None:
            asyncio.run_coroutine_threadsafe(send(batch), loop).result()

        return await asyncio.to_thread(self._read, file_name, source, publish)

    def _read(self, file_name: str, chunks: Iterable[bytes], publish: Callable[[list[CloudEvent]], None]) -> CsvOutcome:
        outcome = CsvOutcome()
        report = _Report(self.schema.max_reported_errors)
        try:
            rows = csv.reader(text_lines(chunks, self.schema.encoding), delimiter=self.schema.delimiter)
            header = next(rows, None)
            columns = self._columns(header, outcome)
            if columns is None:
                return outcome
            batch: list[CloudEvent] = []
            group: list[Row] = []
            group_key: tuple[str, ...] = ()
            for number, line in enumerate(rows, start=2):
                if not any(cell.strip() for cell in line):
                    continue
                outcome.rows += 1
                values = self._values(number, line, columns, report)
                if self.schema.kind == "inventory":
                    self._take_position(file_name, number, values, line, batch, outcome, report)
                else:
                    key = self._group_key(line, columns)
                    if group and key != group_key:
                        self._close_group(file_name, group, batch, outcome, report)
                        group = []
                    group_key = key
                    group.append((number, values, line))
                if len(batch) >= self._batch_rows:
                    self._flush(batch, outcome, publish)
            if group:
                self._close_group(file_name, group, batch, outcome, report)
            self._flush(batch, outcome, publish)
        except UnicodeDecodeError as error:
            outcome.problems.append(f"{file_name} is not {self.schema.encoding} text ({error.reason}); send UTF-8")
        except csv.Error as error:
            outcome.problems.append(f"{file_name} is not valid CSV: {error}")
        finally:
            outcome.report = report.content()
        return outcome

    def _columns(self, header: list[str] | None, outcome: CsvOutcome) -> list[str] | None:
        if header is None:
            outcome.problems.append("the file is empty; send a header row and at least one row")
            return None
        found = [cell.strip().lower() for cell in header]
        missing = [c.header for c in self.schema.columns if c.required and c.header not in found]
        if missing:
            outcome.problems.append(f"the header lacks {', '.join(missing)}; the first row must name the columns")
            return None
        return found

    def _values(self, number: int, line: list[str], columns: list[str], report: _Report) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        refused = False
        for column in self.schema.columns:
            position = columns.index(column.header) if column.header in columns else None
            raw = line[position] if position is not None and position < len(line) else ""
            try:
                values[column.field] = column.read(raw)
            except ValueError as error:
                report.add(number, column.header, f"{column.header} {error}", line)
                refused = True
        return None if refused else values

    def _flush(self, batch: list[CloudEvent], outcome: CsvOutcome, publish: Callable[[list[CloudEvent]], None]) -> None:
        if batch:
            publish(list(batch))
            outcome.events += len(batch)
            batch.clear()

    def _group_key(self, line: list[str], columns: list[str]) -> tuple[str, ...]:
        """What ties rows together: an order's reference; a price's SKU, UOM, currency and start date."""
        fields = ("po_number",) if self.schema.kind == "orders" else ("sku", "uom", "currency", "valid_from")

        def cell(name: str) -> str:
            position = columns.index(name) if name in columns else None
            return line[position].strip() if position is not None and position < len(line) else ""

        return tuple(cell(name) for name in fields)

    def _close_group(
        self, file_name: str, rows: list[Row], batch: list[CloudEvent], outcome: CsvOutcome, report: _Report
    ) -> None:
        if self.schema.kind == "orders":
            self._close_order(file_name, rows, batch, outcome, report)
        else:
            self._close_price(file_name, rows, batch, outcome, report)

    def _event_id(self, file_name: str, number: int, line: list[str]) -> str:
        content = hashlib.sha256("\x1f".join(line).encode()).hexdigest()[:16]
        return str(uuid.uuid5(_NAMESPACE, f"{self.partner}:{file_name}:{number}:{content}"))

    def _take_position(
        self,
        file_name: str,
        number: int,
        values: dict[str, Any] | None,
        line: list[str],
        batch: list[CloudEvent],
        outcome: CsvOutcome,
        report: _Report,
    ) -> None:
        event = None if values is None else self._inventory(file_name, number, values, line)
        if event is None:
            outcome.refused += 1
            if values is not None:
                report.add(number, "", "does not make a valid inventory position", line)
            return
        batch.append(event)
        outcome.accepted += 1

    def _inventory(self, file_name: str, number: int, values: dict[str, Any], line: list[str]) -> CloudEvent | None:
        uom = values["uom"]

        def quantity(name: str) -> dict[str, str]:
            return {"value": str(values.get(name) or 0), "uom": uom}

        on_hand = values["on_hand"]
        allocated = values.get("allocated") or Decimal(0)
        try:
            position = InventoryPosition.model_validate(
                {
                    "id": f"{self.partner}:{values['location_id']}:{values['sku']}",
                    "item_id": f"sku:{values['sku']}",
                    "sku": values["sku"],
                    "location_id": values["location_id"],
                    "on_hand": quantity("on_hand"),
                    "allocated": quantity("allocated"),
                    "available_to_promise": {"value": str(max(on_hand - allocated, Decimal(0))), "uom": uom},
                    "on_order": quantity("on_order"),
                    "as_of": datetime.now(UTC).isoformat(),
                    "next_receipt_date": values.get("next_receipt_date"),
                }
            )
        except ValidationError:
            return None
        return CloudEvent(
            type=event_type("inventory_position", "updated"),
            source=f"/partners/{self.partner}",
            subject=position.id,
            data=position.model_dump(mode="json"),
            id=self._event_id(file_name, number, line),
            businesskeys={"partner": self.partner, "file": file_name, "row": str(number)},
            partnerid=self.partner_id,
        )

    def _close_order(
        self,
        file_name: str,
        rows: list[Row],
        batch: list[CloudEvent],
        outcome: CsvOutcome,
        report: _Report,
    ) -> None:
        """One order from its consecutive rows: all taken, or all refused."""
        valid = [(number, values, line) for number, values, line in rows if values is not None]
        if len(valid) < len(rows):
            outcome.refused += len(rows)
            for number, _, line in valid:
                report.add(number, "", "refused with its order: another row of the order has an error", line)
            return
        first = valid[0][1]
        assert first is not None  # every row of `valid` was read
        currency = first.get("currency") or "USD"
        order_number = f"CSV-{self.partner}-{first['po_number']}"
        try:
            order = SalesOrder.model_validate(
                {
                    "id": str(uuid.uuid5(_NAMESPACE, f"order:{order_number}")),
                    "number": order_number,
                    "customer_id": self.partner_id,
                    "customer_po": first["po_number"],
                    "order_date": datetime.now(UTC).date().isoformat(),
                    "currency": currency,
                    "status": "submitted",
                    "channel": "edi",
                    "ship_to": {
                        "kind": "ship_to",
                        "name": first.get("ship_to_name"),
                        "lines": [first["ship_to_street"]],
                        "city": first["ship_to_city"],
                        "region": first.get("ship_to_region"),
                        "postal_code": first.get("ship_to_postal_code"),
                        "country": first["ship_to_country"],
                    },
                    "lines": [
                        {
                            "line_number": n,
                            "item_id": f"sku:{values['sku']}",
                            "sku": values["sku"],
                            "ordered_quantity": {"value": str(values["quantity"]), "uom": values.get("uom") or "EA"},
                            "unit_price": {"amount": str(values["unit_price"]), "currency": currency},
                        }
                        for n, (_, values, _) in enumerate(valid, start=1)
                        if values is not None
                    ],
                }
            )
        except ValidationError as error:
            outcome.refused += len(rows)
            reason = "; ".join(e["msg"] for e in error.errors()[:3])
            for row_number, _, line in rows:
                report.add(row_number, "", f"the order does not hold together: {reason}", line)
            return
        batch.append(
            CloudEvent(
                type=event_type("order", "submitted"),
                source=f"/partners/{self.partner}",
                subject=order.id,
                data=order.model_dump(mode="json"),
                id=self._event_id(file_name, rows[0][0], [cell for _, _, row in rows for cell in row]),
                businesskeys={"order": order_number, "customer_po": str(first["po_number"]), "file": file_name},
                partnerid=self.partner_id,
            )
        )
        outcome.accepted += len(rows)

    def _close_price(
        self, file_name: str, rows: list[Row], batch: list[CloudEvent], outcome: CsvOutcome, report: _Report
    ) -> None:
        """One price with its quantity breaks, from its consecutive rows: all taken, or all refused."""
        valid = [(number, values, line) for number, values, line in rows if values is not None]
        if len(valid) < len(rows):
            outcome.refused += len(rows)
            for number, _, line in valid:
                report.add(number, "", "refused with its price: another break of it has an error", line)
            return
        first = valid[0][1]
        assert first is not None  # every row of `valid` was read
        sku, uom, currency, valid_from = first["sku"], first["uom"], first["currency"], first.get("valid_from")
        list_id = f"{self.partner_id}:price:{sku}:{uom}:{valid_from.isoformat() if valid_from else 'now'}"
        try:
            price_list = PriceList.model_validate(
                {
                    "id": list_id,
                    "code": self.partner_id,
                    "name": f"{self.partner} supplier price list",
                    "currency": currency,
                    "valid_from": valid_from,
                    "entries": [
                        {
                            "item_id": f"sku:{sku}",
                            "sku": sku,
                            "uom": uom,
                            "breaks": [
                                {
                                    "min_quantity": str(values["min_qty"] if values.get("min_qty") is not None else 1),
                                    "unit_price": {"amount": str(values["price"]), "currency": currency},
                                }
                                for _, values, _ in valid
                                if values is not None
                            ],
                        }
                    ],
                }
            )
        except ValidationError as error:
            outcome.refused += len(rows)
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors()[:3])
            for row_number, _, line in rows:
                report.add(row_number, "", f"the price does not hold together: {reason}", line)
            return
        batch.append(
            CloudEvent(
                type=PRICE_LIST_RECEIVED,
                source=f"/partners/{self.partner}",
                subject=price_list.id,
                data=price_list.model_dump(mode="json"),
                id=self._event_id(file_name, rows[0][0], [cell for _, _, row in rows for cell in row]),
                businesskeys={"partner": self.partner, "file": file_name, "sku": str(sku)},
                partnerid=self.partner_id,
            )
        )
        outcome.accepted += len(rows)


def chunked(stream: io.BufferedIOBase | IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """A binary stream as chunks."""
    while chunk := stream.read(size):
        yield chunk
