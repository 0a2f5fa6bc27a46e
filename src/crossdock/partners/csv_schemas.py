"""What partners' CSV files look like: a schema per kind (inventory feeds, distributor orders, supplier price lists),
each column with its header, the field it fills, its type and rules. `csv_batches` reads files against them.

Headers are matched without regard to case or surrounding blanks; columns that are not required may be left out,
and columns a schema does not know are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Kind = Literal["text", "code", "decimal", "int", "date"]
CsvKind = Literal["inventory", "orders", "price_list"]


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

    kind: CsvKind
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

PRICE_LIST_SCHEMA = CsvSchema(
    "price_list",
    (
        CsvColumn("sku", "sku", "code", pattern=r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}"),
        CsvColumn("price", "price", "decimal"),
        CsvColumn("currency", "currency", "code", pattern=r"[A-Z]{3}"),
        CsvColumn("uom", "uom", "code", pattern=r"[A-Z0-9]{2,3}"),
        CsvColumn("valid_from", "valid_from", "date", required=False),
        CsvColumn("min_qty", "min_qty", "decimal", required=False),
    ),
)
"""A supplier's price list: what it charges us per SKU and UOM, from a date, with quantity breaks (one row per
break; the rows of one price, the same SKU, UOM, currency and date, follow each other with min_qty ascending)."""

SCHEMAS: dict[str, CsvSchema] = {schema.kind: schema for schema in (INVENTORY_SCHEMA, ORDER_SCHEMA, PRICE_LIST_SCHEMA)}
"""The schema of each kind a partner's `csv_files` may name."""
