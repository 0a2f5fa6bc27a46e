"""Value transforms (trim, upper, join, split, match, ...) and type coercions (decimal, int, bool, date, ...).

Every function takes the value already read for a field and returns the new one; None passes through untouched, so
a missing source value stays missing until `default`/`required` look at it. A value a function cannot handle raises
DataError with a message for the user.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from crossdock.mapping.errors import DataError
from crossdock.model.addresses import e164

Fn = Callable[[Any], Any]

# Names of transforms that take no argument; the compiler inlines the str methods among them.
SIMPLE_TRANSFORMS = {"trim": "strip", "upper": "upper", "lower": "lower"}
# e164: an international phone number in E.164 (`model.addresses.e164`): one number, however a system formats it.
PLAIN_TRANSFORMS = (*SIMPLE_TRANSFORMS, "upper_first", "e164")
ARG_TRANSFORMS = ("join", "split", "match", "prefix", "suffix", "strip_prefix")
TYPES = ("str", "int", "float", "decimal", "bool", "date", "datetime")

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.0+)?(?:Z|[+-]00:?00)?")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def describe(value: Any) -> str:
    """A short, safe rendering of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class Transform:
    """One declared transform: its name, text argument, and for `split` an optional part index and max splits.

    For `match` the argument is the pattern and `index` the group to keep (0: the whole match).
    """

    name: str
    arg: str = ""
    index: int | None = None
    maxsplit: int = -1

    def function(self) -> Fn:
        """The callable that applies this transform."""
        if self.name in SIMPLE_TRANSFORMS:
            return _str_method(self.name, SIMPLE_TRANSFORMS[self.name])
        if self.name == "join":
            return _join(self.arg)
        if self.name == "split":
            return _split(self.arg, self.maxsplit, self.index)
        if self.name == "match":
            return _match(re.compile(self.arg), self.index or 0)
        return _text_fn(self.name, self._text_body())

    def _text_body(self) -> Callable[[str], str]:
        arg = self.arg
        bodies: dict[str, Callable[[str], str]] = {
            "upper_first": lambda text: text[:1].upper() + text[1:],
            "e164": e164,
            "prefix": lambda text: arg + text,
            "suffix": lambda text: text + arg,
            "strip_prefix": lambda text: text.removeprefix(arg),
        }
        return bodies[self.name]


def _str_method(name: str, method: str) -> Fn:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"{name} needs text, got {describe(value)}")
        return getattr(value, method)()

    return apply


def _text_fn(name: str, body: Callable[[str], str]) -> Fn:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"{name} needs text, got {describe(value)}")
        return body(value)

    return apply


def _join(separator: str) -> Fn:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise DataError(f"join needs a list (give `from:` a list of paths), got {describe(value)}")
        parts: list[str] = []
        for part in value:
            if part.__class__ is str:
                if part:
                    parts.append(part)
            elif part is not None:
                if isinstance(part, (dict, list)):
                    raise DataError(f"join can only join text and numbers, got {describe(part)}")
                parts.append(_scalar_text(part))
        return separator.join(parts)

    return apply


def _split(separator: str, maxsplit: int, index: int | None) -> Fn:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"split needs text, got {describe(value)}")
        parts = value.split(separator, maxsplit)
        if index is None:
            return parts
        return parts[index] if -len(parts) <= index < len(parts) else None

    return apply


def _match(pattern: re.Pattern[str], group: int) -> Fn:
    search = pattern.search

    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise DataError(f"match needs text, got {describe(value)}")
        found = search(value)
        return None if found is None else found.group(group)

    return apply


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"{describe(value)} is not a finite number")
        return str(Decimal(repr(value)))
    return str(value)


@dataclass(frozen=True, slots=True)
class Coercion:
    """A declared `type:` with its options: input `format` and `output_format` for dates, `places` for numbers."""

    type: str
    format: str | None = None
    output_format: str | None = None
    places: int | None = None

    def function(self) -> Fn:
        """The callable that coerces a value to this type."""
        simple: dict[str, Fn] = {"str": to_str, "int": to_int, "float": to_float, "bool": to_bool}
        if self.type in simple:
            return simple[self.type]
        if self.type == "decimal":
            return _to_decimal_text(self.places)
        if self.type == "date":
            return _to_date_text(self.format, self.output_format)
        return _to_datetime_text(self.format, self.output_format)


def to_str(value: Any) -> Any:
    """Text as is; numbers and booleans as their canonical text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        raise DataError(f"expected text, got {describe(value)}")
    return _scalar_text(value)


def to_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a number or numeric text; blank text is None."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise DataError(f"{describe(value)} is not a number") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"expected a number, got {describe(value)}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"{describe(value)} is not a finite number")
        result = Decimal(repr(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise DataError(f"{describe(value)} is not a finite number")
    return result


def _to_decimal_text(places: int | None) -> Fn:
    exponent = Decimal(1).scaleb(-places) if places is not None else None

    def apply(value: Any) -> Any:
        # Fast paths for JSON numbers give the same text as the Decimal route below.
        if value.__class__ is int:
            return str(value) if not places else f"{value}.{'0' * places}"
        if value.__class__ is float and places is None:
            text = repr(value)
            if "e" not in text and "n" not in text:
                return text
        number = to_decimal(value)
        if number is None:
            return None
        if exponent is not None:
            try:
                number = number.quantize(exponent, rounding=ROUND_HALF_UP)
            except InvalidOperation:
                raise DataError(f"{describe(value)} is too large to round to {places} places") from None
        return str(number)

    return apply


def to_int(value: Any) -> Any:
    """An int from an int, an integral number or integral numeric text."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    number = to_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise DataError(f"{describe(value)} is not a whole number")
    if abs(number.adjusted()) > 30:
        raise DataError(f"{describe(value)} is too large for a whole number")
    return int(number)


def to_float(value: Any) -> Any:
    """A float from a number or numeric text (for targets whose API wants JSON numbers)."""
    if value is None or (isinstance(value, float) and math.isfinite(value)):
        return value
    number = to_decimal(value)
    if number is None:
        return None
    result = float(number)
    if not math.isfinite(result):
        raise DataError(f"{describe(value)} is too large for a float")
    return result


def to_bool(value: Any) -> Any:
    """A bool from a bool, 0/1, or text such as true/false, yes/no, y/n, 1/0."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise DataError(f"{describe(value)} is not a boolean (use true/false, yes/no, 1/0)")


def _parse_datetime(value: str, fmt: str | None) -> datetime:
    try:
        return datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)  # noqa: DTZ007 - naive means UTC here
    except ValueError:
        expected = f"the format {fmt!r}" if fmt else "ISO 8601 (2026-11-22 or 2026-11-22T10:00:00Z)"
        raise DataError(f"{describe(value)} is not a date in {expected}") from None


def _date_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"expected {what} as text, got {describe(value)}")
    return value.strip() or None


def _to_date_text(fmt: str | None, output_format: str | None) -> Fn:
    def apply(value: Any) -> Any:
        text = _date_text(value, "a date")
        if text is None:
            return None
        day: date = _parse_datetime(text, fmt).date()
        if output_format:
            return day.strftime(output_format)
        return text if fmt is None and _ISO_DATE.fullmatch(text) else day.isoformat()

    return apply


def _to_datetime_text(fmt: str | None, output_format: str | None) -> Fn:
    iso_out = fmt is None and output_format is None

    def apply(value: Any) -> Any:
        if value.__class__ is str and iso_out and _ISO_UTC_SECONDS.fullmatch(value):
            # Already UTC to the second (Salesforce sends `.000+0000`): the canonical text is a prefix of it,
            # once fromisoformat has checked that the date exists.
            try:
                datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value[:19] + "Z"
        text = _date_text(value, "a date and time")
        if text is None:
            return None
        moment = _parse_datetime(text, fmt)
        # Systems that send naive times (Tryton) send UTC; canonical times are always UTC.
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        elif moment.utcoffset():
            try:
                moment = moment.astimezone(UTC)
            except OverflowError:
                raise DataError(f"{describe(value)} is out of the supported date range") from None
        if output_format:
            return moment.strftime(output_format)
        return moment.isoformat()[:-6] + "Z"

    return apply
