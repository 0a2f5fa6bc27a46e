"""The console's records and dashboard queries in memory (`uow.console`, `uow.operations` of MemoryStore)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from crossdock.ports.console import AuditEntry, ConsoleSession, ConsoleUser, ReplayRequest, ReplayState
from crossdock.ports.partners import PartnerDocument
from crossdock.ports.store import LineageEntry
from crossdock.store.rules import as_utc, stamp, utc_now

if TYPE_CHECKING:
    from crossdock.store.memory import MemoryUnitOfWork, _Records


class MemoryConsoleRecords:
    """ConsoleRecords in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add_user(self, user: ConsoleUser) -> bool:
        """Create a user; False when the username is taken."""
        stored = replace(user, created_at=stamp(user.created_at, utc_now()))
        added = False

        def add(records: _Records) -> None:
            nonlocal added
            if user.username not in records.console_users:
                records.console_users[user.username] = stored
                added = True

        self._uow.change(add)
        return added

    def update_user(self, user: ConsoleUser) -> bool:
        """Replace password hash, roles and display name."""
        updated = False

        def update(records: _Records) -> None:
            nonlocal updated
            known = records.console_users.get(user.username)
            if known is not None:
                records.console_users[user.username] = replace(user, created_at=known.created_at)
                updated = True

        self._uow.change(update)
        return updated

    def get_user(self, username: str) -> ConsoleUser | None:
        """One user."""
        return self._uow.records().console_users.get(username)

    def list_users(self) -> list[ConsoleUser]:
        """Every user, by username."""
        return sorted(self._uow.records().console_users.values(), key=lambda user: user.username)

    def remove_user(self, username: str) -> bool:
        """Delete a user and their sessions."""
        removed = False

        def remove(records: _Records) -> None:
            nonlocal removed
            removed = records.console_users.pop(username, None) is not None
            for token, session in list(records.console_sessions.items()):
                if session.username == username:
                    del records.console_sessions[token]

        self._uow.change(remove)
        return removed

    def add_session(self, session: ConsoleSession) -> None:
        """Keep a new session."""
        stored = replace(session, created_at=as_utc(session.created_at), expires_at=as_utc(session.expires_at))

        def add(records: _Records) -> None:
            records.console_sessions[session.token_hash] = stored

        self._uow.change(add)

    def get_session(self, token_hash: str, *, now: datetime) -> ConsoleSession | None:
        """The session, unless expired."""
        session = self._uow.records().console_sessions.get(token_hash)
        return session if session is not None and session.expires_at > as_utc(now) else None

    def remove_session(self, token_hash: str) -> None:
        """End a session."""

        def remove(records: _Records) -> None:
            records.console_sessions.pop(token_hash, None)

        self._uow.change(remove)

    def purge_sessions(self, *, now: datetime) -> int:
        """Delete expired sessions."""
        cutoff = as_utc(now)
        purged = 0

        def purge(records: _Records) -> None:
            nonlocal purged
            for token, session in list(records.console_sessions.items()):
                if session.expires_at <= cutoff:
                    del records.console_sessions[token]
                    purged += 1

        self._uow.change(purge)
        return purged

    def add_replay(self, request: ReplayRequest) -> int | None:
        """Keep a new request; None when the dead letter already has an open one."""
        request_id: int | None = None

        def add(records: _Records) -> None:
            nonlocal request_id
            if request.state.open and any(
                known.dead_letter_id == request.dead_letter_id and known.state.open
                for known in records.replay_requests.values()
            ):
                return
            request_id = self._uow.store.next_id()
            records.replay_requests[request_id] = replace(
                request, id=request_id, requested_at=stamp(request.requested_at, utc_now())
            )

        self._uow.change(add)
        return request_id

    def get_replay(self, request_id: int) -> ReplayRequest | None:
        """One request."""
        return self._uow.records().replay_requests.get(request_id)

    def list_replays(
        self,
        *,
        states: Sequence[ReplayState] | None = None,
        dead_letter_id: int | None = None,
        limit: int = 200,
    ) -> list[ReplayRequest]:
        """Requests, newest first."""
        hits = [
            request
            for request in self._uow.records().replay_requests.values()
            if (states is None or request.state in states)
            and (dead_letter_id is None or request.dead_letter_id == dead_letter_id)
        ]
        hits.sort(key=lambda request: request.id or 0, reverse=True)
        return hits[:limit]

    def move_replay(self, request: ReplayRequest, *, expected: ReplayState) -> bool:
        """Compare and set on the state."""
        if request.id is None:
            raise ValueError("a replay request without an id cannot move; add it first")
        request_id = request.id
        moved = False

        def move(records: _Records) -> None:
            nonlocal moved
            known = records.replay_requests.get(request_id)
            if known is None or known.state is not expected:
                return
            records.replay_requests[request_id] = replace(
                known,
                state=request.state,
                decided_by=request.decided_by,
                decided_at=None if request.decided_at is None else as_utc(request.decided_at),
                decision_note=request.decision_note,
                replayed_at=None if request.replayed_at is None else as_utc(request.replayed_at),
                outcome=request.outcome,
            )
            moved = True

        self._uow.change(move)
        return moved

    def record_audit(self, entry: AuditEntry) -> None:
        """Append to the audit trail."""
        stored = replace(
            entry, id=self._uow.store.next_id(), at=stamp(entry.at, utc_now()), details=copy.deepcopy(entry.details)
        )
        self._uow.change(lambda records: records.console_audit.append(stored))

    def audit(
        self, *, target_kind: str | None = None, target_id: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        """Newest first."""
        hits = [
            entry
            for entry in reversed(self._uow.records().console_audit)
            if (target_kind is None or entry.target_kind == target_kind)
            and (target_id is None or entry.target_id == target_id)
        ]
        return hits[:limit]


class MemoryOperationsReadModel:
    """The console's dashboard queries in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def lineage_since(self, since: datetime, *, limit: int = 20_000) -> list[LineageEntry]:
        """Lineage rows from `since` on, oldest first; the newest `limit` of them."""
        cutoff = as_utc(since)
        hits = [e for e in self._uow.records().lineage if e.started_at is not None and e.started_at >= cutoff]
        hits.sort(key=lambda e: (e.started_at, e.id))
        return [copy.deepcopy(e) for e in hits[-limit:]] if limit else []

    def partner_documents_since(self, kind: str, since: datetime, *, limit: int = 5_000) -> list[PartnerDocument]:
        """Documents of one kind from `since` on, oldest first."""
        cutoff = as_utc(since)
        hits = [
            replace(d, payload=None)
            for d in self._uow.records().partner_documents
            if d.kind == kind and d.at is not None and d.at >= cutoff
        ]
        hits.sort(key=lambda d: d.at or cutoff)
        return hits[:limit]

    def linked_systems(self, entity: str, *, limit: int = 50_000) -> dict[str, set[str]]:
        """Per canonical id, the systems it is linked in."""
        linked: dict[str, set[str]] = {}
        for count, ref in enumerate(r for r in self._uow.records().xrefs.values() if r.entity == entity):
            if count >= limit:
                break
            linked.setdefault(ref.canonical_id, set()).add(ref.system)
        return linked
