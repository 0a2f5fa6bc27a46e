"""Read models of process instances for the CLI and the operations console."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from crossdock.ports.store import (
    ProcessAction,
    ProcessInstance,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
)


@dataclass(frozen=True, slots=True)
class StepView:
    """One journal row as an operator reads it."""

    seq: int
    name: str
    kind: StepKind
    status: StepStatus
    attempts: int
    result: Any
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    wake_at: datetime | None = None
    compensable: bool = False

    @classmethod
    def of(cls, step: ProcessStep) -> StepView:
        """The view of a journal row."""
        return cls(
            seq=step.seq,
            name=step.name,
            kind=step.kind,
            status=step.status,
            attempts=step.attempts,
            result=step.result,
            error=step.error,
            started_at=step.started_at,
            finished_at=step.finished_at,
            wake_at=step.wake_at,
            compensable=step.compensable,
        )


@dataclass(frozen=True, slots=True)
class ActionView:
    """An operator action from the audit trail."""

    action: str
    actor: str
    at: datetime | None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProcessView:
    """A process instance with its journal (in `show`; `list` leaves steps and actions empty).

    `note` says why the instance will not run in this engine (its pinned version is not registered).
    """

    id: str
    definition: str
    version: int
    business_key: str
    state: ProcessState
    input: dict[str, Any]
    result: Any
    error: str | None
    correlation_id: str | None
    wake_at: datetime | None
    waiting_for: tuple[str, str] | None  # (event type, correlation key)
    owner: str | None
    lease_until: datetime | None
    cancel_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    steps: list[StepView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)
    note: str | None = None

    @classmethod
    def of(
        cls,
        instance: ProcessInstance,
        steps: list[ProcessStep] | None = None,
        actions: list[ProcessAction] | None = None,
        note: str | None = None,
    ) -> ProcessView:
        """The view of an instance record."""
        waiting = (
            (instance.wait_type, instance.wait_key)
            if instance.state is ProcessState.WAITING and instance.wait_type and instance.wait_key
            else None
        )
        return cls(
            id=instance.id,
            definition=instance.definition,
            version=instance.version,
            business_key=instance.business_key,
            state=instance.state,
            input=instance.input,
            result=instance.result,
            error=instance.error,
            correlation_id=instance.correlation_id,
            wake_at=instance.wake_at,
            waiting_for=waiting,
            owner=instance.owner,
            lease_until=instance.lease_until,
            cancel_reason=instance.cancel_reason,
            created_at=instance.created_at,
            updated_at=instance.updated_at,
            steps=[StepView.of(step) for step in steps or []],
            actions=[ActionView(a.action, a.actor, a.at, a.reason, a.details) for a in actions or []],
            note=note,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601)."""
        document: dict[str, Any] = _jsonable(asdict(self))
        return document


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
