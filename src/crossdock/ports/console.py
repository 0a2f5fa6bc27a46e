"""Records the operations console keeps in the store (its users, their sessions, replay requests with their approval
state, the audit trail of every console action), and the read-only queries its dashboards run over the records
other parts of Crossdock keep (lineage, partner documents, cross-references)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # ports/store.py imports this module for its UnitOfWork: no import back at run time
    from crossdock.ports.partners import PartnerDocument
    from crossdock.ports.store import LineageEntry


class ConsoleRole(enum.StrEnum):
    """What a console user may do besides looking: operators work exceptions, dead letters and processes;
    approvers approve the replays of sensitive flows that someone else asked for."""

    OPERATOR = "operator"
    APPROVER = "approver"


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A person who signs in to the console; only a hash of the password is ever stored."""

    username: str
    password_hash: str
    roles: frozenset[ConsoleRole]
    display_name: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in browser: the cookie carries a random token; the store keeps only its SHA-256, so a copy of the
    database opens no session. `csrf_token` is what every form of the session must send back."""

    token_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class ReplayState(enum.StrEnum):
    """Where a replay request stands: requested → approved → replayed, or rejected. Only `approved` requests are
    executed, and executing one is the only way to `replayed`, so a dead letter is handed back at most once per
    request."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REPLAYED = "replayed"
    REJECTED = "rejected"

    @property
    def open(self) -> bool:
        """Still on its way: at most one open request per dead letter."""
        return self in (ReplayState.REQUESTED, ReplayState.APPROVED)


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """Someone's request to hand a dead letter back to its consumer group, and what became of it.

    `dead_attempts` is the dead letter's attempt count when the request was made: a dead letter that was handed
    back and failed again counts one attempt more, so executing a request checks it to never hand it back twice.
    """

    dead_letter_id: int
    group: str
    event_id: str
    event_type: str
    subject: str
    dead_attempts: int
    state: ReplayState
    requested_by: str
    second_person_required: bool
    flow: str | None = None
    reason: str | None = None
    requested_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    replayed_at: datetime | None = None
    outcome: str | None = None  # what executing it did, in words
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One console action: who did what to which record, when, with what details."""

    actor: str
    action: str  # login, exception.assign, replay.request, replay.approve, process.retry, ...
    target_kind: str  # user, exception, dead_letter, replay, process, session
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    id: int | None = None


class ConsoleRecords(Protocol):
    """Users, sessions, replay requests and the audit trail."""

    def add_user(self, user: ConsoleUser) -> bool:
        """Create a user; False (nothing written) when the username is taken."""
        ...

    def update_user(self, user: ConsoleUser) -> bool:
        """Replace a user's password hash, roles and display name; False when there is no such user."""
        ...

    def get_user(self, username: str) -> ConsoleUser | None:
        """One user."""
        ...

    def list_users(self) -> list[ConsoleUser]:
        """Every user, by username."""
        ...

    def remove_user(self, username: str) -> bool:
        """Delete a user and their sessions; False when there was no such user."""
        ...

    def add_session(self, session: ConsoleSession) -> None:
        """Keep a new session."""
        ...

    def get_session(self, token_hash: str, *, now: datetime) -> ConsoleSession | None:
        """The session with this token hash, unless it has expired."""
        ...

    def remove_session(self, token_hash: str) -> None:
        """End a session (sign out)."""
        ...

    def purge_sessions(self, *, now: datetime) -> int:
        """Delete expired sessions; return how many."""
        ...

    def add_replay(self, request: ReplayRequest) -> int | None:
        """Keep a new request and return its id; None (nothing written) when the dead letter already has an open
        request."""
        ...

    def get_replay(self, request_id: int) -> ReplayRequest | None:
        """One request."""
        ...

    def list_replays(
        self,
        *,
        states: Sequence[ReplayState] | None = None,
        dead_letter_id: int | None = None,
        limit: int = 200,
    ) -> list[ReplayRequest]:
        """Requests, newest first, filtered."""
        ...

    def move_replay(self, request: ReplayRequest, *, expected: ReplayState) -> bool:
        """Write the request's new state and decision fields, only if it is still in `expected` (compare and set):
        of two people approving at once, or two processes executing at once, exactly one wins."""
        ...

    def record_audit(self, entry: AuditEntry) -> None:
        """Append to the audit trail."""
        ...

    def audit(
        self, *, target_kind: str | None = None, target_id: str | None = None, limit: int = 200
    ) -> list[AuditEntry]:
        """The audit trail, newest first, of one record or of everything."""
        ...


class OperationsReadModel(Protocol):
    """Read-only queries for the console's dashboards over records that other parts of Crossdock keep."""

    def lineage_since(self, since: datetime, *, limit: int = 20_000) -> list[LineageEntry]:
        """Lineage rows that started at or after `since`, oldest first, at most `limit` (the newest are kept)."""
        ...

    def partner_documents_since(self, kind: str, since: datetime, *, limit: int = 5_000) -> list[PartnerDocument]:
        """Documents of one kind (850, 855, ...) exchanged at or after `since`, oldest first."""
        ...

    def linked_systems(self, entity: str, *, limit: int = 50_000) -> dict[str, set[str]]:
        """Per canonical id of an entity, the systems its cross-references link it to."""
        ...
