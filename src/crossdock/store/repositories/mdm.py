"""Master data in SQL: the match index of golden records, merges and stewardship cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

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
from crossdock.store.repositories.base import Transaction, chunks, insert_new, upsert
from crossdock.store.rules import as_utc, stamp, utc_now
from crossdock.store.tables import cross_references as xrefs
from crossdock.store.tables import mdm_cases as cases
from crossdock.store.tables import mdm_match_keys as keys_table
from crossdock.store.tables import mdm_match_records as records
from crossdock.store.tables import mdm_merges as merges


def _entry(row: sa.Row[Any]) -> MatchEntry:
    return MatchEntry(
        entity=row.entity,
        canonical_id=row.canonical_id,
        record=dict(row.record),
        keys=tuple(row.keys),
        updated_at=row.updated_at,
    )


def _case(row: sa.Row[Any]) -> StewardshipCase:
    return StewardshipCase(
        entity=row.entity,
        left=row.left_key,
        right=row.right_key,
        probability=float(row.probability),
        score=float(row.score),
        explanation=list(row.explanation),
        left_record=dict(row.left_record),
        right_record=dict(row.right_record),
        held=None if row.held is None else dict(row.held),
        source_system=row.source_system,
        state=CaseState(row.state),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        opened_at=row.opened_at,
        released_at=row.released_at,
        release=row.release,
        id=int(row.id),
    )


def _merge(row: sa.Row[Any]) -> MergeRecord:
    return MergeRecord(
        entity=row.entity,
        winner_id=row.winner_id,
        loser_id=row.loser_id,
        actor=row.actor,
        snapshot=dict(row.snapshot),
        reason=row.reason,
        case_id=None if row.case_id is None else int(row.case_id),
        state=MergeState(row.state),
        carried=dict(row.carried),
        merged_at=row.merged_at,
        unmerged_at=row.unmerged_at,
        unmerged_by=row.unmerged_by,
        id=int(row.id),
    )


class SqlMdmRecords:
    """The MdmRecords repository on `cd_mdm_match_records`, `cd_mdm_match_keys`, `cd_mdm_merges`, `cd_mdm_cases`."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    # --- the match index ---

    def index(self, entry: MatchEntry) -> None:
        """Index a golden record, replacing its previous keys and record."""
        keys = sorted(set(entry.keys))
        k = keys_table
        self._tx.write(sa.delete(k).where(k.c.entity == entry.entity, k.c.canonical_id == entry.canonical_id))
        if keys:
            self._tx.write(
                sa.insert(k), [{"entity": entry.entity, "key": key, "canonical_id": entry.canonical_id} for key in keys]
            )
        upsert(
            self._tx,
            records,
            {
                "entity": entry.entity,
                "canonical_id": entry.canonical_id,
                "record": entry.record,
                "keys": keys,
                "updated_at": stamp(entry.updated_at, utc_now()),
            },
            key=("entity", "canonical_id"),
        )

    def unindex(self, entity: str, canonical_id: str) -> None:
        """Take a golden record out of the index."""
        k, r = keys_table, records
        self._tx.write(sa.delete(k).where(k.c.entity == entity, k.c.canonical_id == canonical_id))
        self._tx.write(sa.delete(r).where(r.c.entity == entity, r.c.canonical_id == canonical_id))

    def entry(self, entity: str, canonical_id: str) -> MatchEntry | None:
        """The indexed entry of a golden record."""
        r = records
        row = self._tx.read(sa.select(r).where(r.c.entity == entity, r.c.canonical_id == canonical_id)).first()
        return None if row is None else _entry(row)

    def candidates(self, entity: str, keys: Sequence[str], *, limit: int = 50, per_key: int = 50) -> list[MatchEntry]:
        """Indexed records sharing at least one key, those sharing the most first, at most `per_key` a key."""
        if limit < 1:
            return []
        k = keys_table
        shared: dict[str, int] = {}
        for key in sorted(set(keys)):
            # One primary-key range read per key (a record has a handful), each bounded.
            rows = self._tx.read(
                sa.select(k.c.canonical_id)
                .where(k.c.entity == entity, k.c.key == key)
                .order_by(k.c.canonical_id)
                .limit(per_key)
            )
            for row in rows:
                shared[row.canonical_id] = shared.get(row.canonical_id, 0) + 1
        best = sorted(shared, key=lambda cid: (-shared[cid], cid))[:limit]
        order = {canonical_id: n for n, canonical_id in enumerate(best)}
        found: list[MatchEntry] = []
        for part in chunks(list(order)):
            rows = self._tx.read(sa.select(records).where(records.c.entity == entity, records.c.canonical_id.in_(part)))
            found.extend(_entry(row) for row in rows)
        return sorted(found, key=lambda e: order[e.canonical_id])

    def entries(self, entity: str, *, after: str | None = None, limit: int = 1000) -> list[MatchEntry]:
        """Indexed records in canonical-id order, from just after `after`."""
        r = records
        query = sa.select(r).where(r.c.entity == entity)
        if after is not None:
            query = query.where(r.c.canonical_id > after)
        return [_entry(row) for row in self._tx.read(query.order_by(r.c.canonical_id).limit(limit))]

    # --- stewardship cases ---

    def open_case(self, case: StewardshipCase) -> tuple[StewardshipCase, bool]:
        """Open a case, unless its pair has one already: then return that one and False."""
        values = {
            "entity": case.entity,
            "pair_key": case.pair,
            "left_key": case.left,
            "right_key": case.right,
            "state": CaseState.OPEN.value,
            "probability": case.probability,
            "score": case.score,
            "explanation": case.explanation,
            "left_record": case.left_record,
            "right_record": case.right_record,
            "held": case.held,
            "source_system": case.source_system,
            "opened_at": stamp(case.opened_at, utc_now()),
        }
        created = insert_new(self._tx, cases, values, cases.c.id)
        stored = self._by_pair(case.pair)
        if stored is None:  # pragma: no cover - the row was either inserted or already there
            raise UnknownCaseError(f"the case of {case.pair} vanished while it was opened; open it again")
        return stored, created

    def case(self, case_id: int) -> StewardshipCase | None:
        """One case."""
        row = self._tx.read(sa.select(cases).where(cases.c.id == case_id)).first()
        return None if row is None else _case(row)

    def case_for_pair(self, entity: str, first: str, second: str) -> StewardshipCase | None:
        """The case of a pair, in any state."""
        return self._by_pair(pair_key(entity, first, second))

    def _by_pair(self, key: str) -> StewardshipCase | None:
        row = self._tx.read(sa.select(cases).where(cases.c.pair_key == key)).first()
        return None if row is None else _case(row)

    def open_cases_for(self, entity: str, left: str) -> list[StewardshipCase]:
        """The open cases of an arriving record, oldest first."""
        c = cases
        rows = self._tx.read(
            sa.select(c)
            .where(c.c.entity == entity, c.c.left_key == left, c.c.state == CaseState.OPEN.value)
            .order_by(c.c.opened_at, c.c.id)
        )
        return [_case(row) for row in rows]

    def cases(
        self, *, state: CaseState | None = None, entity: str | None = None, limit: int = 100
    ) -> list[StewardshipCase]:
        """Cases, oldest first, filtered."""
        c = cases
        query = sa.select(c)
        if state is not None:
            query = query.where(c.c.state == state.value)
        if entity is not None:
            query = query.where(c.c.entity == entity)
        return [_case(row) for row in self._tx.read(query.order_by(c.c.opened_at, c.c.id).limit(limit))]

    def hold(self, case_id: int, held: dict[str, Any] | None) -> None:
        """Replace what an open case holds."""
        c = cases
        done = self._tx.write(
            sa.update(c).where(c.c.id == case_id, c.c.state == CaseState.OPEN.value).values(held=held)
        )
        if done.rowcount == 0:
            self._refuse_decided(case_id)

    def decide(self, case_id: int, state: CaseState, *, actor: str, at: datetime, note: str | None = None) -> None:
        """Record the decision of an open case."""
        if state is CaseState.OPEN:
            raise ValueError("a decision is merged or kept_apart; a case cannot be decided back to open")
        c = cases
        done = self._tx.write(
            sa.update(c)
            .where(c.c.id == case_id, c.c.state == CaseState.OPEN.value)
            .values(state=state.value, decided_by=actor, decided_at=as_utc(at), note=note)
        )
        if done.rowcount == 0:
            self._refuse_decided(case_id)

    def released(self, case_id: int, release: str, *, at: datetime) -> None:
        """Record that what a decided case held was let through, and how."""
        c = cases
        done = self._tx.write(
            sa.update(c)
            .where(c.c.id == case_id, c.c.state != CaseState.OPEN.value)
            .values(released_at=as_utc(at), release=release)
        )
        if done.rowcount == 0:
            if self.case(case_id) is None:
                raise UnknownCaseError(f"no stewardship case {case_id}")
            raise ValueError(f"case {case_id} is still open: decide it before letting what it holds through")

    def unreleased(self, *, limit: int = 100) -> list[StewardshipCase]:
        """Decided cases whose held record has not been let through yet, oldest first."""
        c = cases
        rows = self._tx.read(
            sa.select(c)
            .where(c.c.state != CaseState.OPEN.value, c.c.released_at.is_(None))
            .order_by(c.c.decided_at, c.c.id)
            .limit(limit)
        )
        return [_case(row) for row in rows]

    def _refuse_decided(self, case_id: int) -> None:
        found = self.case(case_id)
        if found is None:
            raise UnknownCaseError(f"no stewardship case {case_id}; list the open ones with `crossdock mdm cases`")
        raise CaseDecidedError(
            f"case {case_id} was decided already ({found.state.value} by {found.decided_by}); its decision stands"
        )

    # --- merges ---

    def record_merge(self, merge: MergeRecord) -> MergeRecord:
        """Store a merge; a loser can be merged into one winner at a time."""
        standing = self.merged_into(merge.entity, merge.loser_id)
        if standing is not None:
            raise AlreadyMergedError(
                f"{merge.entity} {merge.loser_id} is merged into {standing.winner_id} already (merge {standing.id}); "
                "unmerge it first, or merge into that survivor"
            )
        merged_at = stamp(merge.merged_at, utc_now())
        try:
            new_id = self._tx.write(
                sa.insert(merges)
                .values(
                    entity=merge.entity,
                    winner_id=merge.winner_id,
                    loser_id=merge.loser_id,
                    state=MergeState.MERGED.value,
                    standing=True,
                    actor=merge.actor,
                    reason=merge.reason,
                    case_id=merge.case_id,
                    snapshot=merge.snapshot,
                    carried=merge.carried,
                    merged_at=merged_at,
                )
                .returning(merges.c.id)
            ).scalar_one()
        except sa.exc.IntegrityError as error:
            raise AlreadyMergedError(
                f"{merge.entity} {merge.loser_id} was merged by someone else just now; reload and decide again"
            ) from error
        stored = self.merge(int(new_id))
        assert stored is not None
        return stored

    def merge(self, merge_id: int) -> MergeRecord | None:
        """One merge."""
        row = self._tx.read(sa.select(merges).where(merges.c.id == merge_id)).first()
        return None if row is None else _merge(row)

    def merges(
        self, entity: str, canonical_id: str | None = None, *, state: MergeState | None = None, limit: int = 100
    ) -> list[MergeRecord]:
        """Merges naming a canonical id as winner or loser, newest first."""
        m = merges
        query = sa.select(m).where(m.c.entity == entity)
        if canonical_id is not None:
            query = query.where(sa.or_(m.c.winner_id == canonical_id, m.c.loser_id == canonical_id))
        if state is not None:
            query = query.where(m.c.state == state.value)
        return [_merge(row) for row in self._tx.read(query.order_by(m.c.id.desc()).limit(limit))]

    def merged_into(self, entity: str, canonical_id: str) -> MergeRecord | None:
        """The standing merge that took this golden record away, if any."""
        m = merges
        row = self._tx.read(
            sa.select(m).where(m.c.entity == entity, m.c.loser_id == canonical_id, m.c.standing.is_(True))
        ).first()
        return None if row is None else _merge(row)

    def unmerged(self, merge_id: int, *, actor: str, at: datetime) -> None:
        """Mark a merge undone."""
        m = merges
        done = self._tx.write(
            sa.update(m)
            .where(m.c.id == merge_id, m.c.standing.is_(True))
            .values(state=MergeState.UNMERGED.value, standing=False, unmerged_at=as_utc(at), unmerged_by=actor)
        )
        if done.rowcount == 0:
            found = self.merge(merge_id)
            if found is None:
                raise UnknownCaseError(f"no merge {merge_id}")
            raise CaseDecidedError(f"merge {merge_id} was undone already by {found.unmerged_by}")

    def carried(self, merge_id: int, system: str, outcome: str) -> None:
        """Record what carrying a merge into one system did."""
        found = self.merge(merge_id)
        if found is None:
            raise UnknownCaseError(f"no merge {merge_id}")
        self._tx.write(
            sa.update(merges).where(merges.c.id == merge_id).values(carried={**found.carried, system: outcome})
        )

    def move_xref(self, entity: str, system: str, from_id: str, to_id: str) -> bool:
        """Repoint a system's cross-reference from one canonical id to another."""
        x = xrefs
        taken = self._tx.read(
            sa.select(x.c.local_id).where(x.c.entity == entity, x.c.canonical_id == to_id, x.c.system == system)
        ).first()
        if taken is not None:
            return False
        done = self._tx.write(
            sa.update(x)
            .where(x.c.entity == entity, x.c.canonical_id == from_id, x.c.system == system)
            .values(canonical_id=to_id, updated_at=utc_now())
        )
        return bool(done.rowcount)
