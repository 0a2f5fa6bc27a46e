"""Field values: reading request JSON as Salesforce's deserializer does, and writing dates the way it does.

Stored values are JSON-ready: strings for text, ids (always 18 characters), dates (`2026-11-22`) and datetimes
(`2026-11-22T10:00:00.000+0000`, always UTC, so they sort as text); floats or ints for numbers; booleans.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from crossdock.sandbox.salesforce.errors import SalesforceError, json_parser_error
from crossdock.sandbox.salesforce.schema import STRING_TYPES, FieldSpec

_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def sf_datetime(moment: datetime) -> str:
    """A timestamp as the REST API writes it: `2026-11-22T10:00:00.000+0000`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def cdc_datetime(value: str) -> str:
    """A stored timestamp as change events carry it (ISO 8601 with `Z`)."""
    return value[:-5] + "Z" if value.endswith("+0000") else value


def parse_datetime(text: str, *, require_zone: bool = False) -> datetime | None:
    """A datetime from ISO 8601 (`Z`, `+01:00` or `+0100`, optional fraction); naive means UTC unless refused."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    zone = match["zone"]
    if zone is None and require_zone:
        return None
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}").replace(microsecond=int(fraction))
    except ValueError:
        return None
    if zone is None or zone == "Z":
        return moment.replace(tzinfo=UTC)
    digits = zone.replace(":", "")
    offset = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
    return moment.replace(tzinfo=timezone(-offset if digits[0] == "-" else offset))


def parse_date(text: str) -> date | None:
    """A date from `YYYY-MM-DD`."""
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def _refuse(spec: FieldSpec, value: Any) -> SalesforceError:
    kind = {"datetime": "datetime", "currency": "currency", "double": "double", "int": "int"}.get(spec.type, spec.type)
    return json_parser_error(
        f"Cannot deserialize instance of {kind} from {_token(value)} value {value} or request may be missing a "
        f"required field"
    )


def _text(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _boolean(spec: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _refuse(spec, value)


def _date(spec: FieldSpec, value: Any) -> str:
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise _refuse(spec, value)
    return parsed.isoformat()


def _datetime(spec: FieldSpec, value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise _refuse(spec, value)
    return sf_datetime(moment)


def coerce(spec: FieldSpec, value: Any) -> Any:
    """The stored form of a JSON value written to `spec`; raises JSON_PARSER_ERROR like Salesforce's reader."""
    if value is None:
        return False if spec.type == "boolean" else None
    if isinstance(value, dict | list):
        raise _refuse(spec, value)
    if spec.type in STRING_TYPES:
        return _text(spec, value)
    reader = _READERS.get(spec.type)
    return reader(spec, value) if reader is not None else value


def _number(spec: FieldSpec, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _refuse(spec, value)
    number: float
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value))
        except ValueError:
            raise _refuse(spec, value) from None
    if spec.type == "int":
        return int(number)
    # Currency fields keep two decimals, as the org's field definitions (scale 2) do.
    return round(number, 2) if spec.type == "currency" else number


_READERS: dict[str, Callable[[FieldSpec, Any], Any]] = {
    "boolean": _boolean,
    "double": _number,
    "currency": _number,
    "percent": _number,
    "int": _number,
    "date": _date,
    "datetime": _datetime,
}
