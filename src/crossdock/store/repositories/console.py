"""The console's records in SQL (users, sessions, replay requests, audit trail) and its dashboards' read queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crossdock.ports.console import AuditEntry, ConsoleRole, ConsoleSession, ConsoleUser, ReplayRequest, ReplayState
from crossdock.ports.partners import DocumentDirection, PartnerDocument
from crossdock.ports.store import LineageEntry
from crossdock.store.repositories.base import Transaction, insert_new
from crossdock.store.repositories.lineage import _entry as lineage_entry
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import console_audit as audit_t
from crossdock.store.tables import console_sessions as sessions_t
from crossdock.store.tables import console_users as users_t
from crossdock.store.tables import cross_references as xref_t
from crossdock.store.tables import lineage as lineage_t
from crossdock.store.tables import partner_documents as documents_t
from crossdock.store.tables import replay_requests as replays_t


def _user(row: sa.Row[Any]) -> ConsoleUser:
    return ConsoleUser(
        username=row.username,
        password_hash=row.password_hash,
        roles=frozenset(ConsoleRole(role) for role in row.roles),
        display_name=row.display_name,
        created_at=row.created_at,
    )


def _replay(row: sa.Row[Any]) -> ReplayRequest:
    return ReplayRequest(
        id=row.id,
        dead_letter_id=row.dead_letter_id,
        group=row.group_name,
        event_id=row.event_id,
        event_type=row.event_type,
        subject=row.subject,
        flow=row.flow,
        dead_attempts=row.dead_attempts,
        state=ReplayState(row.state),
        second_person_required=row.second_person_required,
        requested_by=row.requested_by,
        reason=row.reason,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        replayed_at=row.replayed_at,
        outcome=row.outcome,
    )


def _decision(request: ReplayRequest) -> dict[str, Any]:
    """The columns a state change writes."""
    return {
        "state": request.state.value,
        "is_open": request.state.open,
        "decided_by": request.decided_by,
        "decided_at": None if request.decided_at is None else as_utc(request.decided_at),
        "decision_note": request.decision_note,
        "replayed_at": None if request.replayed_at is None else as_utc(request.replayed_at),
        "outcome": request.outcome,
    }


class SqlConsoleRecords:
    """ConsoleRecords on `cd_console_users`, `cd_console_sessions`, `cd_replay_requests`, `cd_console_audit`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    # --- users ---

    def add_user(self, user: ConsoleUser) -> bool:
        """Create a user; False when the username is taken."""
        values = {
            "username": user.username,
            "password_hash": user.password_hash,
            "roles": sorted(role.value for role in user.roles),
            "display_name": user.display_name,
            "created_at": stamp(user.created_at, utc_now()),
        }
        return insert_new(self._tx, users_t, values, users_t.c.username)

    def update_user(self, user: ConsoleUser) -> bool:
        """Replace password hash, roles and display name."""
        result = self._tx.write(
            sa.update(users_t)
            .where(users_t.c.username == user.username)
            .values(
                password_hash=user.password_hash,
                roles=sorted(role.value for role in user.roles),
                display_name=user.display_name,
            )
        )
        return bool(result.rowcount)

    def get_user(self, username: str) -> ConsoleUser | None:
        """One user."""
        row = self._tx.read(sa.select(users_t).where(users_t.c.username == username)).first()
        return None if row is None else _user(row)

    def list_users(self) -> list[ConsoleUser]:
        """Every user, by username."""
        return [_user(row) for row in self._tx.read(sa.select(users_t).order_by(users_t.c.username))]

    def remove_user(self, username: str) -> bool:
        """Delete a user and their sessions."""
        self._tx.write(sa.delete(sessions_t).where(sessions_t.c.username == username))
        return bool(self._tx.write(sa.delete(users_t).where(users_t.c.username == username)).rowcount)

    # --- sessions ---

    def add_session(self, session: ConsoleSession) -> None:
        """Keep a new session."""
        self._tx.write(
            sa.insert(sessions_t).values(
                token_hash=session.token_hash,
                username=session.username,
                csrf_token=session.csrf_token,
                created_at=as_utc(session.created_at),
                expires_at=as_utc(session.expires_at),
            )
        )

    def get_session(self, token_hash: str, *, now: datetime) -> ConsoleSession | None:
        """The session, unless expired."""
        row = self._tx.read(
            sa.select(sessions_t).where(sessions_t.c.token_hash == token_hash, sessions_t.c.expires_at > as_utc(now))
        ).first()
        if row is None:
            return None
        return ConsoleSession(row.token_hash, row.username, row.csrf_token, row.created_at, row.expires_at)

    def remove_session(self, token_hash: str) -> None:
        """End a session."""
        self._tx.write(sa.delete(sessions_t).where(sessions_t.c.token_hash == token_hash))

    def purge_sessions(self, *, now: datetime) -> int:
        """Delete expired sessions."""
        return int(self._tx.write(sa.delete(sessions_t).where(sessions_t.c.expires_at <= as_utc(now))).rowcount)

    # --- replay requests ---

    def add_replay(self, request: ReplayRequest) -> int | None:
        """Keep a new request; None when the dead letter already has an open one."""
        values = {
            "dead_letter_id": request.dead_letter_id,
            "group_name": request.group,
            "event_id": request.event_id,
            "event_type": request.event_type,
            "subject": request.subject,
            "flow": request.flow,
            "dead_attempts": request.dead_attempts,
            "second_person_required": request.second_person_required,
            "requested_by": request.requested_by,
            "reason": request.reason,
            "requested_at": stamp(request.requested_at, utc_now()),
            **_decision(request),
        }
        if request.state.open:
            # The partial unique index is the arbiter between two console processes; look first so that the usual
            # refusal does not poison the unit with a failed statement.
            taken = self._tx.read(
                sa.select(replays_t.c.id).where(
                    replays_t.c.dead_letter_id == request.dead_letter_id, replays_t.c.is_open
                )
            ).first()
            if taken is not None:
                return None
        return int(self._tx.write(sa.insert(replays_t).values(values).returning(replays_t.c.id)).scalar_one())

    def get_replay(self, request_id: int) -> ReplayRequest | None:
        """One request."""
        row = self._tx.read(sa.select(replays_t).where(replays_t.c.id == request_id)).first()
        return None if row is None else _replay(row)

    def list_replays(
        self,
        *,
        states: Sequence[ReplayState] | None = None,
        dead_letter_id: int | None = None,
        limit: int = 200,
    ) -> list[ReplayRequest]:
        """Requests, newest first."""
        query = sa.select(replays_t)
        if states is not None:
            query = query.where(replays_t.c.state.in_([state.value for state in states]))
        if dead_letter_id is not None:
            query = query.where(replays_t.c.dead_letter_id == dead_letter_id)
        rows = self._tx.read(query.order_by(replays_t.c.id.desc()).limit(limit))
        return [_replay(row) for row in rows]

    def move_replay(self, request: ReplayRequest, *, expected: ReplayState) -> bool:
        """Compare and set on the state."""
        if request.id is None:
            raise ValueError("a replay request without an id cannot move; add it first")
        result = self._tx.write(
            sa.update(replays_t)
            .where(replays_t.c.id == request.id, replays_t.c.state == expected.value)
            .values(_decision(request))
        )
        return bool(result.rowcount)

    # --- audit trail ---

    def record_audit(self, entry: AuditEntry) -> None:
        """Append to the audit trail."""
        self._tx.write(
            sa.insert(audit_t).values(
                at=stamp(entry.at, utc_now()),
                actor=entry.actor,
                action=entry.action,
                target_kind=entry.target_kind,
                target_id=entry.target_id,
                details=entry.details,
            )
        )

    def audit(
        self, *, target_kind: str | None = None, target_id: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        """Newest first."""
        query = sa.select(audit_t)
        if target_kind is not None:
            query = query.where(audit_t.c.target_kind == target_kind)
        if target_id is not None:
            query = query.where(audit_t.c.target_id == target_id)
        rows = self._tx.read(query.order_by(audit_t.c.id.desc()).limit(limit))
        return [
            AuditEntry(row.actor, row.action, row.target_kind, row.target_id, dict(row.details), row.at, row.id)
            for row in rows
        ]


class SqlOperationsReadModel:
    """The console's dashboard queries over lineage, partner documents and cross-references."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def lineage_since(self, since: datetime, *, limit: int = 20_000) -> list[LineageEntry]:
        """Lineage rows from `since` on, oldest first; the newest `limit` of them."""
        t = lineage_t
        newest = (
            sa.select(t).where(t.c.started_at >= as_utc(since)).order_by(t.c.started_at.desc(), t.c.id.desc())
        ).limit(limit)
        rows = [lineage_entry(row) for row in self._tx.read(newest)]
        rows.reverse()
        return rows

    def partner_documents_since(self, kind: str, since: datetime, *, limit: int = 5_000) -> list[PartnerDocument]:
        """Documents of one kind from `since` on, oldest first."""
        t = documents_t
        rows = self._tx.read(
            sa.select(t).where(t.c.kind == kind, t.c.at >= as_utc(since)).order_by(t.c.at, t.c.id).limit(limit)
        )
        return [
            PartnerDocument(
                partner=row.partner,
                direction=DocumentDirection(row.direction),
                kind=row.kind,
                reference=row.reference,
                control_number=row.control_number,
                file_name=row.file_name,
                event_id=row.event_id,
                payload=None,  # dashboards never need the file; the lineage page reads it through `partners.find`
                at=row.at,
                answered_at=row.answered_at,
            )
            for row in rows
        ]

    def linked_systems(self, entity: str, *, limit: int = 50_000) -> dict[str, set[str]]:
        """Per canonical id, the systems it is linked in."""
        rows = self._tx.read(
            sa.select(xref_t.c.canonical_id, xref_t.c.system).where(xref_t.c.entity == entity).limit(limit)
        )
        linked: dict[str, set[str]] = {}
        for row in rows:
            linked.setdefault(row.canonical_id, set()).add(row.system)
        return linked
