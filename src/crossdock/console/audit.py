"""The audit trail: every console action is recorded in the same unit of work as its effect, so an action and its
record commit together or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crossdock.ports.console import AuditEntry
from crossdock.ports.store import UnitOfWork


def record(
    uow: UnitOfWork, actor: str, action: str, kind: str, target: str, *, at: datetime | None = None, **details: Any
) -> None:
    """Append one action to the audit trail, in the caller's unit of work."""
    uow.console.record_audit(AuditEntry(actor, action, kind, target, details, at=at))
