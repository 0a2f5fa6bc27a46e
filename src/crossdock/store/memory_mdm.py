"""Master data in memory (`uow.mdm` of MemoryStore): the match index, merges and stewardship cases."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crossdock.ports.mdm import (
    AlreadyMergedError,
    CaseDecidedError,
    CaseState,
    MatchEntry,
    MergeRecord,
    MergeState,
    StewardshipCase,
    UnknownCaseError,
    pair_key,
)
from crossdock.store.rules import as_utc, stamp, utc_now

if TYPE_CHECKING:
    from crossdock.store.memory import MemoryUnitOfWork, _Records


def _stored(value: Any) -> Any:
    """A JSON column's value as it reads back: unserialisable values fail here as they would in SQL."""
    return json.loads(json.dumps(value))


class MemoryMdmRecords:
    """MdmRecords in memory."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    # --- the match index ---

    def index(self, entry: MatchEntry) -> None:
        """Index a golden record, replacing its previous keys and record."""
        keys = tuple(sorted(set(entry.keys)))
        stored = replace(entry, record=_stored(entry.record), keys=keys, updated_at=stamp(entry.updated_at, utc_now()))

        def index(records: _Records) -> None:
            _drop_keys(records, entry.entity, entry.canonical_id)
            for key in keys:
                held = records.mdm_keys.get((entry.entity, key), frozenset())
                records.mdm_keys[(entry.entity, key)] = held | {entry.canonical_id}
            records.mdm_entries[(entry.entity, entry.canonical_id)] = stored

        self._uow.change(index)

    def unindex(self, entity: str, canonical_id: str) -> None:
        """Take a golden record out of the index."""

        def unindex(records: _Records) -> None:
            _drop_keys(records, entity, canonical_id)
            records.mdm_entries.pop((entity, canonical_id), None)

        self._uow.change(unindex)

    def entry(self, entity: str, canonical_id: str) -> MatchEntry | None:
        """The indexed entry of a golden record."""
        return copy.deepcopy(self._uow.records().mdm_entries.get((entity, canonical_id)))

    def candidates(self, entity: str, keys: Sequence[str], *, limit: int = 50, per_key: int = 50) -> list[MatchEntry]:
        """Indexed records sharing at least one key, those sharing the most first, at most `per_key` a key."""
        if limit < 1:
            return []
        records = self._uow.records()
        shared: dict[str, int] = {}
        for key in set(keys):
            for canonical_id in sorted(records.mdm_keys.get((entity, key), ()))[:per_key]:
                shared[canonical_id] = shared.get(canonical_id, 0) + 1
        best = sorted(shared, key=lambda cid: (-shared[cid], cid))[:limit]
        return [copy.deepcopy(records.mdm_entries[(entity, cid)]) for cid in best]

    def entries(self, entity: str, *, after: str | None = None, limit: int = 1000) -> list[MatchEntry]:
        """Indexed records in canonical-id order, from just after `after`."""
        records = self._uow.records()
        ids = sorted(cid for (e, cid) in records.mdm_entries if e == entity and (after is None or cid > after))
        return [copy.deepcopy(records.mdm_entries[(entity, cid)]) for cid in ids[:limit]]

    # --- stewardship cases ---

    def open_case(self, case: StewardshipCase) -> tuple[StewardshipCase, bool]:
        """Open a case, unless its pair has one already: then return that one and False."""
        existing = self._by_pair(case.pair)
        if existing is not None:
            return existing, False
        case_id = self._uow.store.next_id()
        stored = replace(
            case,
            explanation=_stored(case.explanation),
            left_record=_stored(case.left_record),
            right_record=_stored(case.right_record),
            held=None if case.held is None else _stored(case.held),
            state=CaseState.OPEN,
            decided_by=None,
            decided_at=None,
            note=None,
            opened_at=stamp(case.opened_at, utc_now()),
            released_at=None,
            release=None,
            id=case_id,
        )
        self._uow.change(lambda records: records.mdm_cases.__setitem__(case_id, stored))
        return copy.deepcopy(stored), True

    def case(self, case_id: int) -> StewardshipCase | None:
        """One case."""
        return copy.deepcopy(self._uow.records().mdm_cases.get(case_id))

    def case_for_pair(self, entity: str, first: str, second: str) -> StewardshipCase | None:
        """The case of a pair, in any state."""
        return self._by_pair(pair_key(entity, first, second))

    def _by_pair(self, key: str) -> StewardshipCase | None:
        found = next((c for c in self._uow.records().mdm_cases.values() if c.pair == key), None)
        return copy.deepcopy(found)

    def open_cases_for(self, entity: str, left: str) -> list[StewardshipCase]:
        """The open cases of an arriving record, oldest first."""
        hits = [
            c
            for c in self._uow.records().mdm_cases.values()
            if (c.entity, c.left, c.state) == (entity, left, CaseState.OPEN)
        ]
        return copy.deepcopy(sorted(hits, key=_case_order))

    def cases(
        self, *, state: CaseState | None = None, entity: str | None = None, limit: int = 100
    ) -> list[StewardshipCase]:
        """Cases, oldest first, filtered."""
        hits = [
            c
            for c in self._uow.records().mdm_cases.values()
            if (state is None or c.state == state) and (entity is None or c.entity == entity)
        ]
        return copy.deepcopy(sorted(hits, key=_case_order)[:limit])

    def hold(self, case_id: int, held: dict[str, Any] | None) -> None:
        """Replace what an open case holds."""
        found = self._open(case_id)
        changed = replace(found, held=None if held is None else _stored(held))
        self._uow.change(lambda records: records.mdm_cases.__setitem__(case_id, changed))

    def decide(self, case_id: int, state: CaseState, *, actor: str, at: datetime, note: str | None = None) -> None:
        """Record the decision of an open case."""
        if state is CaseState.OPEN:
            raise ValueError("a decision is merged or kept_apart; a case cannot be decided back to open")
        found = self._open(case_id)
        decided = replace(found, state=state, decided_by=actor, decided_at=as_utc(at), note=note)
        self._uow.change(lambda records: records.mdm_cases.__setitem__(case_id, decided))

    def released(self, case_id: int, release: str, *, at: datetime) -> None:
        """Record that what a decided case held was let through, and how."""
        found = self._uow.records().mdm_cases.get(case_id)
        if found is None:
            raise UnknownCaseError(f"no stewardship case {case_id}")
        if found.state is CaseState.OPEN:
            raise ValueError(f"case {case_id} is still open: decide it before letting what it holds through")
        changed = replace(found, released_at=as_utc(at), release=release)
        self._uow.change(lambda records: records.mdm_cases.__setitem__(case_id, changed))

    def unreleased(self, *, limit: int = 100) -> list[StewardshipCase]:
        """Decided cases whose held record has not been let through yet, oldest first."""
        hits = [
            c for c in self._uow.records().mdm_cases.values() if c.state is not CaseState.OPEN and c.released_at is None
        ]
        return copy.deepcopy(sorted(hits, key=lambda c: (c.decided_at or utc_now(), c.id or 0))[:limit])

    def _open(self, case_id: int) -> StewardshipCase:
        found = self._uow.records().mdm_cases.get(case_id)
        if found is None:
            raise UnknownCaseError(f"no stewardship case {case_id}; list the open ones with `crossdock mdm cases`")
        if found.state is not CaseState.OPEN:
            raise CaseDecidedError(
                f"case {case_id} was decided already ({found.state.value} by {found.decided_by}); its decision stands"
            )
        return found

    # --- merges ---

    def record_merge(self, merge: MergeRecord) -> MergeRecord:
        """Store a merge; a loser can be merged into one winner at a time."""
        standing = self.merged_into(merge.entity, merge.loser_id)
        if standing is not None:
            raise AlreadyMergedError(
                f"{merge.entity} {merge.loser_id} is merged into {standing.winner_id} already (merge {standing.id}); "
                "unmerge it first, or merge into that survivor"
            )
        merge_id = self._uow.store.next_id()
        stored = replace(
            merge,
            snapshot=_stored(merge.snapshot),
            carried=dict(merge.carried),
            state=MergeState.MERGED,
            merged_at=stamp(merge.merged_at, utc_now()),
            unmerged_at=None,
            unmerged_by=None,
            id=merge_id,
        )
        self._uow.change(lambda records: records.mdm_merges.__setitem__(merge_id, stored))
        return copy.deepcopy(stored)

    def merge(self, merge_id: int) -> MergeRecord | None:
        """One merge."""
        return copy.deepcopy(self._uow.records().mdm_merges.get(merge_id))

    def merges(
        self, entity: str, canonical_id: str | None = None, *, state: MergeState | None = None, limit: int = 100
    ) -> list[MergeRecord]:
        """Merges naming a canonical id as winner or loser, newest first."""
        hits = [
            m
            for m in self._uow.records().mdm_merges.values()
            if m.entity == entity
            and (canonical_id is None or canonical_id in (m.winner_id, m.loser_id))
            and (state is None or m.state == state)
        ]
        return copy.deepcopy(sorted(hits, key=lambda m: -(m.id or 0))[:limit])

    def merged_into(self, entity: str, canonical_id: str) -> MergeRecord | None:
        """The standing merge that took this golden record away, if any."""
        found = next(
            (
                m
                for m in self._uow.records().mdm_merges.values()
                if (m.entity, m.loser_id, m.state) == (entity, canonical_id, MergeState.MERGED)
            ),
            None,
        )
        return copy.deepcopy(found)

    def unmerged(self, merge_id: int, *, actor: str, at: datetime) -> None:
        """Mark a merge undone."""
        found = self._uow.records().mdm_merges.get(merge_id)
        if found is None:
            raise UnknownCaseError(f"no merge {merge_id}")
        if found.state is not MergeState.MERGED:
            raise CaseDecidedError(f"merge {merge_id} was undone already by {found.unmerged_by}")
        undone = replace(found, state=MergeState.UNMERGED, unmerged_at=as_utc(at), unmerged_by=actor)
        self._uow.change(lambda records: records.mdm_merges.__setitem__(merge_id, undone))

    def carried(self, merge_id: int, system: str, outcome: str) -> None:
        """Record what carrying a merge into one system did."""
        found = self._uow.records().mdm_merges.get(merge_id)
        if found is None:
            raise UnknownCaseError(f"no merge {merge_id}")
        changed = replace(found, carried={**found.carried, system: outcome})
        self._uow.change(lambda records: records.mdm_merges.__setitem__(merge_id, changed))

    def move_xref(self, entity: str, system: str, from_id: str, to_id: str) -> bool:
        """Repoint a system's cross-reference from one canonical id to another."""
        records = self._uow.records()
        ref = records.xrefs.get((entity, from_id, system))
        if ref is None or (entity, to_id, system) in records.xrefs:
            return False
        moved = replace(ref, canonical_id=to_id, updated_at=utc_now())

        def move(records: _Records) -> None:
            del records.xrefs[(entity, from_id, system)]
            records.xrefs[(entity, to_id, system)] = moved
            records.xref_by_local[(entity, system, moved.local_id)] = (entity, to_id, system)

        self._uow.change(move)
        return True


def _drop_keys(records: _Records, entity: str, canonical_id: str) -> None:
    previous = records.mdm_entries.get((entity, canonical_id))
    for key in previous.keys if previous is not None else ():
        held = records.mdm_keys.get((entity, key), frozenset()) - {canonical_id}
        if held:
            records.mdm_keys[(entity, key)] = held
        else:
            records.mdm_keys.pop((entity, key), None)


def _case_order(case: StewardshipCase) -> tuple[datetime, int]:
    return (case.opened_at or utc_now(), case.id or 0)
