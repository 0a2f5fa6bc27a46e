"""The recording file: current state per (entity, external id) and the history of every change applied.

Upserts are state-based, like Salesforce's upsert by external id: writing the payload a record already holds
changes nothing. So the history lists effects, and a write that took effect twice shows up in it twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records (entity TEXT NOT NULL, external_id TEXT NOT NULL, local_id TEXT NOT NULL, "
    "payload BLOB NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (entity, external_id))",
    "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, "
    "external_id TEXT NOT NULL, event_id TEXT, version INTEGER NOT NULL, payload BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, records INTEGER NOT NULL, "
    "unchanged INTEGER NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one upsert did to one record."""

    local_id: str
    created: bool
    changed: bool


class RecordingFile:
    """A SQLite file in WAL mode with full sync, so what it acknowledged survives a kill -9 of the writer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self._conn.execute(statement)

    def upsert(self, entity: str, records: list[tuple[str, str | None, str | None, dict[str, Any]]]) -> list[Applied]:
        """Apply (external id, local id, event id, payload) records in order, in one transaction.

        A record with a local id updates that record (the cross-reference knows it); one without is upserted by its
        external id, the way Salesforce upserts by an external-id field.
        """
        out: list[Applied] = []
        unchanged = 0
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for external_id, local_id, event_id, payload in records:
                body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
                row = self._find(entity, external_id, local_id)
                if row is not None and bytes(row[2]) == body:
                    out.append(Applied(row[1], created=False, changed=False))
                    unchanged += 1
                    continue
                key = row[0] if row is not None else external_id
                new_local = row[1] if row is not None else (local_id or f"R-{external_id}")
                version = (row[3] if row is not None else 0) + 1
                self._conn.execute(
                    "INSERT INTO records (entity, external_id, local_id, payload, version) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (entity, external_id) DO UPDATE SET payload = excluded.payload, "
                    "version = excluded.version",
                    (entity, key, new_local, body, version),
                )
                self._conn.execute(
                    "INSERT INTO history (entity, external_id, event_id, version, payload) VALUES (?, ?, ?, ?, ?)",
                    (entity, key, event_id, version, body),
                )
                out.append(Applied(new_local, created=row is None, changed=True))
            self._conn.execute("INSERT INTO calls (records, unchanged) VALUES (?, ?)", (len(records), unchanged))
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return out

    def _find(self, entity: str, external_id: str, local_id: str | None) -> tuple[str, str, bytes, int] | None:
        if local_id is not None:
            row = self._conn.execute(
                "SELECT external_id, local_id, payload, version FROM records WHERE entity = ? AND local_id = ?",
                (entity, local_id),
            ).fetchone()
            if row is not None:
                return (row[0], row[1], bytes(row[2]), int(row[3]))
        row = self._conn.execute(
            "SELECT external_id, local_id, payload, version FROM records WHERE entity = ? AND external_id = ?",
            (entity, external_id),
        ).fetchone()
        return None if row is None else (row[0], row[1], bytes(row[2]), int(row[3]))

    def record(self, entity: str, local_id: str) -> dict[str, Any] | None:
        """The current payload of one record, by its local id."""
        row = self._conn.execute(
            "SELECT payload FROM records WHERE entity = ? AND local_id = ?", (entity, local_id)
        ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def count(self, entity: str) -> int:
        """How many records of an entity the file holds."""
        return int(self._conn.execute("SELECT COUNT(*) FROM records WHERE entity = ?", (entity,)).fetchone()[0])

    def history(self, entity: str | None = None) -> list[tuple[str, str | None, int]]:
        """(external id, event id, version) of every change applied, in the order applied."""
        sql = "SELECT external_id, event_id, version FROM history"
        params: tuple[str, ...] = ()
        if entity is not None:
            sql += " WHERE entity = ?"
            params = (entity,)
        return [(r[0], r[1], int(r[2])) for r in self._conn.execute(sql + " ORDER BY seq", params)]

    def changed_since(self, entity: str, after_seq: int, limit: int) -> list[tuple[int, str, str, dict[str, Any]]]:
        """(history seq, external id, local id, payload) of changes after a history position."""
        rows = self._conn.execute(
            "SELECT h.seq, h.external_id, r.local_id, h.payload FROM history h JOIN records r "
            "ON r.entity = h.entity AND r.external_id = h.external_id WHERE h.entity = ? AND h.seq > ? "
            "ORDER BY h.seq LIMIT ?",
            (entity, after_seq, limit),
        ).fetchall()
        return [(int(seq), ext, local, orjson.loads(payload)) for seq, ext, local, payload in rows]

    def call_stats(self) -> tuple[int, int, int]:
        """(upsert calls, records sent, records that changed nothing)."""
        calls, records, unchanged = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(records), 0), COALESCE(SUM(unchanged), 0) FROM calls"
        ).fetchone()
        return int(calls), int(records), int(unchanged)

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
