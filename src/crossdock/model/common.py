"""The base classes every canonical object shares, and the value types built on the scalars: ids and
references, Money, Quantity and units of measure.

Money and Quantity arithmetic only combines values of one currency or one UOM, and raises a clear error otherwise.
Money keeps at least its currency's minor unit in JSON (`"10.50"` USD, `"1050"` JPY).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crossdock.model.iso_codes import minor_units
from crossdock.model.scalars import (
    CanonicalId,
    Code,
    CountryCode,
    CurrencyCode,
    ExactDecimal,
    SystemName,
    Text,
    Timestamp,
    UomCode,
    decimal_text,
    gs1_check_digit_ok,
)


class CurrencyMismatchError(ValueError):
    """Money in two currencies was combined; convert one amount first."""


class UomMismatchError(ValueError):
    """Quantities in two units of measure were combined; convert one first (see `Item.convert`)."""


class CanonicalModel(BaseModel):
    """Base of every canonical object: unknown fields are errors, and a validated object never changes."""

    # extra="forbid": a mapping that emits a field the model does not know has a bug; failing names the field
    # instead of dropping data silently. frozen: an object is a validated snapshot that travels in events; editing
    # it in place would skip the cross-field checks (currencies, totals), so changes go through `revised()`.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    def revised(self, **changes: Any) -> Self:
        """A copy with `changes` applied and every validator run again (unlike `model_copy(update=...)`)."""
        return self.model_validate({**self.model_dump(), **changes})


class ExternalRef(CanonicalModel):
    """The id an object has in one connected system."""

    system: SystemName
    local_id: Text
    """The id in that system's own terms (a Tryton id, a Salesforce 18-character id, an EDI partner's number)."""


class Entity(CanonicalModel):
    """A business object with a canonical id: the subject of its events and the key of its cross-references."""

    id: CanonicalId
    """Crossdock's id for the object; other objects refer to it by this id."""
    external_refs: list[ExternalRef] = Field(default_factory=list)
    updated_at: Timestamp | None = None
    """When the object last changed in its system of record."""

    @field_validator("external_refs")
    @classmethod
    def check_external_refs(cls, refs: list[ExternalRef]) -> list[ExternalRef]:
        """Each (system, local id) pair appears once."""
        seen: set[tuple[str, str]] = set()
        for ref in refs:
            key = (ref.system, ref.local_id)
            if key in seen:
                raise ValueError(f"external_refs names {ref.system}:{ref.local_id} twice; keep one")
            seen.add(key)
        return refs

    def ref(self, system: str) -> str | None:
        """The object's id in `system`, or None if it has none there."""
        return next((r.local_id for r in self.external_refs if r.system == system), None)


class IdentifierScheme(StrEnum):
    """Kinds of legal and trade identifiers a party carries."""

    TAX_ID = "tax_id"
    """A national tax number with no more specific scheme below."""
    VAT = "vat"
    """An EU-style VAT number with its country prefix (DE123456789)."""
    EIN = "ein"
    """A US Employer Identification Number."""
    DUNS = "duns"
    """A Dun & Bradstreet D-U-N-S number; EDI partners often identify themselves by it."""
    GLN = "gln"
    """A GS1 Global Location Number."""
    LEI = "lei"
    """An ISO 17442 Legal Entity Identifier."""
    COMPANY_REGISTRATION = "company_registration"
    """A trade-register number."""


_IDENTIFIER_FORMATS: dict[IdentifierScheme, tuple[str, str]] = {
    IdentifierScheme.VAT: (r"[A-Z]{2}[0-9A-Z+*.]{2,13}", "a country prefix and 2 to 13 letters or digits"),
    IdentifierScheme.EIN: (r"[0-9]{2}-[0-9]{7}", "9 digits written NN-NNNNNNN"),
    IdentifierScheme.DUNS: (r"[0-9]{9}", "9 digits"),
    IdentifierScheme.LEI: (r"[A-Z0-9]{18}[0-9]{2}", "20 letters and digits"),
}


def _lei_checksum_ok(lei: str) -> bool:
    return int("".join(str(int(c, 36)) for c in lei)) % 97 == 1


class Identifier(CanonicalModel):
    """A legal or trade identifier: a tax id, VAT number, D-U-N-S, GLN or LEI."""

    scheme: IdentifierScheme
    value: Code
    """Upper-cased, with spaces, dots and dashes dropped, for schemes with a fixed layout (VAT, DUNS, GLN, LEI)."""
    country: CountryCode | None = None
    """The issuing country, for national tax and registration numbers."""

    @field_validator("value")
    @classmethod
    def check_format(cls, value: str, info: ValidationInfo) -> str:
        """The value fits its scheme, in one spelling; messages name the scheme and the expected layout."""
        scheme = info.data.get("scheme")
        if scheme is None or scheme in (IdentifierScheme.TAX_ID, IdentifierScheme.COMPANY_REGISTRATION):
            return value
        normal = re.sub(r"[\s.\-]", "", value.upper()) if scheme != IdentifierScheme.VAT else value.upper()
        normal = normal.replace(" ", "")
        if scheme == IdentifierScheme.GLN:
            if not (len(normal) == 13 and gs1_check_digit_ok(normal)):
                raise ValueError(f"GLN {value!r} must be 13 digits ending in a valid GS1 check digit")
            return normal
        if scheme == IdentifierScheme.EIN:
            normal = f"{normal[:2]}-{normal[2:]}"
        pattern, layout = _IDENTIFIER_FORMATS[scheme]
        if not re.fullmatch(pattern, normal):
            raise ValueError(f"{scheme.value} identifier {value!r} must be {layout}")
        if scheme == IdentifierScheme.LEI and not _lei_checksum_ok(normal):
            raise ValueError(f"LEI {value!r} has wrong check digits; check the last two")
        return normal


def _exact_factor(factor: object) -> Decimal:
    if isinstance(factor, bool) or not isinstance(factor, Decimal | int):
        raise TypeError(f"multiply by a Decimal or an int, not {type(factor).__name__}")
    return Decimal(factor)


class Money(CanonicalModel):
    """An exact amount in one ISO 4217 currency; arithmetic only combines amounts of the same currency."""

    currency: CurrencyCode
    amount: ExactDecimal
    """Shown with at least the currency's minor unit (`"10.50"` USD, `"1050"` JPY); unit prices may have more."""

    @field_validator("amount")
    @classmethod
    def pad_to_minor_unit(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        """Give the amount at least its currency's decimal places, so one value has one spelling."""
        currency = info.data.get("currency")
        if currency is None:
            return amount
        places = minor_units(currency)
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent < places:
            return amount.quantize(Decimal(1).scaleb(-places))
        return amount

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """`Money.of("19.99", "USD")`."""
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in `currency`."""
        return cls.of(0, currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of `amounts`, which must all be in `currency`; zero if there are none."""
        result = cls.zero(currency)
        for amount in amounts:
            result = result + amount
        return result

    @property
    def minor_units(self) -> int:
        """Decimal places of the currency's minor unit (2 for USD)."""
        return minor_units(self.currency)

    def rounded(self) -> Money:
        """Rounded half-up to the currency's minor unit, as an invoice line or total is."""
        step = Decimal(1).scaleb(-self.minor_units)
        return Money.of(self.amount.quantize(step, rounding=ROUND_HALF_UP), self.currency)

    def is_zero(self) -> bool:
        """True for an amount of zero."""
        return self.amount.is_zero()

    def _check_currency(self, other: object, verb: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {verb} {type(other).__name__} and Money; wrap the amount in Money first")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {verb} {other} and {self}: the currencies differ; convert one amount first"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money.of(self.amount + self._check_currency(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money.of(self.amount - self._check_currency(other, "subtract").amount, self.currency)

    def __neg__(self) -> Money:
        return Money.of(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money.of(self.amount * _exact_factor(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._check_currency(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._check_currency(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._check_currency(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._check_currency(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.currency} {decimal_text(self.amount)}"


class UnitOfMeasure(StrEnum):
    """Well-known UOM codes (X12 spelling); any other code is allowed where a `UomCode` is asked for."""

    EACH = "EA"
    CASE = "CS"
    PALLET = "PL"
    BOX = "BX"
    PACK = "PK"
    CARTON = "CT"
    DOZEN = "DZ"
    BAG = "BG"
    ROLL = "RL"
    DRUM = "DR"
    KILOGRAM = "KG"
    POUND = "LB"
    GRAM = "GR"
    OUNCE = "OZ"
    LITRE = "LT"
    GALLON = "GA"
    METRE = "MR"
    FOOT = "FT"


class Quantity(CanonicalModel):
    """An exact amount of goods in one unit of measure."""

    value: ExactDecimal
    uom: UomCode

    @classmethod
    def of(cls, value: Decimal | int | str, uom: str) -> Quantity:
        """`Quantity.of(12, "CS")`."""
        return cls(value=value, uom=uom)

    @classmethod
    def zero(cls, uom: str) -> Quantity:
        """None of it, in `uom`."""
        return cls.of(0, uom)

    def is_zero(self) -> bool:
        """True for a quantity of zero."""
        return self.value.is_zero()

    def _check_uom(self, other: object, verb: str) -> Quantity:
        if not isinstance(other, Quantity):
            raise TypeError(f"cannot {verb} {type(other).__name__} and Quantity; wrap the number in Quantity first")
        if other.uom != self.uom:
            raise UomMismatchError(
                f"cannot {verb} {other} and {self}: the units differ; convert one with Item.convert() first"
            )
        return other

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity.of(self.value + self._check_uom(other, "add").value, self.uom)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity.of(self.value - self._check_uom(other, "subtract").value, self.uom)

    def __neg__(self) -> Quantity:
        return Quantity.of(-self.value, self.uom)

    def __mul__(self, factor: Decimal | int) -> Quantity:
        return Quantity.of(self.value * _exact_factor(factor), self.uom)

    __rmul__ = __mul__

    def __lt__(self, other: Quantity) -> bool:
        return self.value < self._check_uom(other, "compare").value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= self._check_uom(other, "compare").value

    def __gt__(self, other: Quantity) -> bool:
        return self.value > self._check_uom(other, "compare").value

    def __ge__(self, other: Quantity) -> bool:
        return self.value >= self._check_uom(other, "compare").value

    def __str__(self) -> str:
        return f"{decimal_text(self.value)} {self.uom}"


class Sourcing(StrEnum):
    """Where goods come from: our own stock, or shipped by the supplier straight to the customer."""

    STOCKED = "stocked"
    DROP_SHIP = "drop_ship"
