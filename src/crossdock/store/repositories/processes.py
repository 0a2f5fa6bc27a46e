"""Process instances, their step journal, signals and operator actions in SQL.

The journal's hot path is batched: the engine's writer hands a group of journal writes from many instances to one
unit of work, and `fence`, `save_steps` and `change` each run as one executemany for the whole group. On SQLite they
go to the driver as plain SQL with values converted here exactly as the table types would convert them: at full
durability the group's commit is what a step waits for, and SQLAlchemy's per-row bind processing would double it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crossdock.ports.store import (
    CLAIMABLE_STATES,
    InstanceChange,
    ProcessAction,
    ProcessInstance,
    ProcessSignal,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
)
from crossdock.store.errors import UnitOfWorkError
from crossdock.store.repositories.base import Transaction, chunks
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import process_actions as actions_t
from crossdock.store.tables import process_instances as t
from crossdock.store.tables import process_signals as signals_t
from crossdock.store.tables import process_steps as steps_t

_STEP_COLUMNS = [c.name for c in steps_t.columns if c.name not in ("instance_id", "seq")]

# The hot path's statements, built once: a journal write group runs each as one executemany.
# `updated_at` is when the state last changed (claims, changes, operator actions); renewals leave it alone.
_FENCE = (
    sa.update(t)
    .where(t.c.id == sa.bindparam("b_id"), t.c.lease_token == sa.bindparam("b_token"))
    .values(lease_until=sa.bindparam("b_until"))
)


def _change_statement(release: bool) -> sa.Update:
    values: dict[str, Any] = {
        "state": sa.bindparam("b_state"),
        "live": sa.bindparam("b_live"),
        "wake_at": sa.bindparam("b_wake_at"),
        "wait_type": sa.bindparam("b_wait_type"),
        "wait_key": sa.bindparam("b_wait_key"),
        "result": sa.bindparam("b_result"),
        "error": sa.bindparam("b_error"),
        "updated_at": sa.bindparam("b_now"),
    }
    if release:
        values.update(owner=None, lease_until=None)
    return sa.update(t).where(t.c.id == sa.bindparam("b_id")).values(**values)


_CHANGE = {True: _change_statement(True), False: _change_statement(False)}
_FIND = (
    sa.select(t)
    .where(t.c.definition == sa.bindparam("b_definition"), t.c.business_key == sa.bindparam("b_key"))
    .order_by(t.c.live.desc(), t.c.created_at.desc(), t.c.id.desc())
    .limit(1)
)


def _dialect_statements(dialect: Any) -> dict[str, Any]:
    # RETURNING tells whether the row went in: drivers disagree on rowcount after ON CONFLICT DO NOTHING.
    create = dialect.insert(t).on_conflict_do_nothing().returning(t.c.id)
    steps = dialect.insert(steps_t)
    return {
        # DO NOTHING without a target covers the partial unique index too, and leaves the unit usable.
        "create": create,
        "save_steps": steps.on_conflict_do_update(
            index_elements=["instance_id", "seq"], set_={name: steps.excluded[name] for name in _STEP_COLUMNS}
        ),
    }


_BY_DIALECT = {"postgresql": _dialect_statements(postgresql), "sqlite": _dialect_statements(sqlite)}

_SQLITE_FENCE = "UPDATE cd_process_instances SET lease_until = ? WHERE id = ? AND lease_token = ?"
# In the order of `_sqlite_step`'s values.
_SQLITE_STEP_COLUMNS = (
    "instance_id",
    "seq",
    "name",
    "kind",
    "status",
    "attempts",
    "outages",
    "result",
    "error",
    "compensable",
    "compensates",
    "wake_at",
    "started_at",
    "finished_at",
)
_SQLITE_SAVE_STEPS = (
    f"INSERT INTO cd_process_steps ({', '.join(_SQLITE_STEP_COLUMNS)}) "  # noqa: S608 - our own column names
    f"VALUES ({', '.join('?' for _ in _SQLITE_STEP_COLUMNS)}) "
    f"ON CONFLICT (instance_id, seq) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _SQLITE_STEP_COLUMNS[2:])}"
)
_SQLITE_CHANGE = (
    "UPDATE cd_process_instances SET state = ?, live = ?, wake_at = ?, wait_type = ?, wait_key = ?, result = ?, "
    "error = ?, updated_at = ?{release} WHERE id = ?"
)
_SQLITE_CHANGES = {
    True: _SQLITE_CHANGE.format(release=", owner = NULL, lease_until = NULL"),
    False: _SQLITE_CHANGE.format(release=""),
}


@functools.lru_cache(maxsize=64)
def _claim_statements(
    versions: tuple[tuple[str, int], ...], limit: int, postgres: bool
) -> tuple[list[sa.Select[Any]], sa.Update]:
    """The claim's queries, built once per (versions, limit): building SQL costs more than running it here.

    Three kinds of narrow query instead of one wide OR, so each walks an index: due resting instances, one query
    per state along (state, wake_at); running ones whose worker died; waiting ones with a signal nobody consumed
    (the backstop for a signal that arrived while the instance was between its check and its wait).
    """
    now: sa.BindParameter[datetime] = sa.bindparam("b_now", type_=t.c.wake_at.type)
    of_versions = sa.or_(*(sa.and_(t.c.definition == name, t.c.version == version) for name, version in versions))
    free = sa.or_(t.c.owner.is_(None), t.c.lease_until < now)
    resting = [s.value for s in CLAIMABLE_STATES if s is not ProcessState.RUNNING]
    candidates = [
        sa.select(t.c.id, t.c.wake_at)
        .where(t.c.state == state, t.c.wake_at <= now, free, of_versions)
        .order_by(t.c.wake_at)
        .limit(limit)
        for state in resting
    ]
    candidates.append(
        sa.select(t.c.id, t.c.wake_at).where(t.c.state == ProcessState.RUNNING.value, free, of_versions).limit(limit)
    )
    candidates.append(
        sa.select(t.c.id, t.c.wake_at)
        .join(signals_t, sa.and_(signals_t.c.event_type == t.c.wait_type, signals_t.c.correlation_key == t.c.wait_key))
        .where(signals_t.c.consumed_by.is_(None), t.c.state == ProcessState.WAITING.value, free, of_versions)
        .limit(limit)
    )
    if postgres:
        # Workers claiming at once take different instances instead of queueing behind each other.
        candidates = [query.with_for_update(skip_locked=True, of=t) for query in candidates]
    held = [ProcessState.RUNNABLE.value, ProcessState.WAITING.value, ProcessState.SLEEPING.value]
    update = (
        sa.update(t)
        .where(
            t.c.id.in_(sa.bindparam("b_ids", expanding=True)),
            t.c.state.in_([s.value for s in CLAIMABLE_STATES]),
            free,
        )
        .values(
            owner=sa.bindparam("b_owner"),
            lease_until=sa.bindparam("b_until"),
            lease_token=t.c.lease_token + 1,
            state=sa.case((t.c.state.in_(held), ProcessState.RUNNING.value), else_=t.c.state),
            updated_at=now,
        )
        .returning(*t.columns)
    )
    return candidates, update


def _sqlite_time(value: datetime | None) -> str | None:
    """What UtcDateTime stores on SQLite: naive UTC text with microseconds, which sorts as time does."""
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_json(value: Any) -> str:
    """What the JSON column stores on SQLite (None as JSON null, as SQLAlchemy's JSON type does)."""
    return orjson.dumps(value).decode()


def _driver_read(tx: Transaction, sql: str, params: tuple[Any, ...], *, write: bool = False) -> list[tuple[Any, ...]]:
    """Run one plain SQL statement in the unit's transaction and return its rows."""
    if write and tx.read_only:
        raise UnitOfWorkError.read_only()
    connection = tx.open_connection()
    try:
        return [tuple(row) for row in connection.exec_driver_sql(sql, params)]
    except sa.exc.DBAPIError as error:
        tx.fail(error)
        raise


_SQLITE_INSTANCE_COLUMNS = (
    "id",
    "definition",
    "version",
    "business_key",
    "state",
    "input",
    "correlation_id",
    "result",
    "error",
    "wake_at",
    "wait_type",
    "wait_key",
    "owner",
    "lease_until",
    "lease_token",
    "cancel_reason",
    "created_at",
    "updated_at",
    "traceparent",
)


def _sqlite_read_json(value: Any) -> Any:
    # A JSON column has NUMERIC affinity in SQLite: a number comes back as a number, anything else as text.
    return json.loads(value) if isinstance(value, str) else value


def _sqlite_read_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_instance(row: tuple[Any, ...]) -> ProcessInstance:
    """An instance from a row of `_SQLITE_INSTANCE_COLUMNS`, read back as the table types would."""
    return ProcessInstance(
        id=row[0],
        definition=row[1],
        version=row[2],
        business_key=row[3],
        state=ProcessState(row[4]),
        input=_sqlite_read_json(row[5]),
        correlation_id=row[6],
        result=_sqlite_read_json(row[7]),
        error=row[8],
        wake_at=_sqlite_read_time(row[9]),
        wait_type=row[10],
        wait_key=row[11],
        owner=row[12],
        lease_until=_sqlite_read_time(row[13]),
        lease_token=row[14],
        cancel_reason=row[15],
        created_at=_sqlite_read_time(row[16]),
        updated_at=_sqlite_read_time(row[17]),
        traceparent=row[18],
    )


def _marks(count: int) -> str:
    """`count` qmark placeholders."""
    return ", ".join("?" * count)


@functools.lru_cache(maxsize=8)
def _sqlite_steps_query(count: int) -> str:
    placeholders = _marks(count)
    return (
        f"SELECT {', '.join(_SQLITE_STEP_COLUMNS)} FROM cd_process_steps "  # noqa: S608 - our own column names
        f"WHERE instance_id IN ({placeholders}) ORDER BY instance_id, seq"
    )


def _sqlite_step_row(row: tuple[Any, ...]) -> ProcessStep:
    """A journal row from a row of `_SQLITE_STEP_COLUMNS`."""
    return ProcessStep(
        instance_id=row[0],
        seq=row[1],
        name=row[2],
        kind=StepKind(row[3]),
        status=StepStatus(row[4]),
        attempts=row[5],
        outages=row[6],
        result=_sqlite_read_json(row[7]),
        error=row[8],
        compensable=bool(row[9]),
        compensates=row[10],
        wake_at=_sqlite_read_time(row[11]),
        started_at=_sqlite_read_time(row[12]),
        finished_at=_sqlite_read_time(row[13]),
    )


def _driver_write(tx: Transaction, sql: str, params: list[tuple[Any, ...]]) -> int:
    """Run plain SQL as one executemany in the unit's transaction; return the rows it changed."""
    if tx.read_only:
        raise UnitOfWorkError.read_only()
    connection = tx.open_connection()
    try:
        return connection.exec_driver_sql(sql, params).rowcount
    except sa.exc.DBAPIError as error:
        tx.fail(error)
        raise


def _instance(row: sa.Row[Any]) -> ProcessInstance:
    return ProcessInstance(
        id=row.id,
        definition=row.definition,
        version=row.version,
        business_key=row.business_key,
        state=ProcessState(row.state),
        input=dict(row.input),
        correlation_id=row.correlation_id,
        result=row.result,
        error=row.error,
        wake_at=row.wake_at,
        wait_type=row.wait_type,
        wait_key=row.wait_key,
        owner=row.owner,
        lease_until=row.lease_until,
        lease_token=row.lease_token,
        cancel_reason=row.cancel_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        traceparent=row.traceparent,
    )


def _instance_values(instance: ProcessInstance) -> dict[str, Any]:
    return {
        "definition": instance.definition,
        "version": instance.version,
        "business_key": instance.business_key,
        "correlation_id": instance.correlation_id,
        "state": instance.state.value,
        "live": instance.state.live,
        "input": instance.input,
        "result": instance.result,
        "error": instance.error,
        "wake_at": instance.wake_at,
        "wait_type": instance.wait_type,
        "wait_key": instance.wait_key,
        "owner": instance.owner,
        "lease_until": instance.lease_until,
        "lease_token": instance.lease_token,
        "cancel_reason": instance.cancel_reason,
        "traceparent": instance.traceparent,
    }


def _step(row: sa.Row[Any]) -> ProcessStep:
    return ProcessStep(
        instance_id=row.instance_id,
        seq=row.seq,
        name=row.name,
        kind=StepKind(row.kind),
        status=StepStatus(row.status),
        attempts=row.attempts,
        outages=row.outages,
        result=row.result,
        error=row.error,
        compensable=bool(row.compensable),
        compensates=row.compensates,
        wake_at=row.wake_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _step_values(step: ProcessStep) -> dict[str, Any]:
    return {
        "instance_id": step.instance_id,
        "seq": step.seq,
        "name": step.name,
        "kind": step.kind.value,
        "status": step.status.value,
        "attempts": step.attempts,
        "outages": step.outages,
        "result": step.result,
        "error": step.error,
        "compensable": step.compensable,
        "compensates": step.compensates,
        "wake_at": step.wake_at,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def _sqlite_step(step: ProcessStep) -> tuple[Any, ...]:
    return (
        step.instance_id,
        step.seq,
        step.name,
        step.kind.value,
        step.status.value,
        step.attempts,
        step.outages,
        _sqlite_json(step.result),
        step.error,
        int(step.compensable),
        step.compensates,
        _sqlite_time(step.wake_at),
        _sqlite_time(step.started_at),
        _sqlite_time(step.finished_at),
    )


def _sqlite_change(change: InstanceChange, now: str | None) -> tuple[Any, ...]:
    return (
        change.state.value,
        int(change.state.live),
        _sqlite_time(change.wake_at),
        change.wait_type,
        change.wait_key,
        _sqlite_json(change.result),
        change.error,
        now,
        change.instance_id,
    )


def _signal(row: sa.Row[Any]) -> ProcessSignal:
    return ProcessSignal(
        event_id=row.event_id,
        event_type=row.event_type,
        correlation_key=row.correlation_key,
        payload=dict(row.payload),
        received_at=row.received_at,
        consumed_by=row.consumed_by,
        consumed_seq=row.consumed_seq,
        consumed_at=row.consumed_at,
    )


def _insert(tx: Transaction, table: sa.Table) -> Any:
    return postgresql.insert(table) if tx.dialect == "postgresql" else sqlite.insert(table)


class SqlProcessRepository:
    """The ProcessRepository on the `cd_process_*` tables."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    # --- instances ---

    def create(self, instance: ProcessInstance) -> bool:
        """Insert a new instance; False when a live instance of the definition already has the business key."""
        now = utc_now()
        values = {
            "id": instance.id,
            **_instance_values(instance),
            "created_at": stamp(instance.created_at, now),
            "updated_at": stamp(instance.updated_at, now),
        }
        inserted = self._tx.write(_BY_DIALECT[self._tx.dialect]["create"], values)
        return inserted.first() is not None

    def get(self, instance_id: str, *, for_update: bool = False) -> ProcessInstance | None:
        """One instance; `for_update` locks its row until the unit ends."""
        query = sa.select(t).where(t.c.id == instance_id)
        if for_update:
            query = query.with_for_update()
        row = self._tx.read(query).first()
        return None if row is None else _instance(row)

    def find(self, definition: str, business_key: str) -> ProcessInstance | None:
        """The live instance for the key, else the newest finished one."""
        row = self._tx.read(_FIND, {"b_definition": definition, "b_key": business_key}).first()
        return None if row is None else _instance(row)

    def update(self, instance: ProcessInstance) -> None:
        """Write every field of an existing instance."""
        self._tx.write(
            sa.update(t).where(t.c.id == instance.id).values(**_instance_values(instance), updated_at=utc_now())
        )

    # --- the journal ---

    def steps(self, instance_ids: Sequence[str]) -> dict[str, list[ProcessStep]]:
        """The journal of each instance, by seq."""
        journals: dict[str, list[ProcessStep]] = {instance_id: [] for instance_id in instance_ids}
        for chunk in chunks(list(journals)):
            if self._tx.dialect == "sqlite":
                for row in _driver_read(self._tx, _sqlite_steps_query(len(chunk)), tuple(chunk)):
                    journals[row[0]].append(_sqlite_step_row(row))
                continue
            query = (
                sa.select(steps_t)
                .where(steps_t.c.instance_id.in_(chunk))
                .order_by(steps_t.c.instance_id, steps_t.c.seq)
            )
            for row in self._tx.read(query):
                journals[row.instance_id].append(_step(row))
        return journals

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease_until: datetime,
        versions: Sequence[tuple[str, int]],
        limit: int,
    ) -> list[ProcessInstance]:
        """Take up to `limit` due instances of the given definition versions under a lease."""
        if not versions or limit <= 0:
            return []
        if self._tx.dialect == "sqlite":
            return self._claim_sqlite(owner, now, lease_until, versions, limit)
        candidates, update = _claim_statements(tuple(versions), limit, self._tx.dialect == "postgresql")
        params = {"b_now": now}
        due: dict[str, datetime] = {}
        for query in candidates:
            for row in self._tx.read(query, params):
                due[row.id] = row.wake_at or now
        chosen = sorted(due, key=lambda instance_id: (due[instance_id], instance_id))[:limit]
        if not chosen:
            return []
        claimed = self._tx.write(update, {"b_ids": chosen, "b_now": now, "b_owner": owner, "b_until": lease_until})
        instances = [_instance(row) for row in claimed]
        instances.sort(key=lambda i: (i.wake_at or now, i.id))
        return instances

    def _claim_sqlite(
        self, owner: str, now: datetime, lease_until: datetime, versions: Sequence[tuple[str, int]], limit: int
    ) -> list[ProcessInstance]:
        """`claim` in plain SQL: the same three kinds of query as `_claim_statements`, at a fraction of the cost.

        Only placeholders and our own column names are formatted into the SQL (hence the S608 waivers below).
        """
        moment = _sqlite_time(now)
        of_versions = " OR ".join("(i.definition = ? AND i.version = ?)" for _ in versions)
        pairs = tuple(value for pair in versions for value in pair)
        free = "(i.owner IS NULL OR i.lease_until < ?)"
        queries: list[tuple[str, tuple[Any, ...]]] = [
            (
                f"SELECT i.id, i.wake_at FROM cd_process_instances i WHERE i.state = ? AND i.wake_at <= ? "  # noqa: S608
                f"AND {free} AND ({of_versions}) ORDER BY i.wake_at LIMIT ?",
                (state.value, moment, moment, *pairs, limit),
            )
            for state in CLAIMABLE_STATES
            if state is not ProcessState.RUNNING
        ]
        queries.append(
            (
                f"SELECT i.id, i.wake_at FROM cd_process_instances i WHERE i.state = ? AND {free} "  # noqa: S608
                f"AND ({of_versions}) LIMIT ?",
                (ProcessState.RUNNING.value, moment, *pairs, limit),
            )
        )
        queries.append(
            (
                "SELECT i.id, i.wake_at FROM cd_process_instances i JOIN cd_process_signals s "  # noqa: S608
                "ON s.event_type = i.wait_type AND s.correlation_key = i.wait_key "
                f"WHERE s.consumed_by IS NULL AND i.state = ? AND {free} AND ({of_versions}) LIMIT ?",
                (ProcessState.WAITING.value, moment, *pairs, limit),
            )
        )
        due: dict[str, str] = {}
        for sql, params in queries:
            for instance_id, wake_at in _driver_read(self._tx, sql, params):
                due[instance_id] = wake_at or moment or ""
        chosen = sorted(due, key=lambda instance_id: (due[instance_id], instance_id))[:limit]
        if not chosen:
            return []
        claimable = ", ".join("?" for _ in CLAIMABLE_STATES)
        update = (
            "UPDATE cd_process_instances AS i SET owner = ?, lease_until = ?, lease_token = lease_token + 1, "  # noqa: S608
            "state = CASE WHEN state IN (?, ?, ?) THEN ? ELSE state END, updated_at = ? "
            f"WHERE id IN ({_marks(len(chosen))}) AND state IN ({claimable}) AND {free} "
            f"RETURNING {', '.join(_SQLITE_INSTANCE_COLUMNS)}"
        )
        params = (
            owner,
            _sqlite_time(lease_until),
            ProcessState.RUNNABLE.value,
            ProcessState.WAITING.value,
            ProcessState.SLEEPING.value,
            ProcessState.RUNNING.value,
            moment,
            *chosen,
            *(state.value for state in CLAIMABLE_STATES),
            moment,
        )
        instances = [_sqlite_instance(row) for row in _driver_read(self._tx, update, params, write=True)]
        instances.sort(key=lambda i: (i.wake_at or now, i.id))
        return instances

    def fence(self, leases: Mapping[str, int], *, lease_until: datetime | None, now: datetime) -> set[str]:
        """The instances whose lease token is still current (renewed to `lease_until` if given), locked until the
        unit ends; the others were lost."""
        if not leases:
            return set()
        if lease_until is not None:
            if self._tx.dialect == "sqlite":
                until = _sqlite_time(lease_until)
                renewed = _driver_write(self._tx, _SQLITE_FENCE, [(until, i, token) for i, token in leases.items()])
            else:
                params = [{"b_id": i, "b_token": token, "b_until": lease_until} for i, token in leases.items()]
                renewed = self._tx.write(_FENCE, params).rowcount
            if renewed == len(leases):
                return set(leases)
        # Check only (or find which renewals missed). SQLite holds the write lock from BEGIN IMMEDIATE, and
        # PostgreSQL locks the rows, so no one can take an instance between this look and the commit.
        current: dict[str, int] = {}
        for chunk in chunks(list(leases)):
            if self._tx.dialect == "sqlite":
                sql = f"SELECT id, lease_token FROM cd_process_instances WHERE id IN ({_marks(len(chunk))})"  # noqa: S608
                current.update((row[0], row[1]) for row in _driver_read(self._tx, sql, tuple(chunk)))
                continue
            query = sa.select(t.c.id, t.c.lease_token).where(t.c.id.in_(chunk))
            if self._tx.dialect == "postgresql":
                query = query.with_for_update()
            current.update((row.id, row.lease_token) for row in self._tx.read(query))
        return {instance_id for instance_id, token in leases.items() if current.get(instance_id) == token}

    def save_steps(self, steps: Sequence[ProcessStep]) -> None:
        """Insert journal rows, or replace the rows with the same (instance, seq)."""
        if not steps:
            return
        if self._tx.dialect == "sqlite":
            _driver_write(self._tx, _SQLITE_SAVE_STEPS, [_sqlite_step(step) for step in steps])
            return
        self._tx.write(_BY_DIALECT[self._tx.dialect]["save_steps"], [_step_values(step) for step in steps])

    def change(self, changes: Sequence[InstanceChange], *, now: datetime) -> None:
        """Apply journal writes' instance changes; releasing ones also clear the owner and lease."""
        if self._tx.dialect == "sqlite":
            moment = _sqlite_time(now)
            for release in (True, False):
                rows = [_sqlite_change(c, moment) for c in changes if c.release is release]
                if rows:
                    _driver_write(self._tx, _SQLITE_CHANGES[release], rows)
            return
        for release in (True, False):
            params = [
                {
                    "b_id": c.instance_id,
                    "b_state": c.state.value,
                    "b_live": c.state.live,
                    "b_wake_at": c.wake_at,
                    "b_wait_type": c.wait_type,
                    "b_wait_key": c.wait_key,
                    "b_result": c.result,
                    "b_error": c.error,
                    "b_now": now,
                }
                for c in changes
                if c.release is release
            ]
            if params:
                self._tx.write(_CHANGE[release], params)

    # --- signals ---

    def add_signal(self, signal: ProcessSignal, *, now: datetime) -> bool:
        """Keep a signal (False if its event id is known) and make instances waiting for it due now."""
        values = {
            "event_id": signal.event_id,
            "event_type": signal.event_type,
            "correlation_key": signal.correlation_key,
            "payload": signal.payload,
            "received_at": stamp(signal.received_at, now),
        }
        insert = _insert(self._tx, signals_t).values(values).on_conflict_do_nothing().returning(signals_t.c.event_id)
        if self._tx.write(insert).first() is None:
            return False
        self._tx.write(
            sa.update(t)
            .where(
                t.c.state == ProcessState.WAITING.value,
                t.c.wait_type == signal.event_type,
                t.c.wait_key == signal.correlation_key,
            )
            .values(wake_at=now, updated_at=now)
        )
        return True

    def take_signal(
        self, event_type: str, correlation_key: str, *, instance_id: str, seq: int, now: datetime
    ) -> ProcessSignal | None:
        """Consume the oldest unconsumed signal of this type and key, if any."""
        query = (
            sa.select(signals_t)
            .where(
                signals_t.c.event_type == event_type,
                signals_t.c.correlation_key == correlation_key,
                signals_t.c.consumed_by.is_(None),
            )
            .order_by(signals_t.c.received_at, signals_t.c.event_id)
            .limit(1)
        )
        if self._tx.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = self._tx.read(query).first()
        if row is None:
            return None
        self._tx.write(
            sa.update(signals_t)
            .where(signals_t.c.event_id == row.event_id)
            .values(consumed_by=instance_id, consumed_seq=seq, consumed_at=now)
        )
        taken = _signal(row)
        return ProcessSignal(
            taken.event_id,
            taken.event_type,
            taken.correlation_key,
            taken.payload,
            taken.received_at,
            consumed_by=instance_id,
            consumed_seq=seq,
            consumed_at=now,
        )

    def signals(self, *, consumed_by: str | None = None, limit: int = 100) -> list[ProcessSignal]:
        """Signals, oldest first; with `consumed_by`, those that instance consumed."""
        query = sa.select(signals_t).order_by(signals_t.c.received_at, signals_t.c.event_id).limit(limit)
        if consumed_by is not None:
            query = query.where(signals_t.c.consumed_by == consumed_by)
        return [_signal(row) for row in self._tx.read(query)]

    # --- operator actions ---

    def record_action(self, action: ProcessAction) -> None:
        """Append an operator action to the audit trail."""
        self._tx.write(
            sa.insert(actions_t).values(
                instance_id=action.instance_id,
                action=action.action,
                actor=action.actor,
                reason=action.reason,
                details=action.details,
                at=stamp(action.at, utc_now()),
            )
        )

    def actions(self, instance_id: str) -> list[ProcessAction]:
        """An instance's operator actions, oldest first."""
        rows = self._tx.read(
            sa.select(actions_t).where(actions_t.c.instance_id == instance_id).order_by(actions_t.c.id)
        )
        return [
            ProcessAction(
                instance_id=row.instance_id,
                action=row.action,
                actor=row.actor,
                reason=row.reason,
                details=dict(row.details),
                at=row.at,
                id=row.id,
            )
            for row in rows
        ]

    def list(
        self,
        *,
        state: ProcessState | None = None,
        definition: str | None = None,
        business_key: str | None = None,
        limit: int = 100,
    ) -> list[ProcessInstance]:
        """Instances, most recently changed first, filtered."""
        query = sa.select(t).order_by(t.c.updated_at.desc(), t.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(t.c.state == state.value)
        if definition is not None:
            query = query.where(t.c.definition == definition)
        if business_key is not None:
            query = query.where(t.c.business_key == business_key)
        return [_instance(row) for row in self._tx.read(query)]

    def count_by_state(self) -> dict[str, int]:
        """Instances per state; states with none are left out."""
        rows = self._tx.read(sa.select(t.c.state, sa.func.count().label("instances")).group_by(t.c.state))
        return {row.state: row.instances for row in rows}
