"""Finding changed records: polling by SystemModstamp with an overlap (plus the `deleted` endpoint), or CDC events.

Polling reads `WHERE SystemModstamp >= :low ORDER BY SystemModstamp, Id`. A transaction can commit after a later
one was read, so each poll that has caught up looks again from `low`, which trails the org's clock by `overlap_s`;
the records already emitted there are remembered as (Id, SystemModstamp) in the cursor and skipped. While a backlog
is being read (a poll stopped at `limit`), the next poll continues from the newest record emitted instead, so a large
initial load is read once, not once per page; the sweep from `low` follows when it has caught up.

The cursor is JSON the core stores; everything in it is taken from the org (record timestamps and the `Date`
header), never from Crossdock's clock.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from crossdock.connectors.salesforce.client import SalesforceClient, parse_datetime, soql_datetime
from crossdock.connectors.salesforce.config import CaptureSettings
from crossdock.ports.connector import ChangeBatch, SourceRecord

_CURSOR_VERSION = 1
_REPLICATION_HISTORY = timedelta(days=29)  # the `deleted` endpoint answers for the last 30 days at most


@dataclass(slots=True)
class PollCursor:
    """Where polling stands: the sweep's start, the newest record emitted, and what was emitted since `low`."""

    low: datetime | None = None
    """Every record with SystemModstamp before this has been read for good (None: nothing read yet)."""
    position: datetime | None = None
    """SystemModstamp of the newest record emitted."""
    sweep: bool = True
    """True when the next poll sweeps from `low`; False while a backlog is read on from `position`."""
    seen: dict[str, str] = field(default_factory=dict)
    """Id → SystemModstamp of records emitted at or after `low`."""
    tie: list[str] = field(default_factory=list)
    """Ids emitted with exactly the position's SystemModstamp (one transaction's records share it)."""
    deleted_until: datetime | None = None
    """The `deleted` endpoint has been read up to here."""

    @classmethod
    def loads(cls, text: str | None) -> PollCursor:
        """Parse a stored cursor; None (or an empty text) is the start of time."""
        if not text:
            return cls()
        try:
            data = orjson.loads(text)
            if data.get("v") != _CURSOR_VERSION:
                raise ValueError(f"version {data.get('v')!r}")
            return cls(
                low=_maybe_time(data.get("low")),
                position=_maybe_time(data.get("pos")),
                sweep=bool(data.get("sweep", True)),
                seen={record_id: stamp for stamp, ids in (data.get("seen") or {}).items() for record_id in ids},
                deleted_until=_maybe_time(data.get("deleted")),
                tie=list(data.get("tie") or []),
            )
        except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"the Salesforce poll cursor {text[:60]!r} cannot be read ({exc}); reset the flow's cursor to read "
                f"everything again"
            ) from None

    def dumps(self) -> str:
        """The cursor as compact JSON (remembered ids grouped by SystemModstamp: a burst shares a few stamps)."""
        by_stamp: dict[str, list[str]] = {}
        for record_id, stamp in self.seen.items():
            by_stamp.setdefault(stamp, []).append(record_id)
        return orjson.dumps(
            {
                "v": _CURSOR_VERSION,
                "low": _time_text(self.low),
                "pos": _time_text(self.position),
                "sweep": self.sweep,
                "seen": by_stamp,
                "deleted": _time_text(self.deleted_until),
                "tie": self.tie,
            }
        ).decode()


class PollCapture:
    """Reads one sObject's changes by SystemModstamp, and its deletes from the `deleted` endpoint."""

    def __init__(self, client: SalesforceClient, settings: CaptureSettings) -> None:
        self._client = client
        self._settings = settings

    async def read(
        self,
        sobject: str,
        fields: list[str],
        cursor: str | None,
        limit: int,
        *,
        condition: str | None = None,
        deletes: bool = True,
    ) -> ChangeBatch:
        """Changes after the cursor, oldest first, at most `limit` upserted records (deletes come on top).

        `condition` (SOQL) narrows the records read, such as `Status = 'Activated'`; `deletes=False` leaves the
        `deleted` endpoint alone (its ids cannot be narrowed).
        """
        state = PollCursor.loads(cursor)
        sweeping = state.sweep or state.position is None
        low = state.low if sweeping else state.position
        # SOQL datetime literals are whole seconds: the records of that second before `low` come again and are
        # skipped here, as remembered (a sweep) or as at or before the position (a backlog read).
        since = _floor_second(low) if low is not None else None
        where = _where(condition, since)
        order = " ORDER BY SystemModstamp, Id"
        if sweeping:
            # Each remembered record is at most one row to skip, so this many rows always hold `limit` new ones.
            skippable = sum(1 for stamp in state.seen.values() if since is None or parse_datetime(stamp) >= since)
            order += f" LIMIT {limit + skippable}"
            row_limit: int | None = limit + skippable
        else:
            row_limit = None  # how many rows precede the position in its second is unknown: page until enough
        # SOQL, not SQL: the object and fields come from the settings and specs, the time from soql_datetime.
        soql = f"SELECT {', '.join(fields)} FROM {sobject}{where}{order}"  # noqa: S608
        records: list[SourceRecord] = []
        rows = 0
        stopped = False
        server_time: datetime | None = None
        position, tie = state.position, set(state.tie)
        async with aclosing(self._client.query_pages(soql, batch_size=self._settings.page_size)) as pages:
            async for page in pages:
                server_time = server_time or self._client.server_time  # the query's snapshot began here
                for row in page:
                    rows += 1
                    record_id, stamp = str(row["Id"]), str(row["SystemModstamp"])
                    moment = parse_datetime(stamp)
                    if state.seen.get(record_id) == stamp or (
                        not sweeping and _before(moment, record_id, position, tie)
                    ):
                        continue  # read before (or, in a backlog read, a late commit the next sweep picks up)
                    state.seen[record_id] = stamp
                    if state.position is None or moment > state.position:
                        state.position, state.tie = moment, [record_id]
                    elif moment == state.position:
                        state.tie.append(record_id)
                    records.append(SourceRecord(local_id=record_id, payload=row, changed_at=stamp))
                    if len(records) >= limit:
                        stopped = True
                        break
                if stopped:
                    break
        complete = not stopped and (row_limit is None or rows < row_limit)
        if state.deleted_until is None:
            state.deleted_until = server_time  # deletes before the first read are not changes Crossdock missed
        if complete and sweeping:
            state.low = self._next_low(state, server_time)
            if deletes:
                records.extend(await self._deletes(sobject, state, server_time))
        state.sweep = complete
        self._forget(state)
        return ChangeBatch(records=records, next_cursor=state.dumps(), more=not complete)

    def _next_low(self, state: PollCursor, server_time: datetime | None) -> datetime | None:
        overlap = timedelta(seconds=self._settings.overlap_s)
        # Without the org's clock, trail the newest record instead: slower to settle, never too far ahead.
        horizon = server_time if server_time is not None else state.position
        if horizon is None:
            return state.low
        candidate = horizon - overlap
        return candidate if state.low is None else max(state.low, candidate)

    def _forget(self, state: PollCursor) -> None:
        """Drop remembered records the next sweep cannot return, and the oldest beyond `max_seen`."""
        excess = len(state.seen) - self._settings.max_seen
        if excess > 0:
            # A burst larger than the memory: give up looking for late commits among its oldest records (the
            # nightly reconciliation catches those) rather than let the cursor grow without bound.
            ordered = sorted(state.seen.items(), key=lambda item: (parse_datetime(item[1]), item[0]))
            raised = _floor_second(parse_datetime(ordered[excess - 1][1])) + timedelta(seconds=1)
            state.low = raised if state.low is None else max(state.low, raised)
        if state.low is not None:
            since = _floor_second(state.low)
            state.seen = {key: stamp for key, stamp in state.seen.items() if parse_datetime(stamp) >= since}

    async def _deletes(self, sobject: str, state: PollCursor, server_time: datetime | None) -> list[SourceRecord]:
        start = state.deleted_until
        if server_time is None or start is None:
            return []
        if (server_time - start).total_seconds() < self._settings.deleted_interval_s:
            return []
        start = max(start, server_time - _REPLICATION_HISTORY)
        window = await self._client.deleted(sobject, start, server_time)
        state.deleted_until = parse_datetime(window.latest_covered) if window.latest_covered else server_time
        return [
            SourceRecord(
                local_id=record_id,
                payload={"attributes": {"type": sobject}, "Id": record_id, "IsDeleted": True, "deletedDate": when},
                changed_at=when or None,
                deleted=True,
            )
            for record_id, when in window.records
        ]


def soql_fields(fields: list[str]) -> list[str]:
    """Id and SystemModstamp first (capture needs them), then each other field once, in order."""
    out = ["Id", "SystemModstamp"]
    for name in fields:
        if name not in out:
            out.append(name)
    return out


def soql_string(value: str) -> str:
    """A SOQL string literal, quoted and escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _where(condition: str | None, since: datetime | None) -> str:
    """` WHERE (condition) AND SystemModstamp >= since`, with the parts that are given, or nothing."""
    terms = [f"({condition})"] if condition else []
    if since is not None:
        terms.append(f"SystemModstamp >= {soql_datetime(since)}")
    return f" WHERE {' AND '.join(terms)}" if terms else ""


def _before(moment: datetime, record_id: str, position: datetime | None, tie: set[str]) -> bool:
    """True for a row at or before the position a backlog read continues from."""
    if position is None:
        return False
    return moment < position or (moment == position and record_id in tie)


def _floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _maybe_time(text: Any) -> datetime | None:
    return parse_datetime(str(text)) if text else None


def _time_text(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment is not None else None
