"""Scalar types of the canonical model: exact decimals, codes, ids, timestamps and GS1 numbers.

Numbers that carry money or goods are `Decimal`, never float: floats are refused on input, and in JSON every
decimal is a string in plain notation without trailing zeros (`"12"`, `"0.0125"`). One spelling per value keeps
content hashes stable, which echo detection needs; timestamps must carry a timezone and are normalised to UTC for
the same reason. Each type states its JSON Schema, so the schema accepts exactly what `model_dump(mode="json")`
emits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from crossdock.model.iso_codes import ISO_3166_ALPHA2

DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
_UNSIGNED_DECIMAL_PATTERN = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
_ONE = Decimal(1)
# 10**18 is far above any distributor amount or quantity, and keeps every value inside Decimal's default precision.
_MAX_ADJUSTED_EXPONENT = 17


def _refuse_inexact(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"got the bool {value!r}; give a number as a Decimal, an int or a string such as '12'")
    if isinstance(value, float):
        raise ValueError(
            f"got the float {value!r}; amounts and quantities are exact, so pass a Decimal, an int or a string "
            f"such as '{value}'"
        )
    return value


def _canonical_decimal(value: Decimal) -> Decimal:
    if value.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"{value} is out of range; canonical numbers stay below 10^18")
    if value.is_zero():
        return Decimal(0)
    value = value.normalize()
    return value.quantize(_ONE) if value == value.to_integral_value() else value


def decimal_text(value: Decimal) -> str:
    """The decimal in plain notation, as JSON carries it (never `1E+2`)."""
    return format(value, "f")


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"must be greater than zero, got {value}")
    return value


_DECIMAL_DOC = 'An exact decimal as a string in plain notation, e.g. "19.99".'

ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_refuse_inexact),
    AfterValidator(_canonical_decimal),
    PlainSerializer(decimal_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "description": _DECIMAL_DOC}),
]
"""Any exact decimal; JSON carries it as a plain-notation string."""

NonNegativeDecimal = Annotated[
    ExactDecimal,
    AfterValidator(_non_negative),
    WithJsonSchema({"type": "string", "pattern": _UNSIGNED_DECIMAL_PATTERN, "description": _DECIMAL_DOC}),
]
"""An exact decimal that is zero or more."""

PositiveDecimal = Annotated[
    ExactDecimal,
    AfterValidator(_positive),
    WithJsonSchema({"type": "string", "pattern": _UNSIGNED_DECIMAL_PATTERN, "description": _DECIMAL_DOC}),
]
"""An exact decimal greater than zero."""


def _percent(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise ValueError(f"a percentage lies between 0 and 100, got {value}")
    return value


Percent = Annotated[NonNegativeDecimal, AfterValidator(_percent)]
"""A percentage from 0 to 100 (`"2.5"` is 2.5 %)."""


def _strip_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _check_code(pattern: str, what: str, example: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}; use a code such as {example}")
        return value

    return AfterValidator(check)


def _country_known(value: str) -> str:
    if value not in ISO_3166_ALPHA2:
        hint = " (the United Kingdom is GB)" if value == "UK" else ""
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return value


CurrencyCode = Annotated[
    str,
    BeforeValidator(_strip_upper),
    _check_code("[A-Z]{3}", "an ISO 4217 currency code", "USD or EUR"),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 currency code."}),
]
"""ISO 4217 currency code, upper-cased on input."""

CountryCode = Annotated[
    str,
    BeforeValidator(_strip_upper),
    _check_code("[A-Z]{2}", "an ISO 3166-1 alpha-2 country code", "US or DE"),
    AfterValidator(_country_known),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2 code."}),
]
"""ISO 3166-1 alpha-2 country code, upper-cased on input."""

UomCode = Annotated[
    str,
    BeforeValidator(_strip_upper),
    _check_code("[A-Z0-9_]{1,10}", "a unit of measure code", "EA, CS or PL"),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z0-9_]{1,10}$", "description": "Unit of measure code."}),
]
"""A unit of measure code; any code is allowed, `UnitOfMeasure` names the well-known ones."""

CanonicalId = Annotated[
    str,
    _check_code(r"\S{1,200}", "a canonical id (1 to 200 characters, no spaces)", "'cus_0042'"),
    WithJsonSchema({"type": "string", "pattern": r"^\S{1,200}$", "description": "A canonical id."}),
]
"""Crossdock's id for a business object; also used for references between objects."""

SystemName = Annotated[
    str,
    _check_code(r"[a-z][a-z0-9_.-]{0,63}", "a configured system name", "erp, crm or supplier-acme"),
    WithJsonSchema({"type": "string", "pattern": r"^[a-z][a-z0-9_.\-]{0,63}$"}),
]
"""The name a system is configured under (`erp`, `crm`, `supplier-acme`)."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
"""Free text that must not be blank; surrounding whitespace is dropped."""

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""A short business code or number (customer number, SKU, payment terms code)."""


def _refuse_naive(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(
            f"timestamp {value.isoformat()} has no timezone; attach one (a system that sends naive UTC, "
            "such as Tryton, needs tzinfo=UTC)"
        )
    return value


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, BeforeValidator(_refuse_naive), AfterValidator(_to_utc)]
"""A timezone-aware instant, normalised to UTC."""


def gs1_check_digit_ok(digits: str) -> bool:
    """True when the last digit is the GS1 mod-10 check digit of the others (GTIN, GLN, SSCC)."""
    if not digits.isdigit():
        return False
    body = digits[:-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(digits[-1])


def _gs1(name: str, lengths: tuple[int, ...]) -> Any:
    def check(value: str) -> str:
        if len(value) not in lengths or not value.isdigit():
            sizes = " or ".join(str(n) for n in lengths)
            raise ValueError(f"{name} {value!r} must be {sizes} digits")
        if not gs1_check_digit_ok(value):
            raise ValueError(f"{name} {value!r} has a wrong check digit; check the last digit")
        return value

    return AfterValidator(check)


Gtin = Annotated[
    str,
    _gs1("GTIN", (8, 12, 13, 14)),
    WithJsonSchema({"type": "string", "pattern": "^([0-9]{8}|[0-9]{12,14})$", "description": "GTIN or UPC."}),
]
"""A GTIN-8/12/13/14 (a UPC-A is a GTIN-12) with a valid check digit."""

Gln = Annotated[str, _gs1("GLN", (13,)), WithJsonSchema({"type": "string", "pattern": "^[0-9]{13}$"})]
"""A GS1 Global Location Number."""

Sscc = Annotated[str, _gs1("SSCC", (18,)), WithJsonSchema({"type": "string", "pattern": "^[0-9]{18}$"})]
"""A GS1 Serial Shipping Container Code: the 18-digit number on a carton or pallet label."""
