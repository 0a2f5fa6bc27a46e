"""The process engine: start instances, run the due ones under leases, deliver signals, relay the outbox, and let
operators retry, skip and cancel. Any number of engines (workers) may share one store; any may die at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from crossdock.events.envelope import new_event_id
from crossdock.observability import tracing
from crossdock.ports.event_log import EventLog
from crossdock.ports.store import ProcessInstance, ProcessSignal, ProcessState, Store, UnitOfWork
from crossdock.process import operator
from crossdock.process.context import as_json
from crossdock.process.definition import Definitions, ProcessDefinition, UnknownInstanceError
from crossdock.process.journal import Clock, JournalWrite, JournalWriter
from crossdock.process.runner import Runner
from crossdock.process.views import ProcessView

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The engine's default clock."""
    return datetime.now(UTC)


def default_owner() -> str:
    """This worker's name in leases: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class ProcessEngine:
    """Durable processes on the store. See docs/architecture.md, "Processes", for the model.

    `owner` names this worker in leases; `lease_s` is how long a dead worker's instances stay untouched before
    another worker takes them over (leases are renewed while steps run). `clock` is for tests.
    """

    def __init__(
        self,
        store: Store,
        definitions: Iterable[ProcessDefinition] = (),
        *,
        owner: str | None = None,
        lease_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if lease_s <= 0:
            raise ValueError(f"lease_s must be positive, got {lease_s}")
        self.store = store
        self.definitions = Definitions(definitions)
        self.owner = owner or default_owner()
        self.lease_s = lease_s
        self.clock: Clock = clock or utc_now
        self._writer = JournalWriter(store, lease_s=lease_s, clock=self.clock)
        self._runner = Runner(self.definitions, self._writer, self.clock)

    # --- starting ---

    def start(
        self,
        definition: str,
        *,
        business_key: str,
        input: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
        restart_finished: bool = False,
        instance_id: str | None = None,
    ) -> str:
        """Start an instance of the definition's newest version for `business_key`, and return its id.

        Idempotent: while an instance for (definition, business key) is live, starting again returns its id (a
        partial unique index holds this across workers). A finished instance also blocks a new start, and its
        id is returned, unless `restart_finished=True`: then a new instance starts. `instance_id` names the new
        instance when the caller promised its id before starting it (an API's 202 answer). The instance's runs
        continue the trace of the span it is started in (intake starts it inside the submitted order's trace).
        """
        new = self._new_instance(definition, business_key, input, correlation_id, instance_id)
        with self.store.unit_of_work() as uow:
            instance_id = _start_in(uow, new, restart_finished)
            uow.commit()
        return instance_id

    async def start_async(
        self,
        definition: str,
        *,
        business_key: str,
        input: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
        restart_finished: bool = False,
        instance_id: str | None = None,
    ) -> str:
        """`start` from async code: on the engine's writer thread, so concurrent starts share one commit."""
        new = self._new_instance(definition, business_key, input, correlation_id, instance_id)
        started: str = await self._writer.call(lambda uow: _start_in(uow, new, restart_finished))
        return started

    def _new_instance(
        self,
        definition: str,
        business_key: str,
        input: Mapping[str, Any] | None,
        correlation_id: str | None,
        instance_id: str | None = None,
    ) -> ProcessInstance:
        if not business_key:
            raise ValueError("a process instance needs a business key (an order number, a PO number)")
        latest = self.definitions.latest(definition)
        document = as_json(dict(input or {}), f"the input of {definition} {business_key}")
        now = self.clock()
        return ProcessInstance(
            # Time-ordered ids keep the rows of instances started together on the same pages: a journal
            # group then rewrites a few pages instead of one per instance, and each commit writes less.
            id=instance_id or new_event_id(),
            definition=latest.name,
            version=latest.version,
            business_key=business_key,
            state=ProcessState.RUNNABLE,
            input=document,
            correlation_id=correlation_id,
            wake_at=now,
            created_at=now,
            updated_at=now,
            traceparent=tracing.current_traceparent(),
        )

    # --- running ---

    async def run_due(self, limit: int = 100, concurrency: int = 32) -> int:
        """Claim due instances under a lease and run each from the top (journaled steps replay), at most
        `concurrency` at a time, until `limit` have run or none is due; return how many ran."""
        ran = 0
        running: set[asyncio.Task[None]] = set()
        exhausted = False
        renewer = asyncio.create_task(self._renew_leases())
        try:
            while True:
                room = min(concurrency - len(running), limit - ran)
                if room > 0 and not exhausted:
                    claimed = await self._writer.call(functools.partial(self._claim, limit=room))
                    exhausted = len(claimed) < room
                    for instance, steps in claimed:
                        running.add(asyncio.create_task(self._runner.run_instance(instance, steps)))
                    ran += len(claimed)
                if not running:
                    return ran
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if isinstance(error, Exception):
                        # An engine bug must not stop the other instances; this one runs again after its lease.
                        logger.error("process run failed", exc_info=error)
                    elif error is not None:
                        raise error
        finally:
            renewer.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(renewer, *running, return_exceptions=True)

    def _claim(self, uow: UnitOfWork, limit: int) -> list[tuple[ProcessInstance, list[Any]]]:
        now = self.clock()
        instances = uow.processes.claim(
            owner=self.owner,
            now=now,
            lease_until=now + timedelta(seconds=self.lease_s),
            versions=self.definitions.versions(),
            limit=limit,
        )
        if not instances:
            return []
        journals = uow.processes.steps([instance.id for instance in instances])
        return [(instance, journals[instance.id]) for instance in instances]

    async def _renew_leases(self) -> None:
        # Steps may run for minutes (a slow ERP); a third of the lease leaves two chances before it expires.
        while True:
            await asyncio.sleep(self.lease_s / 3)
            runs = list(self._runner.active.values())
            outcomes = await asyncio.gather(
                *(self._writer.write(JournalWrite(run.instance.id, run.instance.lease_token)) for run in runs),
                return_exceptions=True,
            )
            for run, outcome in zip(runs, outcomes, strict=True):
                if not isinstance(outcome, BaseException) and not outcome.held:
                    run.lost = True

    # --- signals and the outbox ---

    async def deliver(
        self, *, event_type: str, correlation_key: str, payload: Mapping[str, Any], event_id: str
    ) -> bool:
        """Hand a partner's answer to the instances waiting for (event type, correlation key); kept until one
        consumes it, even if none waits yet. Idempotent on `event_id`: returns False for a known one."""
        signal = ProcessSignal(
            event_id=event_id,
            event_type=event_type,
            correlation_key=correlation_key,
            payload=as_json(dict(payload), f"the payload of signal {event_id}"),
        )
        known: bool = await self._writer.call(lambda uow: uow.processes.add_signal(signal, now=self.clock()))
        return known

    async def publish_outbox(self, log: EventLog, limit: int = 500) -> int:
        """Append up to `limit` unpublished outbox events to the log, in order, and mark them published.

        Event ids are deterministic and the log drops ids it holds, so a crash between the append and the mark
        (or two relays at once) does not publish an event twice.
        """
        pending = await self._writer.call(lambda uow: uow.outbox.pending(limit))
        if not pending:
            return 0
        await log.append([entry.event for entry in pending])
        published = [entry.event.id for entry in pending]
        await self._writer.call(lambda uow: uow.outbox.mark_published(published, now=self.clock()))
        return len(pending)

    # --- operator actions ---

    def retry(self, instance_id: str, *, actor: str = "operator", reason: str | None = None) -> None:
        """Run a failed (or compensation_failed) instance's failed step again with fresh attempts."""
        self._act(lambda uow: operator.retry(uow, instance_id, actor=actor, reason=reason, now=self.clock()))

    def skip(self, instance_id: str, result: Any = None, *, actor: str = "operator", reason: str | None = None) -> None:
        """Journal the failed step as skipped with `result` (what the process sees it return) and go on."""
        self._act(lambda uow: operator.skip(uow, instance_id, result, actor=actor, reason=reason, now=self.clock()))

    def cancel(self, instance_id: str, *, reason: str, actor: str = "operator") -> ProcessState:
        """Cancel a live instance: a worker compensates its started steps in reverse, then it is `cancelled`.
        Returns the new state (`cancelled` at once when there is nothing to compensate)."""
        state: ProcessState = self._act(
            lambda uow: operator.cancel(uow, instance_id, actor=actor, reason=reason, now=self.clock())
        )
        return state

    def _act(self, action: Any) -> Any:
        with self.store.unit_of_work() as uow:
            outcome = action(uow)
            uow.commit()
        return outcome

    # --- reading ---

    def show(self, instance_id: str) -> ProcessView | None:
        """One instance with its steps and operator actions."""
        with self.store.unit_of_work(read_only=True) as uow:
            instance = uow.processes.get(instance_id)
            if instance is None:
                return None
            return self._view(uow, instance)

    def find(self, definition: str, business_key: str) -> ProcessView | None:
        """The live instance of `definition` for `business_key`, else the newest finished one, with its steps."""
        with self.store.unit_of_work(read_only=True) as uow:
            instance = uow.processes.find(definition, business_key)
            if instance is None:
                return None
            return self._view(uow, instance)

    def find_by_key(self, business_key: str, limit: int = 20) -> list[ProcessView]:
        """Every instance for a business key, of any definition, newest first (without their steps)."""
        with self.store.unit_of_work(read_only=True) as uow:
            instances = uow.processes.list(business_key=business_key, limit=limit)
        return [ProcessView.of(i, note=self._note(i)) for i in instances]

    def require(self, instance_id: str) -> ProcessView:
        """`show`, or UnknownInstanceError."""
        view = self.show(instance_id)
        if view is None:
            raise UnknownInstanceError(f"there is no process instance {instance_id!r}")
        return view

    def _view(self, uow: UnitOfWork, instance: ProcessInstance) -> ProcessView:
        steps = uow.processes.steps([instance.id])[instance.id]
        actions = uow.processes.actions(instance.id)
        return ProcessView.of(instance, steps, actions, note=self._note(instance))

    def _note(self, instance: ProcessInstance) -> str | None:
        if instance.state.terminal:
            return None
        return self.definitions.missing_note(instance.definition, instance.version)

    def close(self) -> None:
        """Stop the engine's writer thread (after the work queued on it)."""
        with contextlib.suppress(RuntimeError):
            self._writer.close()

    def list(
        self, state: ProcessState | None = None, definition: str | None = None, limit: int = 100
    ) -> list[ProcessView]:
        """Instances, most recently changed first (without their steps)."""
        with self.store.unit_of_work(read_only=True) as uow:
            instances = uow.processes.list(state=state, definition=definition, limit=limit)
        return [ProcessView.of(i, note=self._note(i)) for i in instances]


def _start_in(uow: UnitOfWork, new: ProcessInstance, restart_finished: bool) -> str:
    existing = uow.processes.find(new.definition, new.business_key)
    if existing is not None and (existing.state.live or not restart_finished):
        return existing.id
    if uow.processes.create(copy.copy(new)):
        return new.id
    # Another worker started one between our look and our insert: the unique index kept it to one.
    raced = uow.processes.find(new.definition, new.business_key)
    if raced is None:  # pragma: no cover - the index refused the insert, so a live instance exists
        raise RuntimeError(f"{new.definition} {new.business_key}: the store refused a new instance but holds none")
    return raced.id
