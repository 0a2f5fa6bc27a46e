"""Numeric bounds as exact fractions: the tightest lower or upper bound a schema sets, normalised for integers,
and whether one bound keeps every value inside another."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from crossdock.events.compat.messages import _Text


@dataclass(frozen=True, slots=True)
class _Bound:
    value: Fraction
    exclusive: bool

    def text(self, lower: bool) -> _Text:
        op = (">" if self.exclusive else ">=") if lower else ("<" if self.exclusive else "<=")
        number = str(self.value.numerator) if self.value.denominator == 1 else str(float(self.value))
        return _Text(f"{op} {number}")


def _bound(schema: Mapping[str, Any], *, lower: bool, integer: bool) -> _Bound | None:
    inclusive_key, exclusive_key = ("minimum", "exclusiveMinimum") if lower else ("maximum", "exclusiveMaximum")
    candidates: Iterator[_Bound] = (
        _Bound(Fraction(str(schema[key])), key == exclusive_key)
        for key in (inclusive_key, exclusive_key)
        if isinstance(schema.get(key), (int, float)) and not isinstance(schema.get(key), bool)
    )
    bounds = list(candidates)
    if integer:
        # For integers `> 0` and `>= 1` are one bound; normalise so swapping one for the other is no change.
        bounds = [_integer_bound(bound, lower=lower) for bound in bounds]
    if not bounds:
        return None
    # The tightest bound wins: largest lower, smallest upper (exclusive beats inclusive on a tie).
    if lower:
        return max(bounds, key=lambda b: (b.value, b.exclusive))
    return min(bounds, key=lambda b: (b.value, not b.exclusive))


def _integer_bound(bound: _Bound, *, lower: bool) -> _Bound:
    if lower:
        value = math.floor(bound.value) + 1 if bound.exclusive else math.ceil(bound.value)
    else:
        value = math.ceil(bound.value) - 1 if bound.exclusive else math.floor(bound.value)
    return _Bound(Fraction(value), exclusive=False)


def _within(writer: _Bound, reader: _Bound, lower: bool) -> bool:
    """Whether the writer's bound keeps every value inside the reader's bound."""
    if writer.value != reader.value:
        return writer.value > reader.value if lower else writer.value < reader.value
    return writer.exclusive or not reader.exclusive
