"""The org's data in one SQLite file, mirrored in memory: records (JSON per row), change events, tokens, API usage.

Every record is kept in memory for SOQL and written through to SQLite when a unit of work commits, so a restart
loads the same org. Records are never changed in place: a write stages a new dict, and the commit swaps it in,
so a query cursor holding the old dicts keeps a consistent snapshot.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from crossdock.sandbox.salesforce.ids import make_id, random_id
from crossdock.sandbox.salesforce.schema import ObjectSpec, Schema
from crossdock.sandbox.salesforce.unit import Record, Unit, ext_key
from crossdock.sandbox.salesforce.values import sf_datetime

_DDL = """
CREATE TABLE IF NOT EXISTS sf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sf_records (
  id TEXT PRIMARY KEY, sobject TEXT NOT NULL, is_deleted INTEGER NOT NULL, modstamp TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sf_change_events (
  replay_id INTEGER PRIMARY KEY, entity TEXT NOT NULL, committed_ms INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sf_change_events_entity ON sf_change_events (entity, replay_id);
CREATE TABLE IF NOT EXISTS sf_tokens (
  token TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL, issued_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sf_api_usage (hour INTEGER PRIMARY KEY, calls INTEGER NOT NULL);
"""

CDC_RETENTION_MS = 72 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and whom it belongs to."""

    token: str
    client_id: str
    user_id: str
    issued_ms: int
    expires_ms: int


EventBuilder = Callable[[Unit, int, int], list[tuple[str, dict[str, Any]]]]


class Store:
    """SQLite persistence plus the in-memory copy of every record; one writer at a time."""

    def __init__(self, path: Path, schema: Schema, clock: Callable[[], datetime]) -> None:
        self.path = path
        self.schema = schema
        self.clock = clock
        self.lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a crash of the process, which is what a sandbox restart needs.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_DDL)
        # WAL checkpoints run on a background connection, so an API call never waits for one.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._closed = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="salesforce-sandbox-wal", daemon=True)
        self._checkpointer.start()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in schema.objects}
        self._ext_index: dict[tuple[str, str], dict[str, str]] = {}
        self.meta: dict[str, str] = dict(self._db.execute("SELECT key, value FROM sf_meta").fetchall())
        for record_id, sobject, data in self._db.execute("SELECT id, sobject, data FROM sf_records ORDER BY rowid"):
            self.records[sobject][record_id] = orjson.loads(data)
        for sobject, records in self.records.items():
            for name in schema.objects[sobject].external_ids:
                index = self.external_index(sobject, name)
                for record in records.values():
                    key = ext_key(record, name)
                    if key is not None and not record.get("IsDeleted"):
                        index[key] = record["Id"]
        self._id_seq = int(self.meta.get("id_seq", "1000000"))
        self._order_seq = int(self.meta.get("order_seq", "100"))
        # Orgs saved before order item numbers were org-wide numbered each order's items from 1: start above them.
        self._order_item_seq = int(self.meta.get("order_item_seq", str(len(self.records.get("OrderItem", {})))))
        self._commit_seq = int(self.meta.get("commit_seq", "10000000000"))
        self.latest_replay_id = self._db.execute("SELECT COALESCE(MAX(replay_id), 0) FROM sf_change_events").fetchone()[
            0
        ]
        self.pruned_through = int(self.meta.get("cdc_pruned_through", "0"))
        self._last_prune = 0.0
        self.tokens: dict[str, Token] = {
            row[0]: Token(*row) for row in self._db.execute("SELECT * FROM sf_tokens").fetchall()
        }
        self.api_usage: dict[int, int] = dict(self._db.execute("SELECT hour, calls FROM sf_api_usage").fetchall())
        # Called after each commit that recorded change events (the event feed's long polls wait on them).
        self.listeners: set[Callable[[], None]] = set()

    def close(self) -> None:
        """Close the database file."""
        self._closed.set()
        self._checkpointer.join(5)
        with self.lock:
            self._db.close()

    def _checkpoint_loop(self) -> None:
        connection = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            while not self._closed.wait(1.0):
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            with contextlib.suppress(sqlite3.Error):
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()

    # -- records -------------------------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        """A committed record by its 18-character id, tombstones included."""
        spec = self.schema.for_id(record_id)
        return self.records[spec.name].get(record_id) if spec is not None else None

    def rows(self, sobject: str) -> Iterable[Record]:
        """Every committed record of `sobject`, tombstones included."""
        return self.records[sobject].values()

    def external_index(self, sobject: str, field_name: str) -> dict[str, str]:
        """Lower-cased external id value -> id of the live record holding it."""
        return self._ext_index.setdefault((sobject, field_name), {})

    def allocate_id(self, spec: ObjectSpec) -> str:
        """A fresh id for a new record of `spec`."""
        with self.lock:
            self._id_seq += 1
            return make_id(spec.key_prefix, self._id_seq)

    def next_order_number(self) -> str:
        """The next order number, an 8-digit auto-number as in a fresh org."""
        with self.lock:
            self._order_seq += 1
            return f"{self._order_seq:08d}"

    def next_order_item_number(self) -> str:
        """The next order product number, a 10-digit auto-number across the org."""
        with self.lock:
            self._order_item_seq += 1
            return f"{self._order_item_seq:010d}"

    def meta_value(self, key: str, make: Callable[[], str]) -> str:
        """A persisted org setting, created by `make` the first time."""
        with self.lock:
            if key not in self.meta:
                self.meta[key] = make()
                self._db.execute("INSERT INTO sf_meta VALUES (?, ?)", (key, self.meta[key]))
            return self.meta[key]

    def begin(self) -> Unit:
        """A new unit of work."""
        return Unit(self)

    def commit(self, unit: Unit, build_events: EventBuilder | None) -> None:
        """Write a unit's records and change events in one SQLite transaction, then swap them into memory."""
        if not unit.staged:
            return
        with self.lock:
            self._commit_seq += 1
            committed_ms = int(self.clock().timestamp() * 1000)
            events = build_events(unit, self._commit_seq, committed_ms) if build_events else []
            rows = [
                (
                    record_id,
                    unit.sobjects[record_id],
                    int(bool(record.get("IsDeleted"))),
                    record["SystemModstamp"],
                    orjson.dumps(record),
                )
                for record_id, record in unit.staged.items()
            ]
            event_rows = []
            replay_id = self.latest_replay_id
            for entity, data in events:
                replay_id += 1
                data["event"] = {"replayId": replay_id}
                event_rows.append((replay_id, entity, committed_ms, orjson.dumps(data)))
            meta = [
                ("id_seq", str(self._id_seq)),
                ("order_seq", str(self._order_seq)),
                ("order_item_seq", str(self._order_item_seq)),
                ("commit_seq", str(self._commit_seq)),
            ]
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO sf_records (id, sobject, is_deleted, modstamp, data) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET is_deleted = excluded.is_deleted, modstamp = excluded.modstamp, "
                    "data = excluded.data",
                    rows,
                )
                self._db.executemany("INSERT INTO sf_change_events VALUES (?, ?, ?, ?)", event_rows)
                self._db.executemany("INSERT OR REPLACE INTO sf_meta VALUES (?, ?)", meta)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            for record_id, record in unit.staged.items():
                self._swap_in(unit.sobjects[record_id], record)
            self.latest_replay_id = replay_id
            self._prune_events(committed_ms)
        if event_rows:
            for listener in list(self.listeners):
                listener()

    def _swap_in(self, sobject: str, record: Record) -> None:
        records = self.records[sobject]
        before = records.get(record["Id"])
        for name in self.schema.objects[sobject].external_ids:
            index = self.external_index(sobject, name)
            old_key = ext_key(before, name)
            if old_key is not None and index.get(old_key) == record["Id"]:
                del index[old_key]
            new_key = ext_key(record, name)
            if new_key is not None and not record.get("IsDeleted"):
                index[new_key] = record["Id"]
        records[record["Id"]] = record

    # -- change events -------------------------------------------------------------------------------------------

    def _prune_events(self, now_ms: int) -> None:
        if time.monotonic() - self._last_prune < 60:
            return
        self._last_prune = time.monotonic()
        cutoff = now_ms - CDC_RETENTION_MS
        row = self._db.execute(
            "SELECT MAX(replay_id) FROM sf_change_events WHERE committed_ms < ?", (cutoff,)
        ).fetchone()
        if row[0] is None:
            return
        self._db.execute("DELETE FROM sf_change_events WHERE replay_id <= ?", (row[0],))
        self.pruned_through = int(row[0])
        self._db.execute("INSERT OR REPLACE INTO sf_meta VALUES ('cdc_pruned_through', ?)", (str(row[0]),))

    def prune_events_now(self) -> None:
        """Drop change events past their 72-hour retention at once (tests move the clock instead of waiting)."""
        with self.lock:
            self._last_prune = 0.0
            self._prune_events(int(self.clock().timestamp() * 1000))

    def read_events(self, entities: list[str] | None, after: int, limit: int) -> list[dict[str, Any]]:
        """Change events with replay ids above `after`, oldest first, for some entities or all."""
        with self.lock:
            if entities is None:
                rows = self._db.execute(
                    "SELECT data FROM sf_change_events WHERE replay_id > ? ORDER BY replay_id LIMIT ?", (after, limit)
                ).fetchall()
            else:
                marks = ",".join("?" * len(entities))
                rows = self._db.execute(
                    f"SELECT data FROM sf_change_events WHERE entity IN ({marks}) AND replay_id > ? "  # noqa: S608
                    "ORDER BY replay_id LIMIT ?",
                    (*entities, after, limit),
                ).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    # -- tokens and API usage ------------------------------------------------------------------------------------

    def save_token(self, token: Token) -> None:
        """Remember an issued access token."""
        with self.lock:
            self._db.execute(
                "INSERT INTO sf_tokens VALUES (?, ?, ?, ?, ?)",
                (token.token, token.client_id, token.user_id, token.issued_ms, token.expires_ms),
            )
            self.tokens[token.token] = token

    def revoke_tokens(self, token: str | None = None) -> int:
        """Forget one access token, or all of them; returns how many were revoked."""
        with self.lock:
            if token is None:
                count = len(self.tokens)
                self._db.execute("DELETE FROM sf_tokens")
                self.tokens.clear()
                return count
            self._db.execute("DELETE FROM sf_tokens WHERE token = ?", (token,))
            return 1 if self.tokens.pop(token, None) is not None else 0

    def usage(self, now: datetime) -> int:
        """API calls in the 24 hours before `now` (hour buckets, as Salesforce's rolling window)."""
        hour = int(now.timestamp()) // 3600
        return sum(calls for bucket, calls in self.api_usage.items() if bucket > hour - 24)

    def count_call(self, now: datetime) -> None:
        """Add one API call to the current hour."""
        hour = int(now.timestamp()) // 3600
        with self.lock:
            self.api_usage[hour] = self.api_usage.get(hour, 0) + 1
            self._db.execute(
                "INSERT INTO sf_api_usage VALUES (?, 1) ON CONFLICT (hour) DO UPDATE SET calls = calls + 1", (hour,)
            )
            for stale in [bucket for bucket in self.api_usage if bucket < hour - 48]:
                del self.api_usage[stale]

    def set_usage(self, now: datetime, calls: int) -> None:
        """Pretend `calls` API calls were made in the last 24 hours (for limit tests)."""
        hour = int(now.timestamp()) // 3600
        with self.lock:
            self.api_usage = {hour: calls}
            self._db.execute("DELETE FROM sf_api_usage")
            self._db.execute("INSERT INTO sf_api_usage VALUES (?, ?)", (hour, calls))


def new_org_id() -> str:
    """A random organization id (key prefix 00D)."""
    return random_id("00D")


def now_text(store: Store) -> str:
    """The store clock's current time in the REST API's format."""
    return sf_datetime(store.clock())
