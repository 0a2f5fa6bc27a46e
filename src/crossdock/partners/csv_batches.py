"""CSV batch files from partners (inventory feeds, distributor orders): a schema per partner and kind, row-level
validation, partial acceptance, and an error report to send back, streamed so that a 1 GB file needs constant
memory.

A file is read as an iterator of byte chunks; rows are validated one at a time and turned into canonical events
in batches of `batch_rows`; refused rows go to the error report as they are found (row number, column, what is
wrong, the row as it was). An order spans consecutive rows with the same order reference; it is refused whole if
any of its rows is.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Literal

from pydantic import ValidationError

from crossdock.events.envelope import CloudEvent, event_type
from crossdock.model.inventory import InventoryPosition
from crossdock.model.sales import SalesOrder

Kind = Literal["text", "code", "decimal", "int", "date"]
_NAMESPACE = uuid.UUID("b7c8f0a1-4d52-4e8b-9a63-0f4a1c2d3e5f")
_REPORT_MEMORY = 1 << 20  # the error report stays in memory up to 1 MiB, then spills to a temporary file


@dataclass(frozen=True, slots=True)
class CsvColumn:
    """One column: its header, the field it fills, its type and rules."""

    header: str
    field: str
    kind: Kind = "text"
    required: bool = True
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 200

    def read(self, raw: str) -> Any:
        """The cell's value, or ValueError saying what is wrong with it."""
        value = raw.strip()
        if not value:
            if self.required:
                raise ValueError("is empty; it is required")
            return None
        if len(value) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        if self.choices and value not in self.choices:
            raise ValueError(f"is {value!r}; use one of {', '.join(self.choices)}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise ValueError(f"is {value!r}, which is not of the form {self.pattern}")
        if self.kind == "decimal":
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise ValueError(f"is {value!r}, not a number (write 12.50, no thousands separators)") from None
            if not number.is_finite():
                raise ValueError(f"is {value!r}, not a finite number")
            return number
        if self.kind == "int":
            if not value.isdigit():
                raise ValueError(f"is {value!r}, not a whole number")
            return int(value)
        if self.kind == "date":
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"is {value!r}, not a date (write YYYY-MM-DD)") from None
        return value


@dataclass(frozen=True, slots=True)
class CsvSchema:
    """What one partner's files of one kind look like."""

    kind: Literal["inventory", "orders"]
    columns: tuple[CsvColumn, ...]
    delimiter: str = ","
    encoding: str = "utf-8"
    max_reported_errors: int = 10_000  # beyond that the report says how many more there were


INVENTORY_SCHEMA = CsvSchema(
    "inventory",
    (
        CsvColumn("sku", "sku", "code", pattern=r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}"),
        CsvColumn("location", "location_id", "code", pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
        CsvColumn("uom", "uom", "code", pattern=r"[A-Z]{2,3}"),
        CsvColumn("on_hand", "on_hand", "decimal"),
        CsvColumn("allocated", "allocated", "decimal", required=False),
        CsvColumn("on_order", "on_order", "decimal", required=False),
        CsvColumn("next_receipt_date", "next_receipt_date", "date", required=False),
    ),
)

ORDER_SCHEMA = CsvSchema(
    "orders",
    (
        CsvColumn("po_number", "po_number", "code", pattern=r"[A-Za-z0-9][A-Za-z0-9._/-]{0,34}"),
        CsvColumn("ship_to_name", "ship_to_name", required=False),
        CsvColumn("ship_to_street", "ship_to_street"),
        CsvColumn("ship_to_city", "ship_to_city"),
        CsvColumn("ship_to_region", "ship_to_region", "code", required=False),
        CsvColumn("ship_to_postal_code", "ship_to_postal_code", "code", required=False),
        CsvColumn("ship_to_country", "ship_to_country", "code", pattern=r"[A-Z]{2}"),
        CsvColumn("sku", "sku", "code", pattern=r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}"),
        CsvColumn("quantity", "quantity", "decimal"),
        CsvColumn("uom", "uom", "code", pattern=r"[A-Z]{2,3}", required=False),
        CsvColumn("unit_price", "unit_price", "decimal"),
        CsvColumn("currency", "currency", "code", pattern=r"[A-Z]{3}", required=False),
    ),
)


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
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


class CsvBatchReader:
    """Reads one partner's CSV files of one kind into events."""

    def __init__(
        self, partner: str, partner_id: str, schema: CsvSchema, publish: Publish, *, batch_rows: int = 500
    ) -> None:
        self.partner = partner
        self.partner_id = partner_id  # the partner's canonical id: the customer of its orders
        self.schema = schema
        self._publish = publish
        self._batch_rows = batch_rows

    async def read(self, file_name: str, chunks: Iterable[bytes]) -> CsvOutcome:
        """Validate and log the file's rows; refused rows go to the report."""
        outcome = CsvOutcome()
        report = _Report(self.schema.max_reported_errors)
        try:
            rows = csv.reader(text_lines(chunks, self.schema.encoding), delimiter=self.schema.delimiter)
            header = next(rows, None)
            columns = self._columns(header, outcome)
            if columns is None:
                return outcome
            batch: list[CloudEvent] = []
            order: list[tuple[int, dict[str, Any] | None, list[str]]] = []
            order_po = ""
            for number, line in enumerate(rows, start=2):
                if not any(cell.strip() for cell in line):
                    continue
                outcome.rows += 1
                values = self._values(number, line, columns, report)
                if self.schema.kind == "inventory":
                    self._take_position(file_name, number, values, line, batch, outcome, report)
                else:
                    position = columns.index("po_number")
                    po = line[position].strip() if position < len(line) else ""
                    if order and po != order_po:
                        self._close_order(file_name, order, batch, outcome, report)
                        order = []
                    order_po = po
                    order.append((number, values, line))
                if len(batch) >= self._batch_rows:
                    await self._flush(batch, outcome)
            if order:
                self._close_order(file_name, order, batch, outcome, report)
            await self._flush(batch, outcome)
        except UnicodeDecodeError as error:
            outcome.problems.append(f"{file_name} is not {self.schema.encoding} text ({error.reason}); send UTF-8")
        except csv.Error as error:
            outcome.problems.append(f"{file_name} is not valid CSV: {error}")
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

    async def _flush(self, batch: list[CloudEvent], outcome: CsvOutcome) -> None:
        if batch:
            await self._publish(list(batch))
            outcome.events += len(batch)
            batch.clear()

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
        rows: list[tuple[int, dict[str, Any] | None, list[str]]],
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


def chunked(stream: io.BufferedIOBase | IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """A binary stream as chunks."""
    while chunk := stream.read(size):
        yield chunk
