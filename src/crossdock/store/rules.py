"""Record rules every store adapter applies the same way, so memory and SQL agree to the letter."""

from __future__ import annotations

from datetime import UTC, datetime

from crossdock.ports.store import ExceptionStatus

# Statuses that still wait for someone; the console's counters show only these.
PENDING = (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value is refused, because its zone would be a guess."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one, e.g. datetime.now(UTC)")
    return value.astimezone(UTC)


def stamp(value: datetime | None, default: datetime) -> datetime:
    """A record's timestamp: the caller's, in UTC, or `default` when none was given."""
    return default if value is None else as_utc(value)


def history_entry(
    at: datetime, status: ExceptionStatus, assignee: str | None, note: str | None
) -> dict[str, str | None]:
    """One line of a business exception's `details["history"]`."""
    entry: dict[str, str | None] = {"at": at.isoformat(), "status": status.value, "assignee": assignee}
    if note is not None:
        entry["note"] = note
    return entry
