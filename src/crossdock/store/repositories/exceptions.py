"""Business exceptions in SQL: owner queues, status, and a history of every move in `details["history"]`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crossdock.ports.store import BusinessException, ExceptionClass, ExceptionStatus
from crossdock.store.errors import UnknownExceptionError
from crossdock.store.repositories.base import Transaction
from crossdock.store.rules import PENDING, history_entry, stamp, utc_now
from crossdock.store.tables import business_exceptions as t


def _exception(row: sa.Row[Any]) -> BusinessException:
    return BusinessException(
        id=row.id,
        exception_class=ExceptionClass(row.exception_class),
        reason=row.reason,
        owner_queue=row.owner_queue,
        flow=row.flow,
        system=row.system,
        entity=row.entity,
        subject=row.subject,
        event_id=row.event_id,
        correlation_id=row.correlation_id,
        raw_payload=row.raw_payload,
        details=dict(row.details),
        status=ExceptionStatus(row.status),
        assignee=row.assignee,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlExceptionQueue:
    """The ExceptionQueue repository on the `cd_exceptions` table."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def raise_exception(self, exception: BusinessException) -> int:
        """Record an exception and return its id; with a `dedupe_key` already recorded, return that one's id."""
        if exception.dedupe_key is not None:
            known: int | None = self._tx.read(
                sa.select(t.c.id).where(t.c.dedupe_key == exception.dedupe_key)
            ).scalar_one_or_none()
            if known is not None:
                return known
        created_at = stamp(exception.created_at, utc_now())
        values = {
            "exception_class": exception.exception_class.value,
            "owner_queue": exception.owner_queue,
            "status": exception.status.value,
            "assignee": exception.assignee,
            "reason": exception.reason,
            "flow": exception.flow,
            "system": exception.system,
            "entity": exception.entity,
            "subject": exception.subject,
            "event_id": exception.event_id,
            "correlation_id": exception.correlation_id,
            "raw_payload": exception.raw_payload,
            "details": exception.details,
            "dedupe_key": exception.dedupe_key,
            "created_at": created_at,
            "updated_at": stamp(exception.updated_at, created_at),
        }
        new_id: int = self._tx.write(sa.insert(t).values(values).returning(t.c.id)).scalar_one()
        return new_id

    def get(self, exception_id: int) -> BusinessException | None:
        """One exception."""
        row = self._tx.read(sa.select(t).where(t.c.id == exception_id)).first()
        return None if row is None else _exception(row)

    def list(
        self,
        *,
        status: ExceptionStatus | None = None,
        exception_class: ExceptionClass | None = None,
        owner_queue: str | None = None,
        limit: int = 100,
    ) -> list[BusinessException]:
        """Exceptions, newest first, filtered."""
        query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status.value)
        if exception_class is not None:
            query = query.where(t.c.exception_class == exception_class.value)
        if owner_queue is not None:
            query = query.where(t.c.owner_queue == owner_queue)
        return [_exception(row) for row in self._tx.read(query)]

    def update(
        self,
        exception_id: int,
        *,
        status: ExceptionStatus,
        assignee: str | None = None,
        note: str | None = None,
    ) -> None:
        """Move an exception along its queue; `assignee=None` keeps the assignee; moves join the history."""
        # FOR UPDATE: two operators editing at once both land in the history; neither overwrites the other.
        row = self._tx.read(
            sa.select(t.c.details, t.c.assignee).where(t.c.id == exception_id).with_for_update()
        ).first()
        if row is None:
            raise UnknownExceptionError(f"There is no business exception {exception_id}; list the queue for ids.")
        now = utc_now()
        new_assignee = assignee if assignee is not None else row.assignee
        details = dict(row.details)
        details["history"] = [
            *details.get("history", []),
            history_entry(now, status, new_assignee, note),
        ]
        self._tx.write(
            sa.update(t)
            .where(t.c.id == exception_id)
            .values(status=status.value, assignee=new_assignee, details=details, updated_at=now)
        )

    def count_by_class(self) -> dict[str, int]:
        """Open (not resolved or dismissed) exceptions per class; classes with none are left out."""
        rows = self._tx.read(
            sa.select(t.c.exception_class, sa.func.count().label("open"))
            .where(t.c.status.in_([s.value for s in PENDING]))
            .group_by(t.c.exception_class)
        )
        return {row.exception_class: row.open for row in rows}

    def count_by_class_and_owner(self) -> dict[tuple[str, str], int]:
        """Open exceptions per (class, owner queue)."""
        rows = self._tx.read(
            sa.select(t.c.exception_class, t.c.owner_queue, sa.func.count().label("open"))
            .where(t.c.status.in_([s.value for s in PENDING]))
            .group_by(t.c.exception_class, t.c.owner_queue)
        )
        return {(row.exception_class, row.owner_queue): row.open for row in rows}
