"""Change capture from Tryton: a keyset cursor over (`last_modified_at`, id) per model, with an overlap window.

Tryton has no change feed, only each row's `last_modified_at` (naive UTC from the server clock, the same for every row
a transaction touched). A resource watches several models (a party, its addresses, its contact mechanisms); each is
a *stream* whose rows name the root record they belong to. Per stream the cursor keeps the last (timestamp, id)
read, so a page boundary inside one transaction's rows neither repeats nor skips them.

A transaction that commits late can carry a timestamp older than rows already read. So each poll also looks back
`overlap_s` behind the position and emits rows not seen before; the (id, timestamp) pairs read within that window
are kept in the cursor to tell them apart. Every timestamp comes from the data, never from our clock. The cursor is
a JSON string the core stores once the changes are logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from crossdock.connectors.tryton.client import TrytonClient

CURSOR_VERSION = 1
# The look-back reads at most this many pages of rows: a window holding more changes than that is a bulk load,
# whose rows the forward scan has already delivered in order.
_LOOK_BACK_PAGES = 10
_ORDER = (("last_modified_at", "ASC"), ("id", "ASC"))
_ALL = {"active_test": False}  # deactivated records are changes too


@dataclass(frozen=True, slots=True)
class Stream:
    """A model whose changed rows mark root records changed: the root itself (`root=None`) or its children."""

    model: str
    root: str | None = None
    """The field naming the row's root record: a many2one (`party`) or a one2many (`products`)."""


@dataclass(slots=True)
class Position:
    """Where one stream's scan stands, and the rows read in the overlap window behind it."""

    at: datetime | None = None
    last_id: int = 0
    seen: dict[str, list[int]] = field(default_factory=dict)

    def saw(self, row_id: int, stamp: datetime) -> bool:
        """True if this (id, timestamp) was read before."""
        return row_id in self.seen.get(stamp.isoformat(), ())

    def remember(self, row_id: int, stamp: datetime) -> None:
        """Note a row as read."""
        ids = self.seen.setdefault(stamp.isoformat(), [])
        if row_id not in ids:
            ids.append(row_id)

    def forget_before(self, horizon: datetime) -> None:
        """Drop rows older than the overlap window: no later poll reads them again."""
        self.seen = {stamp: ids for stamp, ids in self.seen.items() if datetime.fromisoformat(stamp) >= horizon}


@dataclass(slots=True)
class Cursor:
    """The positions of every stream of one resource."""

    positions: dict[str, Position] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """The cursor from its stored JSON (a new one for None); ValueError for a cursor this code did not write."""
        if not text:
            return cls()
        try:
            document = orjson.loads(text)
            if document.get("v") != CURSOR_VERSION:
                raise ValueError(f"version {document.get('v')!r}")
            positions = {
                model: Position(
                    datetime.fromisoformat(state["at"]) if state.get("at") else None,
                    int(state.get("id", 0)),
                    {str(stamp): [int(i) for i in ids] for stamp, ids in state.get("seen", {}).items()},
                )
                for model, state in document["streams"].items()
            }
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Tryton capture cursor ({exc}); reset the flow's cursor to re-read") from None
        return cls(positions)

    def dump(self) -> str:
        """The cursor as compact JSON."""
        streams = {
            model: {"at": p.at.isoformat() if p.at else None, "id": p.last_id, "seen": p.seen}
            for model, p in sorted(self.positions.items())
        }
        return orjson.dumps({"v": CURSOR_VERSION, "streams": streams}).decode()


@dataclass(frozen=True, slots=True)
class Scan:
    """Root records changed since the cursor, in the order first seen, and the cursor after them."""

    roots: list[int]
    cursor: Cursor
    more: bool


async def scan(client: TrytonClient, streams: Sequence[Stream], cursor: Cursor, limit: int, overlap: timedelta) -> Scan:
    """Read about `limit` changed rows across `streams`, oldest first, and the roots they mark changed.

    Each stream reads its share of `limit`, so a burst of changes on one model never starves the others.
    """
    roots: dict[int, None] = {}
    more = False
    share = max(1, limit // max(1, len(streams)))
    for stream in streams:
        position = cursor.positions.setdefault(stream.model, Position())
        fields = ["id", "last_modified_at"] + ([stream.root] if stream.root else [])
        late = await _look_back(client, stream, position, fields, overlap, limit)
        forward = await client.search_read(
            stream.model, _after(position), fields, limit=share, order=_ORDER, context=_ALL
        )
        more = more or len(forward) == share
        for row in [*late, *forward]:
            row_id, stamp = int(row["id"]), row["last_modified_at"]
            if position.saw(row_id, stamp):
                continue
            position.remember(row_id, stamp)
            for root in _roots_of(row, stream):
                roots.setdefault(root, None)
        if forward:
            position.at, position.last_id = forward[-1]["last_modified_at"], int(forward[-1]["id"])
        if position.at is not None:
            position.forget_before(position.at - overlap)
    return Scan(list(roots), cursor, more)


async def end_cursor(client: TrytonClient, streams: Sequence[Stream], overlap: timedelta) -> Cursor:
    """A cursor past every row that exists now (and the overlap window behind it): capture from now on."""
    cursor = Cursor()
    for stream in streams:
        position = cursor.positions.setdefault(stream.model, Position())
        newest = await client.search_read(
            stream.model, [], ["id", "last_modified_at"], limit=1, order=[(f, "DESC") for f, _ in _ORDER], context=_ALL
        )
        if not newest:
            continue
        position.at, position.last_id = newest[0]["last_modified_at"], int(newest[0]["id"])
        for row in await _look_back(client, stream, position, ["id", "last_modified_at"], overlap, 1000):
            position.remember(int(row["id"]), row["last_modified_at"])
        position.remember(position.last_id, position.at)
    return cursor


def _after(position: Position) -> list[Any]:
    if position.at is None:
        return []
    return [
        "OR",
        [("last_modified_at", ">", position.at)],
        [("last_modified_at", "=", position.at), ("id", ">", position.last_id)],
    ]


async def _look_back(
    client: TrytonClient, stream: Stream, position: Position, fields: list[str], overlap: timedelta, limit: int
) -> list[dict[str, Any]]:
    if position.at is None or overlap <= timedelta(0):
        return []
    window = [("last_modified_at", ">=", position.at - overlap), ("last_modified_at", "<=", position.at)]
    rows = await client.search_read(
        stream.model, window, fields, limit=limit * _LOOK_BACK_PAGES, order=_ORDER, context=_ALL
    )
    # Rows after the keyset position belong to the forward scan.
    return [row for row in rows if row["last_modified_at"] < position.at or int(row["id"]) <= position.last_id]


def _roots_of(row: dict[str, Any], stream: Stream) -> list[int]:
    if stream.root is None:
        return [int(row["id"])]
    value = row.get(stream.root)
    if isinstance(value, list):
        return [int(v) for v in value]
    return [int(value)] if value else []
