"""LogStorage in SQL, one schema for SQLite and PostgreSQL.

Offsets are a gapless global sequence: appends are serialised (SQLite's write lock, a PostgreSQL advisory lock held
to commit), so a reader that has seen offset N can never later find a smaller one committed behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from crossdock.log.storage import GroupView, RetryState, StoredDeadLetter, StoredEvent
from crossdock.ports.event_log import AppendResult

_IN_CHUNK = 500
_INSERT_EVENTS = "INSERT INTO cd_log_events (seq, part, event_id, logged_at, body) VALUES "
# Rows per INSERT: 5 parameters each, under the 999 that SQLite builds before 3.32 allow.
_ROWS_PER_INSERT = 199


class SqlDialect(Protocol):
    """What differs between SQLite and PostgreSQL: connections, transactions, DDL and the append lock."""

    ddl: Sequence[str]

    def write(self) -> AbstractContextManager[None]:
        """A write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction)."""
        ...

    def lock_appends(self) -> None:
        """Serialise appenders until commit."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement with `?` placeholders and return its rows (empty for writes)."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement once per row."""
        ...

    def rowcount(self) -> int:
        """Rows touched by the last statement."""
        ...

    def is_unique_violation(self, exc: Exception) -> bool:
        """True when the statement failed on a unique constraint."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlLogStorage:
    """LogStorage over a SqlDialect; every method is one transaction and runs on the owning thread."""

    def __init__(self, dialect: SqlDialect) -> None:
        self._db = dialect
        with self._db.write():
            self._db.lock_appends()  # two processes creating the schema at once must not collide
            for statement in self._db.ddl:
                self._db.execute(statement)

    def append(self, batches: Sequence[Sequence[tuple[str, int, bytes]]], now: float) -> list[list[AppendResult]]:
        """Store rows of several append calls in one transaction (group commit), skipping known ids."""
        db = self._db
        with db.write():
            db.lock_appends()
            last = db.execute("SELECT seq, logged_at FROM cd_log_events ORDER BY seq DESC LIMIT 1")
            last_seq, last_time = (int(last[0][0]), float(last[0][1])) if last else (0, 0.0)
            # Inside the append lock, so logged_at never decreases along offsets: seek by time can bisect on seq.
            now = max(now, last_time)
            db.execute("SAVEPOINT optimistic_append")
            try:
                return self._insert_all(batches, last_seq, now)
            except Exception as exc:
                if not db.is_unique_violation(exc):
                    raise
                db.execute("ROLLBACK TO SAVEPOINT optimistic_append")
            return self._insert_new(batches, last_seq, now)

    def _insert_all(
        self, batches: Sequence[Sequence[tuple[str, int, bytes]]], last: int, now: float
    ) -> list[list[AppendResult]]:
        """The common case, no id seen before: multi-row INSERTs, no lookups."""
        inserts: list[tuple[int, int, str, float, bytes]] = []
        out: list[list[AppendResult]] = []
        for rows in batches:
            results: list[AppendResult] = []
            for event_id, part, body in rows:
                last += 1
                inserts.append((last, part, event_id, now, body))
                results.append(AppendResult(event_id, part, last))
            out.append(results)
        self._insert(inserts)
        return out

    def _insert(self, inserts: Sequence[tuple[int, int, str, float, bytes]]) -> None:
        """Multi-row INSERTs, not executemany: the driver lets go of the interpreter lock for every statement it
        steps, and a busy thread of the appending process (the order intake's) then makes each row wait for it."""
        for start in range(0, len(inserts), _ROWS_PER_INSERT):
            chunk = inserts[start : start + _ROWS_PER_INSERT]
            statement = _INSERT_EVENTS + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
            self._db.execute(statement, [value for row in chunk for value in row])

    def _insert_new(
        self, batches: Sequence[Sequence[tuple[str, int, bytes]]], last: int, now: float
    ) -> list[list[AppendResult]]:
        """Some ids are already logged (a re-read after a crash, a replayed webhook): store only the new ones."""
        db = self._db
        ids = [row[0] for rows in batches for row in rows]
        known: dict[str, AppendResult] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for event_id, seq, part in db.execute(
                f"SELECT event_id, seq, part FROM cd_log_events WHERE event_id IN ({marks})",  # noqa: S608
                chunk,
            ):
                known[event_id] = AppendResult(event_id, part, seq, duplicate=True)
        inserts: list[tuple[int, int, str, float, bytes]] = []
        out: list[list[AppendResult]] = []
        for rows in batches:
            results: list[AppendResult] = []
            for event_id, part, body in rows:
                found = known.get(event_id)
                if found is not None:
                    results.append(found)
                    continue
                last += 1
                inserts.append((last, part, event_id, now, body))
                known[event_id] = AppendResult(event_id, part, last, duplicate=True)
                results.append(AppendResult(event_id, part, last))
            out.append(results)
        if inserts:
            self._insert(inserts)
        return out

    def read(self, part: int | None, after_seq: int, limit: int) -> list[StoredEvent]:
        """Events after an offset, of one partition or all."""
        if part is None:
            rows = self._db.execute(
                "SELECT seq, part, logged_at, body FROM cd_log_events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
        else:
            rows = self._db.execute(
                "SELECT seq, part, logged_at, body FROM cd_log_events WHERE part = ? AND seq > ? ORDER BY seq LIMIT ?",
                (part, after_seq, limit),
            )
        return [StoredEvent(seq, p, logged_at, bytes(body)) for seq, p, logged_at, body in rows]

    def read_partitions(self, after: dict[int, int], limit_per_part: int) -> list[StoredEvent]:
        """Events after each partition's offset (one indexed range scan per partition)."""
        out: list[StoredEvent] = []
        for part, seq in after.items():
            out.extend(self.read(part, seq, limit_per_part))
        return out

    def sync_group(self, group: str, consumer: str, now: float, ttl: float, partitions: int) -> GroupView:
        """Heartbeat, take a fair share of free or expired partitions, release extras, report positions."""
        db = self._db
        with db.write():
            db.execute(
                "INSERT INTO cd_log_members (group_name, consumer, heartbeat_at) VALUES (?, ?, ?) "
                "ON CONFLICT (group_name, consumer) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (group, consumer, now),
            )
            db.execute(
                "DELETE FROM cd_log_members WHERE group_name = ? AND heartbeat_at < ?",
                (group, now - 10 * ttl),
            )
            [(live,)] = db.execute(
                "SELECT COUNT(*) FROM cd_log_members WHERE group_name = ? AND heartbeat_at >= ?",
                (group, now - ttl),
            )
            share = math.ceil(partitions / max(int(live), 1))
            leases = {
                part: (owner, expires)
                for part, owner, expires in db.execute(
                    "SELECT part, consumer, expires_at FROM cd_log_leases WHERE group_name = ?", (group,)
                )
            }
            mine = sorted(p for p, (owner, expires) in leases.items() if owner == consumer and expires >= now)
            for part in mine[share:]:
                db.execute(
                    "DELETE FROM cd_log_leases WHERE group_name = ? AND part = ? AND consumer = ?",
                    (group, part, consumer),
                )
            owned = mine[:share]
            for part in range(partitions):
                if len(owned) >= share:
                    break
                if part in owned:
                    continue
                lease = leases.get(part)
                if lease is None or lease[1] < now:
                    owned.append(part)
            for part in owned:
                # The WHERE makes taking a partition atomic: only a free, expired or own lease is overwritten.
                db.execute(
                    "INSERT INTO cd_log_leases (group_name, part, consumer, expires_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (group_name, part) DO UPDATE SET consumer = excluded.consumer, "
                    "expires_at = excluded.expires_at "
                    "WHERE cd_log_leases.expires_at < ? OR cd_log_leases.consumer = excluded.consumer",
                    (group, part, consumer, now + ttl, now),
                )
            owned_set = {
                part
                for (part,) in db.execute(
                    "SELECT part FROM cd_log_leases WHERE group_name = ? AND consumer = ? AND expires_at >= ?",
                    (group, consumer, now),
                )
            }
            db.executemany(
                "INSERT INTO cd_log_positions (group_name, part, committed, epoch) VALUES (?, ?, 0, 0) "
                "ON CONFLICT (group_name, part) DO NOTHING",
                [(group, part) for part in range(partitions)],
            )
            committed: dict[int, int] = {}
            epoch = 0
            for part, seq, part_epoch in db.execute(
                "SELECT part, committed, epoch FROM cd_log_positions WHERE group_name = ?", (group,)
            ):
                epoch = max(epoch, int(part_epoch))
                if part in owned_set:
                    committed[part] = int(seq)
            retries = {
                part: RetryState(int(seq), int(attempts), float(not_before))
                for part, seq, attempts, not_before in db.execute(
                    "SELECT part, seq, attempts, not_before FROM cd_log_retries WHERE group_name = ?",
                    (group,),
                )
                if part in owned_set
            }
            redeliveries = [
                row
                for row in self._dead_rows("status = 'redeliver' AND group_name = ?", (group,), 10_000)
                if row.part in owned_set
            ]
        return GroupView(owned_set, committed, epoch, retries, redeliveries)

    def commit(self, group: str, epoch: int, positions: dict[int, int], done_dead: Sequence[int]) -> bool:
        """Advance positions (never backwards) unless a seek bumped the epoch; mark redelivered letters done."""
        db = self._db
        fresh = True
        with db.write():
            if done_dead:
                db.executemany("UPDATE cd_log_dead SET status = 'done' WHERE id = ?", [(d,) for d in done_dead])
            for part, seq in positions.items():
                db.execute(
                    "UPDATE cd_log_positions SET committed = CASE WHEN committed < ? THEN ? ELSE committed END "
                    "WHERE group_name = ? AND part = ? AND epoch = ?",
                    (seq, seq, group, part, epoch),
                )
                if db.rowcount() == 0:
                    fresh = False
                    continue
                db.execute(
                    "DELETE FROM cd_log_retries WHERE group_name = ? AND part = ? AND seq <= ?",
                    (group, part, seq),
                )
        return fresh

    def set_retry(self, group: str, part: int, retry: RetryState, error: str) -> None:
        """Pause a partition on its head event, remembering the attempts across restarts."""
        with self._db.write():
            self._db.execute(
                "INSERT INTO cd_log_retries (group_name, part, seq, attempts, not_before, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_name, part) DO UPDATE SET seq = excluded.seq, "
                "attempts = excluded.attempts, not_before = excluded.not_before, last_error = excluded.last_error",
                (group, part, retry.seq, retry.attempts, retry.not_before, error[:4000]),
            )

    def add_dead(self, group: str, epoch: int, event: StoredEvent, attempts: int, error: str, now: float) -> None:
        """Dead-letter an event and move the group past it, in one transaction."""
        db = self._db
        with db.write():
            db.execute(
                "INSERT INTO cd_log_dead (group_name, part, seq, body, attempts, error, dead_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'dead')",
                (group, event.part, event.seq, event.body, attempts, error[:4000], now),
            )
            db.execute("DELETE FROM cd_log_retries WHERE group_name = ? AND part = ?", (group, event.part))
            db.execute(
                "UPDATE cd_log_positions SET committed = CASE WHEN committed < ? THEN ? ELSE committed END "
                "WHERE group_name = ? AND part = ? AND epoch = ?",
                (event.seq, event.seq, group, event.part, epoch),
            )

    def return_dead(self, dead_id: int, error: str, now: float) -> None:
        """A redelivered dead letter failed again."""
        with self._db.write():
            self._db.execute(
                "UPDATE cd_log_dead SET status = 'dead', attempts = attempts + 1, error = ?, dead_at = ? WHERE id = ?",
                (error[:4000], now, dead_id),
            )

    def release(self, group: str, consumer: str) -> None:
        """Drop the consumer's leases and membership."""
        with self._db.write():
            self._db.execute("DELETE FROM cd_log_leases WHERE group_name = ? AND consumer = ?", (group, consumer))
            self._db.execute("DELETE FROM cd_log_members WHERE group_name = ? AND consumer = ?", (group, consumer))

    def lag(self, group: str, partitions: int) -> dict[int, int]:
        """Events after the group's position, per partition."""
        positions = dict(
            self._db.execute("SELECT part, committed FROM cd_log_positions WHERE group_name = ?", (group,))
        )
        return {
            part: int(
                self._db.execute(
                    "SELECT COUNT(*) FROM cd_log_events WHERE part = ? AND seq > ?",
                    (part, positions.get(part, 0)),
                )[0][0]
            )
            for part in range(partitions)
        }

    def groups(self) -> list[str]:
        """Known consumer groups."""
        return [
            name
            for (name,) in self._db.execute(
                "SELECT DISTINCT group_name FROM cd_log_positions UNION "
                "SELECT DISTINCT group_name FROM cd_log_dead ORDER BY 1"
            )
        ]

    def seek(self, group: str, partitions: int, from_seq: int | None, from_time: float | None) -> None:
        """Set every partition's position before `from_seq` or `from_time`, and bump the group's epoch."""
        db = self._db
        with db.write():
            if from_seq is None:
                from_seq = self._first_seq_at(from_time or 0.0)
            [(epoch,)] = db.execute(
                "SELECT COALESCE(MAX(epoch), 0) FROM cd_log_positions WHERE group_name = ?", (group,)
            )
            db.executemany(
                "INSERT INTO cd_log_positions (group_name, part, committed, epoch) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (group_name, part) DO UPDATE SET committed = excluded.committed, epoch = excluded.epoch",
                [(group, part, from_seq - 1, int(epoch) + 1) for part in range(partitions)],
            )
            db.execute("DELETE FROM cd_log_retries WHERE group_name = ?", (group,))

    def _first_seq_at(self, when: float) -> int:
        """The first offset logged at or after `when`: a bisection on seq, as logged_at never decreases along it."""
        [(low, high)] = self._db.execute("SELECT COALESCE(MIN(seq), 1), COALESCE(MAX(seq), 0) FROM cd_log_events")
        low, high = int(low), int(high) + 1  # answer in [low, high]; high means "after everything"
        while low < high:
            middle = (low + high) // 2
            rows = self._db.execute(
                "SELECT seq, logged_at FROM cd_log_events WHERE seq >= ? ORDER BY seq LIMIT 1", (middle,)
            )
            if rows and float(rows[0][1]) < when:
                low = int(rows[0][0]) + 1
            else:
                high = middle if not rows else min(middle, int(rows[0][0]))
        return low

    def _dead_rows(self, where: str, params: Sequence[Any], limit: int) -> list[StoredDeadLetter]:
        rows = self._db.execute(
            "SELECT id, group_name, part, seq, body, attempts, error, dead_at FROM cd_log_dead "  # noqa: S608
            f"WHERE {where} ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [
            StoredDeadLetter(int(i), g, int(p), int(s), bytes(b), int(a), e, float(d))
            for i, g, p, s, b, a, e, d in rows
        ]

    def dead_letters(self, group: str | None, limit: int) -> list[StoredDeadLetter]:
        """Dead letters waiting for a person, oldest first."""
        if group is None:
            return self._dead_rows("status = 'dead'", (), limit)
        return self._dead_rows("status = 'dead' AND group_name = ?", (group,), limit)

    def redeliver(self, dead_ids: Sequence[int]) -> int:
        """Mark dead letters for redelivery to their group."""
        count = 0
        with self._db.write():
            for dead_id in dead_ids:
                self._db.execute(
                    "UPDATE cd_log_dead SET status = 'redeliver' WHERE id = ? AND status = 'dead'", (dead_id,)
                )
                count += self._db.rowcount()
        return count

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def log_ddl(*, seq_key: str, blob: str, identity: str, real: str) -> list[str]:
    """The log's tables, with the types that differ between SQLite and PostgreSQL."""
    return [
        f"CREATE TABLE IF NOT EXISTS cd_log_events (seq {seq_key}, part INTEGER NOT NULL, "
        f"event_id TEXT NOT NULL UNIQUE, logged_at {real} NOT NULL, body {blob} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cd_log_events_part_seq ON cd_log_events (part, seq)",
        "CREATE TABLE IF NOT EXISTS cd_log_positions (group_name TEXT NOT NULL, part INTEGER NOT NULL, "
        "committed BIGINT NOT NULL, epoch INTEGER NOT NULL, PRIMARY KEY (group_name, part))",
        f"CREATE TABLE IF NOT EXISTS cd_log_leases (group_name TEXT NOT NULL, part INTEGER NOT NULL, "
        f"consumer TEXT NOT NULL, expires_at {real} NOT NULL, PRIMARY KEY (group_name, part))",
        f"CREATE TABLE IF NOT EXISTS cd_log_members (group_name TEXT NOT NULL, consumer TEXT NOT NULL, "
        f"heartbeat_at {real} NOT NULL, PRIMARY KEY (group_name, consumer))",
        f"CREATE TABLE IF NOT EXISTS cd_log_retries (group_name TEXT NOT NULL, part INTEGER NOT NULL, "
        f"seq BIGINT NOT NULL, attempts INTEGER NOT NULL, not_before {real} NOT NULL, last_error TEXT, "
        f"PRIMARY KEY (group_name, part))",
        f"CREATE TABLE IF NOT EXISTS cd_log_dead (id {identity}, group_name TEXT NOT NULL, "
        f"part INTEGER NOT NULL, seq BIGINT NOT NULL, body {blob} NOT NULL, attempts INTEGER NOT NULL, "
        f"error TEXT NOT NULL, dead_at {real} NOT NULL, status TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cd_log_dead_status ON cd_log_dead (status, group_name)",
    ]
