"""Weights and dimensions of units, packs and packages, with exact conversions between units."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from crossdock.model.common import CanonicalModel
from crossdock.model.scalars import PositiveDecimal


class WeightUnit(StrEnum):
    """Units a weight is stated in."""

    KG = "KG"
    G = "G"
    LB = "LB"
    OZ = "OZ"


class LengthUnit(StrEnum):
    """Units a dimension is stated in."""

    MM = "MM"
    CM = "CM"
    M = "M"
    IN = "IN"
    FT = "FT"


# Exact by definition (international pound and inch), so conversions never drift.
_KG_PER: dict[WeightUnit, Decimal] = {
    WeightUnit.KG: Decimal(1),
    WeightUnit.G: Decimal("0.001"),
    WeightUnit.LB: Decimal("0.45359237"),
    WeightUnit.OZ: Decimal("0.028349523125"),
}
_M_PER: dict[LengthUnit, Decimal] = {
    LengthUnit.MM: Decimal("0.001"),
    LengthUnit.CM: Decimal("0.01"),
    LengthUnit.M: Decimal(1),
    LengthUnit.IN: Decimal("0.0254"),
    LengthUnit.FT: Decimal("0.3048"),
}


class Weight(CanonicalModel):
    """A weight greater than zero (gross unless the field says otherwise)."""

    value: PositiveDecimal
    unit: WeightUnit

    def to(self, unit: WeightUnit | str) -> Weight:
        """The same weight in another unit (`"KG"`, `WeightUnit.LB`)."""
        target = WeightUnit(unit)
        return Weight(value=self.value * _KG_PER[self.unit] / _KG_PER[target], unit=target)

    def __add__(self, other: Weight) -> Weight:
        return Weight(value=self.value + other.to(self.unit).value, unit=self.unit)


class Dimensions(CanonicalModel):
    """Length, width and height of a unit, pack or package."""

    length: PositiveDecimal
    width: PositiveDecimal
    height: PositiveDecimal
    unit: LengthUnit

    def volume_m3(self) -> Decimal:
        """The volume in cubic metres."""
        factor = _M_PER[self.unit]
        return self.length * self.width * self.height * factor**3
