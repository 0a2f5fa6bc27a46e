"""Golden records: merging two into one, undoing a merge, and following a merged-away record to its survivor.

A merge keeps the survivor's canonical id. Each attribute of the merged document is chosen by survivorship; the
loser's cross-references move to the survivor wherever the survivor has no record in that system yet, and where
it has one (two parties in one ERP), the loser's record stays linked to the loser and is retired in its system
when the merge is carried there. The loser's golden record is never deleted: it stays, merged into the survivor
(`cd_mdm_merges`), out of the match index. Everything the merge changed is kept in the merge record, so an unmerge
restores the survivor's attributes (those not changed since), moves the cross-references back, and re-indexes both.

Everything here runs inside the caller's unit of work; carrying a merge into the systems happens after it commits
(`stewardship.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crossdock.mdm.store_index import CUSTOMER, MatchKeys
from crossdock.mdm.survivorship import Contender, SurvivorshipPolicy, survive
from crossdock.ports.mdm import AlreadyMergedError, MergeRecord, MergeState, UnknownCaseError
from crossdock.ports.store import GoldenRecord, UnitOfWork

# Merge chains are short (a survivor merged again); a longer one means a cycle, which a merge never makes.
_MAX_HOPS = 32


class GoldenRecordMissingError(LookupError):
    """A merge named a canonical id that has no golden record."""


class CarryAction:
    """What carrying a merge asks of one system (kept as strings in the merge's snapshot)."""

    RETIRE = "retire"  # the system holds both records: retire the loser's in favour of the survivor's
    RESTAMP = "restamp"  # the loser's record now belongs to the survivor: write the survivor's id into it


@dataclass(frozen=True, slots=True)
class Carry:
    """One step of carrying a merge (or its undoing) into a system."""

    system: str
    action: str
    local_id: str
    survivor_local_id: str | None = None


def changed_at(document: dict[str, Any]) -> datetime | None:
    """When a customer last changed in its system of record (its `updated_at`), for the most-recent rule; when
    Crossdock last wrote the golden record says nothing about that."""
    value = document.get("updated_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def carry_plan(merge: MergeRecord) -> list[Carry]:
    """The steps a merge asks of the systems, from its snapshot."""
    return [
        Carry(str(step["system"]), str(step["action"]), str(step["local_id"]), step.get("survivor_local_id"))
        for step in merge.snapshot.get("carry", [])
    ]


class GoldenKeeper:
    """Merges, unmerges and creates golden records of one entity, keeping the match index in step."""

    def __init__(self, policy: SurvivorshipPolicy, keys: MatchKeys, *, entity: str = CUSTOMER) -> None:
        self.policy = policy
        self.keys = keys
        self.entity = entity

    def survivor_of(self, uow: UnitOfWork, canonical_id: str) -> str:
        """The golden record a canonical id stands for now: itself, or the survivor it was merged into."""
        current = canonical_id
        for _ in range(_MAX_HOPS):
            merged = uow.mdm.merged_into(self.entity, current)
            if merged is None:
                return current
            current = merged.winner_id
        raise AlreadyMergedError(f"{self.entity} {canonical_id} is in a merge chain longer than {_MAX_HOPS}")

    def adopt(self, uow: UnitOfWork, canonical_id: str, document: dict[str, Any], system: str) -> GoldenRecord:
        """A golden record for a customer first seen outside a captured flow (an EDI buyer), indexed for matching."""
        existing = uow.golden.get(self.entity, canonical_id)
        if existing is not None:
            return existing
        body = {**document, "id": canonical_id}
        sources = {attribute: system for attribute in body if attribute != "id"}
        view = {k: v for k, v in body.items() if k != "id"}
        stored = uow.golden.put(GoldenRecord(self.entity, canonical_id, body, sources, {system: view}))
        self.keys.index_golden(uow, canonical_id)
        return stored

    def merge(
        self,
        uow: UnitOfWork,
        winner_id: str,
        loser_id: str,
        *,
        actor: str,
        reason: str | None = None,
        case_id: int | None = None,
        at: datetime | None = None,
    ) -> MergeRecord:
        """Merge `loser_id` into `winner_id` (or into the survivor it was merged into since)."""
        winner_id = self.survivor_of(uow, winner_id)
        if self.survivor_of(uow, loser_id) != loser_id:
            standing = uow.mdm.merged_into(self.entity, loser_id)
            raise AlreadyMergedError(
                f"{self.entity} {loser_id} is merged into {standing.winner_id if standing else '?'} already; "
                "unmerge it first, or merge into that survivor"
            )
        if winner_id == loser_id:
            raise ValueError(f"{self.entity} {loser_id} is already that golden record; there is nothing to merge")
        winner = self._golden(uow, winner_id)
        loser = self._golden(uow, loser_id)
        merged = survive(
            self.entity,
            [
                Contender(winner_id, winner.document, winner.sources, changed_at(winner.document)),
                Contender(loser_id, loser.document, loser.sources, changed_at(loser.document)),
            ],
            self.policy,
        )
        changed: dict[str, dict[str, Any]] = {}
        for attribute in sorted(set(winner.document) | set(merged.document)):
            before, after = winner.document.get(attribute, _ABSENT), merged.document.get(attribute, _ABSENT)
            if before != after:
                changed[attribute] = {
                    **({"absent_before": True} if before is _ABSENT else {"before": before}),
                    "after": None if after is _ABSENT else after,
                    "source_before": winner.sources.get(attribute),
                }
        carry: list[dict[str, Any]] = []
        views = dict(winner.views)
        for ref in uow.xrefs.for_canonical(self.entity, loser_id):
            if uow.mdm.move_xref(self.entity, ref.system, loser_id, winner_id):
                carry.append({"system": ref.system, "action": CarryAction.RESTAMP, "local_id": ref.local_id})
                if ref.system in loser.views:
                    views[ref.system] = loser.views[ref.system]
                continue
            held = uow.xrefs.find_local(self.entity, winner_id, ref.system)
            carry.append(
                {
                    "system": ref.system,
                    "action": CarryAction.RETIRE,
                    "local_id": ref.local_id,
                    "survivor_local_id": None if held is None else held.local_id,
                }
            )
        sources = {**winner.sources, **merged.sources}
        uow.golden.put(GoldenRecord(self.entity, winner_id, merged.document, sources, views, winner.version))
        record = uow.mdm.record_merge(
            MergeRecord(
                entity=self.entity,
                winner_id=winner_id,
                loser_id=loser_id,
                actor=actor,
                reason=reason,
                case_id=case_id,
                merged_at=at,
                snapshot={
                    "changed": changed,
                    "carry": carry,
                    "picks": [
                        {"attribute": p.attribute, "from": p.canonical_id, "system": p.system, "reason": p.reason}
                        for p in merged.picks
                    ],
                    "loser_version": loser.version,
                },
            )
        )
        self.keys.unindex(uow, loser_id)
        self.keys.index_golden(uow, winner_id)
        return record

    def unmerge(self, uow: UnitOfWork, merge_id: int, *, actor: str, at: datetime) -> MergeRecord:
        """Undo a standing merge: restore what it changed (unless changed since), move cross-references back."""
        merge = uow.mdm.merge(merge_id)
        if merge is None:
            raise UnknownCaseError(f"no merge {merge_id}; list merges with `crossdock mdm merges`")
        if merge.state is not MergeState.MERGED:
            raise AlreadyMergedError(f"merge {merge_id} was undone already by {merge.unmerged_by}")
        later = uow.mdm.merged_into(self.entity, merge.winner_id)
        if later is not None:
            raise AlreadyMergedError(
                f"{merge.winner_id} was merged into {later.winner_id} since (merge {later.id}); unmerge that first"
            )
        winner = self._golden(uow, merge.winner_id)
        document, sources, views = dict(winner.document), dict(winner.sources), dict(winner.views)
        for attribute, change in merge.snapshot.get("changed", {}).items():
            if document.get(attribute, _ABSENT) != change.get("after"):
                continue  # changed again since the merge: today's value stands
            if change.get("absent_before"):
                document.pop(attribute, None)
                sources.pop(attribute, None)
                continue
            document[attribute] = change.get("before")
            if change.get("source_before") is None:
                sources.pop(attribute, None)
            else:
                sources[attribute] = change["source_before"]
        for step in carry_plan(merge):
            if step.action != CarryAction.RESTAMP:
                continue
            ref = uow.xrefs.find_local(self.entity, merge.winner_id, step.system)
            if ref is not None and ref.local_id == step.local_id:
                uow.mdm.move_xref(self.entity, step.system, merge.winner_id, merge.loser_id)
                views.pop(step.system, None)
        uow.golden.put(GoldenRecord(self.entity, merge.winner_id, document, sources, views, winner.version))
        uow.mdm.unmerged(merge_id, actor=actor, at=at)
        self.keys.index_golden(uow, merge.loser_id)
        self.keys.index_golden(uow, merge.winner_id)
        undone = uow.mdm.merge(merge_id)
        assert undone is not None
        return undone

    def _golden(self, uow: UnitOfWork, canonical_id: str) -> GoldenRecord:
        found = uow.golden.get(self.entity, canonical_id)
        if found is None:
            raise GoldenRecordMissingError(
                f"{self.entity} {canonical_id} has no golden record; only records Crossdock has seen can be merged"
            )
        return found


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()
