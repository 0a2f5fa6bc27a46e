"""Operator actions on process instances: retry a failed step, skip it with a result, cancel and compensate.

Each runs in one unit of work that locks the instance, changes it, and records who did what in the audit trail.
None of them runs process code: they make the instance due, and a worker's `run_due` does the rest.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from crossdock.ports.store import (
    ProcessAction,
    ProcessInstance,
    ProcessState,
    ProcessStep,
    StepKind,
    StepStatus,
    UnitOfWork,
)
from crossdock.process.context import as_json
from crossdock.process.definition import OperatorActionError, UnknownInstanceError

_HELD_FOR_A_PERSON = (ProcessState.FAILED, ProcessState.COMPENSATION_FAILED)


def _locked(uow: UnitOfWork, instance_id: str) -> ProcessInstance:
    instance = uow.processes.get(instance_id, for_update=True)
    if instance is None:
        raise UnknownInstanceError(
            f"there is no process instance {instance_id!r}; `crossdock processes list` shows ids"
        )
    return instance


def _failed_rows(uow: UnitOfWork, instance: ProcessInstance) -> list[ProcessStep]:
    """The rows an operator acts on: failed compensations of a compensation_failed instance, else failed steps."""
    undoing = instance.state is ProcessState.COMPENSATION_FAILED
    steps = uow.processes.steps([instance.id])[instance.id]
    return [row for row in steps if row.status is StepStatus.FAILED and (row.kind is StepKind.COMPENSATION) == undoing]


def _resumed_state(instance: ProcessInstance) -> ProcessState:
    return ProcessState.COMPENSATING if instance.state is ProcessState.COMPENSATION_FAILED else ProcessState.RUNNABLE


def _reset(row: ProcessStep) -> ProcessStep:
    return replace(row, status=StepStatus.RETRYING, attempts=0, outages=0, error=None, wake_at=None, finished_at=None)


def retry(uow: UnitOfWork, instance_id: str, *, actor: str, reason: str | None, now: datetime) -> None:
    """A failed (or compensation_failed) instance runs its failed step again with fresh attempts."""
    instance = _locked(uow, instance_id)
    if instance.state not in _HELD_FOR_A_PERSON:
        raise OperatorActionError(
            f"process {instance_id} is {instance.state.value}; only failed or compensation_failed instances can be "
            "retried (a running one retries by itself)"
        )
    failed = _failed_rows(uow, instance)
    uow.processes.save_steps([_reset(row) for row in failed])
    _resume(uow, instance, now)
    uow.processes.record_action(
        ProcessAction(
            instance_id,
            "retry",
            actor,
            reason,
            details={"steps": [row.name for row in failed], "previous_error": instance.error},
            at=now,
        )
    )


def _resume(uow: UnitOfWork, instance: ProcessInstance, now: datetime) -> None:
    """Make a held instance due now, free of any lease, back on its way forward or through its compensations."""
    resumed = _resumed_state(instance)
    uow.processes.update(
        replace(
            instance,
            state=resumed,
            wake_at=now,
            owner=None,
            lease_until=None,
            error=instance.error if resumed is ProcessState.COMPENSATING else None,
        )
    )


def skip(uow: UnitOfWork, instance_id: str, result: Any, *, actor: str, reason: str | None, now: datetime) -> None:
    """The failed step counts as done with `result` (a forward step returns it on replay) and the instance goes on."""
    instance = _locked(uow, instance_id)
    if instance.state not in _HELD_FOR_A_PERSON:
        raise OperatorActionError(
            f"process {instance_id} is {instance.state.value}; only a failed step of a failed or "
            "compensation_failed instance can be skipped"
        )
    failed = _failed_rows(uow, instance)
    if not failed:
        raise OperatorActionError(
            f"process {instance_id} has no failed step to skip: it failed outside any step ({instance.error}); "
            "retry it after a fix, or cancel it"
        )
    row = max(failed, key=lambda r: r.seq)
    value = as_json(result, "the result given for the skipped step") if row.kind is not StepKind.COMPENSATION else None
    uow.processes.save_steps([replace(row, status=StepStatus.SKIPPED, result=value, wake_at=None, finished_at=now)])
    _resume(uow, instance, now)
    uow.processes.record_action(
        ProcessAction(
            instance_id,
            "skip",
            actor,
            reason,
            details={"step": row.name, "seq": row.seq, "result": value, "error": row.error},
            at=now,
        )
    )


def cancel(uow: UnitOfWork, instance_id: str, *, actor: str, reason: str, now: datetime) -> ProcessState:
    """A live instance stops: its started steps are compensated in reverse, then it is cancelled.

    The lease token moves on, so a worker running the instance right now can journal nothing more; a wait is
    dropped. With nothing to compensate the instance is cancelled at once. Returns the new state.
    """
    instance = _locked(uow, instance_id)
    if instance.state.terminal:
        raise OperatorActionError(f"process {instance_id} is already {instance.state.value}; nothing to cancel")
    steps = uow.processes.steps([instance.id])[instance.id]
    compensable = any(row.compensable for row in steps if row.kind is not StepKind.COMPENSATION)
    if instance.state is ProcessState.COMPENSATION_FAILED:
        uow.processes.save_steps([_reset(row) for row in _failed_rows(uow, instance)])
    state = ProcessState.COMPENSATING if compensable else ProcessState.CANCELLED
    uow.processes.update(
        replace(
            instance,
            state=state,
            wake_at=now if compensable else None,
            wait_type=None,
            wait_key=None,
            owner=None,
            lease_until=None,
            lease_token=instance.lease_token + 1,
            cancel_reason=reason,
        )
    )
    uow.processes.record_action(
        ProcessAction(instance_id, "cancel", actor, reason, details={"previous_state": instance.state.value}, at=now)
    )
    return state
