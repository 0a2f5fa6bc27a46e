"""Replaying dead letters: preview, request, approve (a second person for sensitive flows), hand back at most once.

A request moves requested → approved → replayed (or requested → rejected), each move a compare-and-set in the store
with its audit entry in the same unit of work. Executing claims the request first (approved → replayed, committed)
and only then hands the dead letter back to its consumer group, so two executors (the console that approved it and
a worker's sweep, or two workers) never both hand it back, and a crash after the approval leaves an approved
request that the next sweep executes. A crash between the claim and the hand-back leaves the request replayed with
its outcome unfinished and the dead letter still in the queue, which the preview shows; it is never handed back
twice. The hand-back also checks that the dead letter is the one that was requested (same attempt count: one that
was handed back and failed again counts one more), and the log hands back only dead letters that are still dead.
Once handed back, the delivery runner's journal keeps the effect to one write per (flow, target, event).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from crossdock.console.audit import record
from crossdock.console.context import ConsoleContext, FlowInfo, FlowTargetInfo
from crossdock.ports.console import ReplayRequest, ReplayState
from crossdock.ports.event_log import DeadLetter
from crossdock.ports.store import UnitOfWork

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "crossdock"  # who executes approved requests, on the approver's behalf
_DEAD_LETTER_SCAN = 10_000
_HANDING_BACK = "handing back"  # the outcome while a claimed request is being executed


class ReplayError(ValueError):
    """A replay action is not possible as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class AttributeDiff:
    """One attribute: what the target holds now (as Crossdock last read or wrote it) and what the replay sends."""

    name: str
    current: Any
    payload: Any

    @property
    def changed(self) -> bool:
        """The replay would change this attribute in the target."""
        return bool(self.current != self.payload)


@dataclass(frozen=True, slots=True)
class TargetPreview:
    """What a replay would do to one target."""

    system: str
    entity: str
    group: str
    journaled: bool  # the delivery journal already has (flow, target, event): the runner will skip the write
    local_id: str | None  # the target's record, if cross-referenced
    current_known: bool  # Crossdock knows what the target holds for this object
    diffs: tuple[AttributeDiff, ...]
    deliveries: int  # deliveries of this event to the target recorded in lineage

    @property
    def changed(self) -> list[AttributeDiff]:
        """The attributes the write would change."""
        return [diff for diff in self.diffs if diff.changed]

    @property
    def effect(self) -> str:
        """What handing the dead letter back will do here, in one sentence."""
        if self.journaled:
            return "The journal already has this delivery: the runner will acknowledge it without writing again."
        if self.current_known and not self.changed:
            return "The target already holds this content: the write changes nothing."
        record = f"record {self.local_id}" if self.local_id else "a new record (upsert by canonical id)"
        if self.current_known:
            return f"Writes {len(self.changed)} changed attribute(s) to {self.system} {record}."
        return f"Writes the event's {self.entity} to {self.system} {record}; its current content is not known here."


@dataclass(frozen=True, slots=True)
class ReplayPreview:
    """A dead letter, where it would go again, what that would change, and the requests made for it."""

    dead_letter: DeadLetter
    flow: FlowInfo | None
    targets: tuple[TargetPreview, ...]
    second_person_required: bool
    requests: tuple[ReplayRequest, ...]

    @property
    def open_request(self) -> ReplayRequest | None:
        """The request on its way, if any."""
        return next((request for request in self.requests if request.state.open), None)


def _diffs(current: dict[str, Any] | None, payload: dict[str, Any]) -> tuple[AttributeDiff, ...]:
    names = sorted(set(payload) | set(current or {}))
    return tuple(
        AttributeDiff(name, (current or {}).get(name), payload.get(name)) for name in names if name not in ("id",)
    )


class ReplayService:
    """Dead-letter replays through the console, on the store and the log of a ConsoleContext."""

    def __init__(self, context: ConsoleContext) -> None:
        self._ctx = context

    async def dead_letter(self, dead_letter_id: int, group: str | None = None) -> DeadLetter | None:
        """A dead letter still in the queue, by id."""
        letters = await self._ctx.log.dead_letters(group, limit=_DEAD_LETTER_SCAN)
        return next((letter for letter in letters if letter.id == dead_letter_id), None)

    async def preview(self, dead_letter_id: int) -> ReplayPreview:
        """What handing one dead letter back would do; ReplayError if it is no longer in the queue."""
        letter = await self.dead_letter(dead_letter_id)
        if letter is None:
            raise ReplayError(
                f"dead letter {dead_letter_id} is no longer in the queue: it was handed back or discarded; "
                "see its replay requests below or the audit trail"
            )
        flow, target = self._ctx.flow_of_group(letter.group)

        def read(uow: UnitOfWork) -> tuple[tuple[TargetPreview, ...], list[ReplayRequest]]:
            previews = () if flow is None or target is None else (self._target_preview(uow, letter, flow, target),)
            return previews, uow.console.list_replays(dead_letter_id=dead_letter_id, limit=20)

        targets, requests = await self._ctx.read(read)
        return ReplayPreview(letter, flow, targets, self._ctx.approval_rule(flow), tuple(requests))

    @staticmethod
    def _target_preview(uow: UnitOfWork, letter: DeadLetter, flow: FlowInfo, target: FlowTargetInfo) -> TargetPreview:
        event = letter.event
        journaled = bool(uow.journal.delivered(flow.name, target.system, [event.id]))
        ref = uow.xrefs.find_local(target.entity, event.subject, target.system)
        golden = uow.golden.get(flow.entity, event.subject)
        current = golden.views.get(target.system) if golden is not None else None
        payload = event.data if isinstance(event.data, dict) else {"data": event.data}
        deliveries = sum(
            1
            for entry in uow.lineage.find(event.id)
            if entry.event_id == event.id and entry.system == target.system and entry.step.startswith("deliver.")
        )
        return TargetPreview(
            system=target.system,
            entity=target.entity,
            group=target.group,
            journaled=journaled,
            local_id=ref.local_id if ref is not None else None,
            current_known=current is not None,
            diffs=_diffs(current, payload),
            deliveries=deliveries,
        )

    async def request(self, dead_letter_ids: list[int], *, actor: str, reason: str | None) -> list[ReplayRequest]:
        """Ask for dead letters to be handed back. A flow that needs no second person is approved (by the requester)
        and executed at once; the others wait for an approver."""
        if not dead_letter_ids:
            raise ReplayError("select at least one dead letter to replay")
        letters = {letter.id: letter for letter in await self._ctx.log.dead_letters(None, limit=_DEAD_LETTER_SCAN)}
        missing = [str(i) for i in dead_letter_ids if i not in letters]
        if missing:
            raise ReplayError(
                f"dead letter(s) {', '.join(missing)} are no longer in the queue (handed back or discarded); "
                "reload the list"
            )
        now = self._ctx.clock()

        def add(uow: UnitOfWork) -> list[ReplayRequest]:
            made = []
            for dead_letter_id in dead_letter_ids:
                letter = letters[dead_letter_id]
                flow, _ = self._ctx.flow_of_group(letter.group)
                second = self._ctx.approval_rule(flow)
                request = ReplayRequest(
                    dead_letter_id=letter.id,
                    group=letter.group,
                    event_id=letter.event.id,
                    event_type=letter.event.type,
                    subject=letter.event.subject,
                    dead_attempts=letter.attempts,
                    state=ReplayState.REQUESTED if second else ReplayState.APPROVED,
                    requested_by=actor,
                    second_person_required=second,
                    flow=flow.name if flow is not None else None,
                    reason=reason,
                    requested_at=now,
                    decided_by=None if second else actor,
                    decided_at=None if second else now,
                    decision_note=None if second else "no second person needed: the flow is not sensitive",
                )
                request_id = uow.console.add_replay(request)
                if request_id is None:
                    raise ReplayError(
                        f"dead letter {letter.id} already has an open replay request; approve or reject that one"
                    )
                request = replace(request, id=request_id)
                record(
                    uow,
                    actor,
                    "replay.request",
                    "replay",
                    str(request_id),
                    dead_letter=letter.id,
                    at=now,
                    event=letter.event.id,
                    group=letter.group,
                    reason=reason,
                    second_person=second,
                )
                made.append(request)
            return made

        made = await self._ctx.write(add)
        for request in made:
            if request.state is ReplayState.APPROVED:
                await self.execute(request)
        return [await self.get(request.id) for request in made if request.id is not None]

    async def get(self, request_id: int) -> ReplayRequest:
        """One request; ReplayError if unknown."""
        found = await self._ctx.read(lambda uow: uow.console.get_replay(request_id))
        if found is None:
            raise ReplayError(f"there is no replay request {request_id}")
        return found

    async def approve(self, request_id: int, *, actor: str, note: str | None = None) -> ReplayRequest:
        """Approve a requested replay and execute it. For a sensitive flow the approver must not be the requester."""
        now = self._ctx.clock()

        def approve(uow: UnitOfWork) -> ReplayRequest:
            request = uow.console.get_replay(request_id)
            if request is None:
                raise ReplayError(f"there is no replay request {request_id}")
            if request.state is not ReplayState.REQUESTED:
                raise ReplayError(f"replay request {request_id} is {request.state.value}; only requested ones wait")
            if request.second_person_required and request.requested_by == actor:
                record(
                    uow,
                    actor,
                    "replay.approve.refused",
                    "replay",
                    str(request_id),
                    at=now,
                    reason="the requester cannot approve their own replay of a sensitive flow",
                )
                uow.commit()  # the refusal is audited even though nothing else changes
                raise ReplayError(
                    f"you asked for this replay; {request.flow or 'this flow'} is sensitive, so another approver "
                    "must approve it"
                )
            approved = replace(
                request, state=ReplayState.APPROVED, decided_by=actor, decided_at=now, decision_note=note
            )
            if not uow.console.move_replay(approved, expected=ReplayState.REQUESTED):
                raise ReplayError(f"replay request {request_id} was decided by someone else a moment ago; reload")
            record(
                uow,
                actor,
                "replay.approve",
                "replay",
                str(request_id),
                at=now,
                note=note,
                dead_letter=request.dead_letter_id,
            )
            return approved

        approved = await self._ctx.write(approve)
        await self.execute(approved)
        return await self.get(request_id)

    async def reject(self, request_id: int, *, actor: str, note: str | None = None) -> ReplayRequest:
        """Turn a requested replay down; the dead letter stays in the queue."""
        now = self._ctx.clock()

        def reject(uow: UnitOfWork) -> ReplayRequest:
            request = uow.console.get_replay(request_id)
            if request is None or request.state is not ReplayState.REQUESTED:
                raise ReplayError(f"replay request {request_id} is not waiting for a decision; reload")
            rejected = replace(
                request, state=ReplayState.REJECTED, decided_by=actor, decided_at=now, decision_note=note
            )
            if not uow.console.move_replay(rejected, expected=ReplayState.REQUESTED):
                raise ReplayError(f"replay request {request_id} was decided by someone else a moment ago; reload")
            record(uow, actor, "replay.reject", "replay", str(request_id), at=now, note=note)
            return rejected

        return await self._ctx.write(reject)

    async def execute(self, request: ReplayRequest) -> bool:
        """Hand an approved request's dead letter back, at most once: claim, then act. True if this call did it."""
        if request.id is None or request.state is not ReplayState.APPROVED:
            return False
        claimed_at = self._ctx.clock()
        claimed = replace(request, state=ReplayState.REPLAYED, replayed_at=claimed_at, outcome=_HANDING_BACK)

        def claim(uow: UnitOfWork) -> bool:
            return uow.console.move_replay(claimed, expected=ReplayState.APPROVED)

        if not await self._ctx.write(claim):
            return False  # another executor has it
        letter = await self.dead_letter(request.dead_letter_id, request.group)
        if letter is None:
            outcome, count = "not handed back: the dead letter had already left the queue (handed back or discarded)", 0
        elif letter.attempts != request.dead_attempts or letter.event.id != request.event_id:
            outcome, count = (
                f"not handed back: the dead letter changed since it was requested (attempts {request.dead_attempts}"
                f" → {letter.attempts}); request a replay again if it should go",
                0,
            )
        else:
            count = await self._ctx.log.redeliver([letter.id])
            outcome = f"handed back to {request.group}" if count else "not handed back: the log no longer held it"
        done = replace(claimed, outcome=outcome)

        def finish(uow: UnitOfWork) -> None:
            uow.console.move_replay(done, expected=ReplayState.REPLAYED)
            record(
                uow,
                SYSTEM_ACTOR,
                "replay.execute",
                "replay",
                str(request.id),
                at=self._ctx.clock(),
                approved_by=request.decided_by,
                dead_letter=request.dead_letter_id,
                handed_back=count,
                outcome=outcome,
            )

        await self._ctx.write(finish)
        return count > 0

    async def execute_approved(self) -> int:
        """Execute every approved request (after a crash, or approved by a console that stopped): the sweep."""
        approved = await self._ctx.read(lambda uow: uow.console.list_replays(states=[ReplayState.APPROVED]))
        done = 0
        for request in reversed(approved):  # oldest first
            done += await self.execute(request)
        return done


class ReplayExecutor:
    """The sweep as a worker service: any `serve` or `worker` process executes approved replays, so an approval
    whose console stopped before executing it still takes effect (once)."""

    name = "replays"

    def __init__(self, context: ConsoleContext, *, interval_s: float = 5.0) -> None:
        self._service = ReplayService(context)
        self._interval_s = interval_s
        self._next_at = 0.0

    async def run_once(self) -> int:
        """Execute approved requests, at most every `interval_s`."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_at:
            return 0
        self._next_at = loop.time() + self._interval_s
        try:
            return await self._service.execute_approved()
        except Exception:  # a store hiccup must not stop the worker; the next pass tries again
            logger.exception("replay sweep failed")
            return 0


def is_unfinished(request: ReplayRequest) -> bool:
    """A replay claimed but never finished (its executor stopped in between): the dead letter may still be queued."""
    return request.state is ReplayState.REPLAYED and request.outcome == _HANDING_BACK
