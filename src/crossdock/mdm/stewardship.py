"""The stewardship queue: likely duplicates a person decides, side by side, once.

A case is either an arriving record held by the online gate (`source_system` set, `left` = `<system>:<local id>`)
or a pair of golden records found by a batch run (`source_system` None, both sides canonical ids). Deciding:

- merge, arriving record: it is the golden record's customer. Its cross-reference is linked (or moved) to the
  survivor and what it held is let through for that customer; if its system already holds a record of the
  survivor, the two are merged as golden records and its record is retired in that system;
- merge, pair: the golden records are merged (survivorship per attribute) and the merge is carried to the systems;
- keep apart, arriving record: it is a customer of its own: what it held is let through as a new customer;
- keep apart, pair: recorded; the gate and the batch never ask about the pair again.

The decision commits first, with every store change it makes; letting held records through and carrying merges
into the systems happen after, and are repeated by `resume()` if a crash came between.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crossdock.events.envelope import CloudEvent, event_type
from crossdock.mdm.golden import Carry, CarryAction, GoldenKeeper, carry_plan
from crossdock.mdm.records import customer_record, record_json
from crossdock.mdm.release import EventSink, Outcome, Releaser
from crossdock.ports.connector import ConnectorError, ErrorKind, StampsCanonicalIds
from crossdock.ports.mdm import (
    CaseDecidedError,
    CaseState,
    DuplicateRetirement,
    MergeRecord,
    MergesDuplicates,
    StewardshipCase,
    UnknownCaseError,
)
from crossdock.ports.store import BusinessException, CrossReference, ExceptionClass, Store, UnitOfWork

logger = logging.getLogger(__name__)

OWNER_QUEUE = "mdm"
_EVENTS = uuid.UUID("0b6c8f5e-2d4a-4e61-9f3b-7a1d5c2e8b90")  # ids of events about merges
# Fields a steward compares, in the order a person reads a customer.
COMPARED = ("name", "legal_name", "tax_id", "street", "city", "region", "postal_code", "country", "phone", "email")


class Decision(enum.StrEnum):
    """A steward's answer."""

    MERGE = "merge"
    KEEP_APART = "keep_apart"


class MergeAction(enum.StrEnum):
    """What carrying a merge does in a system that holds both records (`mdm.merge_actions` per system)."""

    RETIRE = "retire"  # the connector's own way: Tryton makes the party inactive, Salesforce marks the account
    NONE = "none"  # leave the system alone; the merge is recorded in Crossdock only


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One field side by side, with how the matcher judged it."""

    field: str
    left: Any
    right: Any
    agreement: str | None = None
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a steward sees for one case."""

    case: StewardshipCase
    rows: tuple[ComparisonRow, ...]
    survivor_id: str  # the golden record the right side stands for now
    survivor_document: dict[str, Any]
    survivor_links: tuple[tuple[str, str], ...]  # (system, local id) of the survivor
    left_links: tuple[tuple[str, str], ...]  # the left side's record(s)
    held: str  # what waits for the decision, in words


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What deciding a case did."""

    case: StewardshipCase
    outcome: Outcome | None
    canonical_id: str | None
    merge: MergeRecord | None = None
    release: str | None = None
    carried: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Plan:
    case: StewardshipCase
    outcome: Outcome | None
    canonical_id: str | None
    merge: MergeRecord | None


def _split_key(key: str) -> tuple[str, str]:
    system, _, local_id = key.partition(":")
    return system, local_id


def _held_document(held: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The canonical customer a held record would have become."""
    if not held:
        return None
    if isinstance(held.get("canonical"), dict):
        return dict(held["canonical"])
    created = held.get("created")
    if isinstance(created, dict) and isinstance(created.get("data"), dict):
        return dict(created["data"])
    return None


def _provisional_id(case: StewardshipCase) -> str | None:
    held = case.held or {}
    value = held.get("provisional_id") or held.get("canonical_id")
    return None if value is None else str(value)


def _summary(held: Mapping[str, Any] | None) -> str:
    if not held:
        return "nothing"
    events = held.get("events") or []
    creation = "a new customer" if held.get("created") or held.get("canonical") else "no customer"
    return f"{creation} from {held.get('system', '?')}, {len(events)} event(s) waiting for it"


class StewardshipService:
    """Lists, compares and decides stewardship cases; merges and unmerges golden records and carries them out."""

    def __init__(
        self,
        store: Store,
        keeper: GoldenKeeper,
        *,
        releasers: Mapping[str, Releaser] | None = None,
        systems: Mapping[str, object] | None = None,
        merge_actions: Mapping[str, MergeAction] | None = None,
        sink: EventSink | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self.keeper = keeper
        self.entity = keeper.entity
        self._releasers = dict(releasers or {})
        self._systems = dict(systems or {})
        self._actions = dict(merge_actions or {})
        self._sink = sink
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- the queue ---

    def open_cases(self, *, limit: int = 100) -> list[StewardshipCase]:
        """Cases waiting for a decision, oldest first."""
        return self.cases(state=CaseState.OPEN, limit=limit)

    def cases(self, *, state: CaseState | None = None, limit: int = 100) -> list[StewardshipCase]:
        """Cases, oldest first."""
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.mdm.cases(state=state, entity=self.entity, limit=limit)

    def compare(self, case_id: int) -> Comparison:
        """The two sides of a case, field by field, with the matcher's judgement and what waits."""
        with self._store.unit_of_work(read_only=True) as uow:
            case = self._case(uow, case_id)
            survivor = self.keeper.survivor_of(uow, case.right)
            golden = uow.golden.get(self.entity, survivor)
            document = {} if golden is None else dict(golden.document)
            right = record_json(customer_record(survivor, document)) if golden is not None else case.right_record
            survivor_links = tuple((r.system, r.local_id) for r in uow.xrefs.for_canonical(self.entity, survivor))
            if case.source_system is None:
                left_links = tuple((r.system, r.local_id) for r in uow.xrefs.for_canonical(self.entity, case.left))
            else:
                left_links = (_split_key(case.left),)
        judged = {str(item.get("field")): item for item in case.explanation}
        rows = [
            ComparisonRow(
                name,
                case.left_record.get(name),
                right.get(name),
                judged.get(name, {}).get("agreement"),
                judged.get(name, {}).get("weight"),
            )
            for name in COMPARED
        ]
        rows.extend(
            ComparisonRow(name, None, None, item.get("agreement"), item.get("weight"))
            for name, item in judged.items()
            if name not in COMPARED
        )
        return Comparison(case, tuple(rows), survivor, document, survivor_links, left_links, _summary(case.held))

    # --- decisions ---

    async def decide(self, case_id: int, decision: Decision, *, actor: str, note: str | None = None) -> DecisionResult:
        """Record a steward's decision, then let what the case held through and carry any merge to the systems."""
        plan = await asyncio.to_thread(self._decide, case_id, Decision(decision), actor, note)
        release = await self._release(plan)
        carried = await self.carry(plan.merge.id) if plan.merge is not None and plan.merge.id is not None else {}
        with self._store.unit_of_work(read_only=True) as uow:
            case = self._case(uow, case_id)
        return DecisionResult(case, plan.outcome, plan.canonical_id, plan.merge, release, carried)

    def _decide(self, case_id: int, decision: Decision, actor: str, note: str | None) -> _Plan:
        at = self._clock()
        with self._store.unit_of_work() as uow:
            case = self._case(uow, case_id)
            if case.state is not CaseState.OPEN:
                raise CaseDecidedError(
                    f"case {case_id} was decided already ({case.state.value} by {case.decided_by}); it stands"
                )
            state = CaseState.MERGED if decision is Decision.MERGE else CaseState.KEPT_APART
            uow.mdm.decide(case_id, state, actor=actor, at=at, note=note)
            plan = self._apply(uow, case, decision, actor, note, at)
            uow.commit()
        return plan

    def _apply(
        self, uow: UnitOfWork, case: StewardshipCase, decision: Decision, actor: str, note: str | None, at: datetime
    ) -> _Plan:
        if decision is Decision.KEEP_APART:
            if case.source_system is None:
                return _Plan(case, None, None, None)
            return _Plan(case, Outcome.NEW, _provisional_id(case), None)
        survivor = self.keeper.survivor_of(uow, case.right)
        reason = note or f"stewardship case {case.id}"
        if case.source_system is None:
            loser = self.keeper.survivor_of(uow, case.left)
            merge = self.keeper.merge(uow, survivor, loser, actor=actor, reason=reason, case_id=case.id, at=at)
            return _Plan(case, Outcome.MERGED, survivor, merge)
        system, local_id = _split_key(case.left)
        ref = uow.xrefs.find_canonical(self.entity, system, local_id)
        if ref is None:
            linkable = (case.held or {}).get("link", True)
            if linkable and uow.xrefs.find_local(self.entity, survivor, system) is None:
                uow.xrefs.link(CrossReference(self.entity, survivor, system, local_id))
            return _Plan(case, Outcome.LINKED, survivor, None)
        current = self.keeper.survivor_of(uow, ref.canonical_id)
        if current == survivor or uow.mdm.move_xref(self.entity, system, ref.canonical_id, survivor):
            return _Plan(case, Outcome.LINKED, survivor, None)
        # The survivor has its own record in that system: two records of one customer there. Both become golden
        # records merged into one, and the arriving one is retired in its system when the merge is carried.
        document = _held_document(case.held)
        if uow.golden.get(self.entity, current) is None:
            if document is None:
                raise UnknownCaseError(f"case {case.id} holds no record to merge; keep it apart or merge by hand")
            self.keeper.adopt(uow, current, document, system)
        merge = self.keeper.merge(uow, survivor, current, actor=actor, reason=reason, case_id=case.id, at=at)
        return _Plan(case, Outcome.MERGED, survivor, merge)

    async def _release(self, plan: _Plan) -> str | None:
        case = plan.case
        if case.held is None or plan.outcome in (None, Outcome.MERGED) or plan.canonical_id is None:
            summary = "nothing held" if case.held is None else f"not let through: {plan.outcome or 'kept apart'}"
            await asyncio.to_thread(self._released, case, summary)
            return summary
        channel = str(case.held.get("channel", ""))
        releaser = self._releasers.get(channel)
        if releaser is None:
            logger.warning("case %s holds a record of channel %r, which no releaser serves", case.id, channel)
            await asyncio.to_thread(
                self._raise,
                f"stewardship case {case.id} was decided, but nothing lets {channel!r} records through here; "
                "run `crossdock mdm resume` where the flows run",
                f"mdm-release|{case.id}",
                {"case": case.id, "channel": channel},
                ExceptionClass.DOWNSTREAM_OUTAGE,
            )
            return None
        summary = await releaser.release(case, plan.outcome, plan.canonical_id)
        await asyncio.to_thread(self._released, case, summary)
        return summary

    def _released(self, case: StewardshipCase, summary: str) -> None:
        assert case.id is not None
        with self._store.unit_of_work() as uow:
            uow.mdm.released(case.id, summary, at=self._clock())
            uow.commit()

    # --- merges outside a case, undoing them, carrying them out ---

    async def merge(self, winner_id: str, loser_id: str, *, actor: str, reason: str | None = None) -> MergeRecord:
        """Merge two golden records by hand (no case), then carry the merge to the systems."""

        def merge() -> MergeRecord:
            with self._store.unit_of_work() as uow:
                record = self.keeper.merge(uow, winner_id, loser_id, actor=actor, reason=reason, at=self._clock())
                uow.commit()
            return record

        record = await asyncio.to_thread(merge)
        assert record.id is not None
        await self.carry(record.id)
        return record

    async def unmerge(self, merge_id: int, *, actor: str) -> MergeRecord:
        """Undo a merge, and undo what carrying it did in the systems (reactivate, stamp the old id back)."""

        def unmerge() -> MergeRecord:
            with self._store.unit_of_work() as uow:
                record = self.keeper.unmerge(uow, merge_id, actor=actor, at=self._clock())
                uow.commit()
            return record

        record = await asyncio.to_thread(unmerge)
        await self._carry_back(record)
        return record

    async def carry(self, merge_id: int) -> dict[str, str]:
        """Carry a merge to the systems (each step once) and log `customer.merged`; returns what each did."""
        with self._store.unit_of_work(read_only=True) as uow:
            merge = uow.mdm.merge(merge_id)
        if merge is None:
            raise UnknownCaseError(f"no merge {merge_id}")
        done = dict(merge.carried)
        for step in carry_plan(merge):
            if step.system in done and not done[step.system].startswith("failed"):
                continue
            done[step.system] = await self._carry_step(merge, step)
            await asyncio.to_thread(self._carried, merge, step.system, done[step.system])
        if "event" not in done or done["event"].startswith("failed"):
            done["event"] = await self._publish_merged(merge)
            await asyncio.to_thread(self._carried, merge, "event", done["event"])
        return done

    async def resume(self) -> int:
        """Let through what decided cases still hold, and carry merges not carried yet: after a crash between a
        decision and its effects. Returns how many cases and merges were taken up."""

        def pending() -> tuple[list[StewardshipCase], list[MergeRecord]]:
            with self._store.unit_of_work(read_only=True) as uow:
                cases = uow.mdm.unreleased()
                merges = [m for m in uow.mdm.merges(self.entity, limit=500) if _uncarried(m)]
            return cases, merges

        cases, merges = await asyncio.to_thread(pending)
        for case in cases:
            plan = await asyncio.to_thread(self._replan, case)
            await self._release(plan)
        for merge in merges:
            assert merge.id is not None
            await self.carry(merge.id)
        return len(cases) + len(merges)

    def _replan(self, case: StewardshipCase) -> _Plan:
        """The outcome a decided case had, read back from the store (its effects there are committed)."""
        if case.state is CaseState.KEPT_APART:
            outcome = None if case.source_system is None else Outcome.NEW
            return _Plan(case, outcome, _provisional_id(case), None)
        with self._store.unit_of_work(read_only=True) as uow:
            survivor = self.keeper.survivor_of(uow, case.right)
            merged = [m for m in uow.mdm.merges(self.entity, survivor) if m.case_id == case.id]
        outcome = Outcome.MERGED if merged or case.source_system is None else Outcome.LINKED
        return _Plan(case, outcome, survivor, merged[0] if merged else None)

    async def _carry_step(self, merge: MergeRecord, step: Carry) -> str:
        connector = self._systems.get(step.system)
        try:
            if step.action == CarryAction.RESTAMP:
                if isinstance(connector, StampsCanonicalIds):
                    await connector.stamp_canonical_ids(self.entity, [(step.local_id, merge.winner_id)])
                    return "restamped"
                return "kept (nothing to stamp)"
            if self._actions.get(step.system, MergeAction.RETIRE) is MergeAction.NONE:
                return "left alone by policy"
            if not isinstance(connector, MergesDuplicates):
                return f"left alone ({step.system} cannot retire duplicates)"
            return await connector.retire_duplicate(
                DuplicateRetirement(
                    entity=self.entity,
                    local_id=step.local_id,
                    survivor_id=merge.winner_id,
                    survivor_local_id=step.survivor_local_id,
                    note=_note(merge, step),
                )
            )
        except ConnectorError as error:
            outcome = f"failed: {error}"
            exception_class = (
                ExceptionClass.DATA_QUALITY
                if error.kind is ErrorKind.DATA_QUALITY
                else ExceptionClass.DOWNSTREAM_OUTAGE
            )
            await asyncio.to_thread(
                self._raise,
                f"merge {merge.id} ({merge.loser_id} into {merge.winner_id}) was not carried to {step.system}: "
                f"{error}; it is retried by `crossdock mdm resume`",
                f"mdm-carry|{merge.id}|{step.system}",
                {"merge": merge.id, "system": step.system, "local_id": step.local_id},
                exception_class,
            )
            return outcome

    async def _carry_back(self, merge: MergeRecord) -> None:
        for step in carry_plan(merge):
            outcome = merge.carried.get(step.system, "")
            connector = self._systems.get(step.system)
            undone = "nothing to undo"
            try:
                if step.action == CarryAction.RESTAMP and isinstance(connector, StampsCanonicalIds):
                    await connector.stamp_canonical_ids(self.entity, [(step.local_id, merge.loser_id)])
                    undone = "restamped back"
                elif (
                    step.action == CarryAction.RETIRE
                    and isinstance(connector, MergesDuplicates)
                    and not outcome.startswith(("failed", "left alone"))
                    and outcome
                ):
                    undone = await connector.restore_duplicate(
                        self.entity, step.local_id, f"unmerged from {merge.winner_id} by {merge.unmerged_by}"
                    )
            except ConnectorError as error:
                undone = f"failed: {error}"
                await asyncio.to_thread(
                    self._raise,
                    f"unmerge of merge {merge.id} was not carried to {step.system}: {error}; restore "
                    f"{step.system} record {step.local_id} by hand",
                    f"mdm-uncarry|{merge.id}|{step.system}",
                    {"merge": merge.id, "system": step.system, "local_id": step.local_id},
                    ExceptionClass.DOWNSTREAM_OUTAGE,
                )
            await asyncio.to_thread(self._carried, merge, f"undo:{step.system}", undone)

    async def _publish_merged(self, merge: MergeRecord) -> str:
        if self._sink is None:
            return "not logged (no publisher)"
        with self._store.unit_of_work(read_only=True) as uow:
            golden = uow.golden.get(self.entity, merge.winner_id)
        if golden is None:
            return "not logged (the survivor has no golden record)"
        event = CloudEvent(
            type=event_type(self.entity, "merged"),
            source="/mdm",
            subject=merge.winner_id,
            data=dict(golden.document),
            id=str(uuid.uuid5(_EVENTS, f"merged|{merge.id}|{merge.winner_id}|{merge.loser_id}")),
            correlationid=f"merge-{merge.id}",
            businesskeys={"merged": merge.loser_id, "survivor": merge.winner_id},
        )
        try:
            await self._sink.publish([event])
        except Exception as error:  # noqa: BLE001 - the sink's refusal (schema, log down) is recorded, not fatal
            return f"failed: {error}"
        return "published"

    def _carried(self, merge: MergeRecord, system: str, outcome: str) -> None:
        assert merge.id is not None
        with self._store.unit_of_work() as uow:
            uow.mdm.carried(merge.id, system, outcome)
            uow.commit()

    def _raise(self, reason: str, dedupe_key: str, details: dict[str, Any], exception_class: ExceptionClass) -> None:
        with self._store.unit_of_work() as uow:
            uow.exceptions.raise_exception(
                BusinessException(
                    exception_class=exception_class,
                    reason=reason,
                    owner_queue=OWNER_QUEUE,
                    entity=self.entity,
                    details=details,
                    dedupe_key=dedupe_key,
                )
            )
            uow.commit()

    def _case(self, uow: UnitOfWork, case_id: int) -> StewardshipCase:
        case = uow.mdm.case(case_id)
        if case is None or case.entity != self.entity:
            raise UnknownCaseError(f"no stewardship case {case_id}; list the open ones with `crossdock mdm cases`")
        return case


def _uncarried(merge: MergeRecord) -> bool:
    if merge.state.value != "merged":
        return False
    wanted = {step.system for step in carry_plan(merge)} | {"event"}
    return any(merge.carried.get(name, "failed").startswith("failed") for name in wanted)


def _note(merge: MergeRecord, step: Carry) -> str:
    when = (merge.merged_at or datetime.now(UTC)).strftime("%Y-%m-%d")
    survivor = f"record {step.survivor_local_id}" if step.survivor_local_id else "its survivor"
    return (
        f"Duplicate: merged into {survivor} (Crossdock customer {merge.winner_id}) on {when} by {merge.actor}"
        f"{f' ({merge.reason})' if merge.reason else ''}. Use the surviving record."
    )
