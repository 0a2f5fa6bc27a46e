"""Unit-of-measure conversion for quantities: `value * factor(from_unit) / factor(to_unit)`.

Factors count base units per unit (EA: 1, DZ: 12, CS: the pack size). A factor is a number declared in the spec or
read from a field of the same record (a case's pack size); either unit is a constant code or read from a field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crossdock.mapping.errors import DataError
from crossdock.mapping.paths import FieldPath, get_path
from crossdock.mapping.transforms import describe, to_decimal


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit given as a constant code or read from a field path."""

    code: str | None = None
    path: FieldPath | None = None

    def resolve(self, record: dict[str, Any]) -> str:
        """The unit code for this record."""
        if self.code is not None:
            return self.code
        assert self.path is not None  # the spec loader sets exactly one of code and path
        found = get_path(record, self.path)
        if found is None or (isinstance(found, str) and not found.strip()):
            raise DataError(f"the record has no unit of measure at {self.path.text!r}")
        if not isinstance(found, str):
            raise DataError(f"the unit of measure at {self.path.text!r} must be text, got {describe(found)}")
        return found.strip()


@dataclass(frozen=True, slots=True)
class UomConversion:
    """A declared `uom:` conversion of one quantity field."""

    from_unit: UnitRef
    to_unit: UnitRef
    factors: Mapping[str, Decimal | FieldPath]

    def function(self) -> Callable[[Any, dict[str, Any]], Decimal | None]:
        """The callable `(quantity, record) -> converted quantity`."""
        return self.convert

    def convert(self, quantity: Any, record: dict[str, Any]) -> Decimal | None:
        """Convert a quantity read from `record` into the target unit."""
        amount = to_decimal(quantity)
        if amount is None:
            return None
        source_unit = self.from_unit.resolve(record)
        target_unit = self.to_unit.resolve(record)
        if source_unit == target_unit:
            return amount
        try:
            return amount * self._factor(source_unit, record) / self._factor(target_unit, record)
        except InvalidOperation:
            raise DataError(f"cannot convert {describe(quantity)} {source_unit} to {target_unit}") from None

    def _factor(self, unit: str, record: dict[str, Any]) -> Decimal:
        declared = self.factors.get(unit)
        if declared is None:
            known = ", ".join(sorted(self.factors))
            raise DataError(f"unknown unit of measure {unit!r}; declare its factor under `factors:` ({known})")
        if isinstance(declared, Decimal):
            return declared
        factor = to_decimal(get_path(record, declared))
        if factor is None or factor <= 0:
            raise DataError(f"the factor for {unit} at {declared.text!r} must be a positive number")
        return factor
