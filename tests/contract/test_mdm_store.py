"""The master-data repository of the Store port (match index, stewardship cases, merges) on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crossdock.ports.mdm import (
    AlreadyMergedError,
    CaseDecidedError,
    CaseState,
    MatchEntry,
    MergeRecord,
    MergeState,
    StewardshipCase,
    UnknownCaseError,
)
from crossdock.ports.store import CrossReference
from crossdock.store import MemoryStore, SqlStore

AnyStore = MemoryStore | SqlStore
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def entry(canonical_id: str, name: str, *keys: str) -> MatchEntry:
    return MatchEntry("customer", canonical_id, {"record_id": canonical_id, "name": name}, keys)


def test_candidates_share_blocking_keys_and_the_most_shared_come_first(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.mdm.index(entry("c-1", "Acme Supply", "name:acme", "zip:43215"))
        uow.mdm.index(entry("c-2", "Acme Foods", "name:acme", "zip:10001"))
        uow.mdm.index(entry("c-3", "Zeta", "name:zeta", "zip:43215"))
        uow.mdm.index(MatchEntry("supplier", "s-1", {"name": "Acme"}, ("name:acme",)))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = uow.mdm.candidates("customer", ["name:acme", "zip:43215"])
        assert [e.canonical_id for e in found] == ["c-1", "c-2", "c-3"]
        assert found[0].record == {"record_id": "c-1", "name": "Acme Supply"}
        assert found[0].keys == ("name:acme", "zip:43215")
        assert [e.canonical_id for e in uow.mdm.candidates("customer", ["name:acme"], limit=1)] == ["c-1"]
        # A key shared by many records gives at most `per_key` of them.
        assert [e.canonical_id for e in uow.mdm.candidates("customer", ["zip:43215"], per_key=1)] == ["c-1"]
        assert uow.mdm.candidates("customer", []) == []
        assert uow.mdm.candidates("customer", ["name:nobody"]) == []


def test_reindexing_replaces_the_keys_and_unindexing_forgets_the_record(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.mdm.index(entry("c-1", "Acme Supply", "name:acme", "zip:43215"))
        uow.mdm.index(entry("c-2", "Acme Foods", "name:acme"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.mdm.index(entry("c-1", "Acme Supply", "name:acme", "zip:30303"))  # moved
        uow.mdm.unindex("customer", "c-2")
        uow.mdm.unindex("customer", "never-indexed")
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.mdm.candidates("customer", ["zip:43215"]) == []
        assert [e.canonical_id for e in uow.mdm.candidates("customer", ["name:acme"])] == ["c-1"]
        assert uow.mdm.entry("customer", "c-2") is None
        stored = uow.mdm.entry("customer", "c-1")
        assert stored is not None
        assert stored.keys == ("name:acme", "zip:30303")
        assert stored.updated_at is not None


def test_entries_walk_the_index_page_by_page(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.mdm.index(entry(f"c-{n}", f"Customer {n}", f"name:{n}"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        first = uow.mdm.entries("customer", limit=2)
        rest = uow.mdm.entries("customer", after=first[-1].canonical_id, limit=10)
    assert [e.canonical_id for e in first + rest] == [f"c-{n}" for n in range(5)]


def case(left: str = "crm:001A", right: str = "c-1", **overrides: object) -> StewardshipCase:
    values: dict[str, object] = {
        "entity": "customer",
        "left": left,
        "right": right,
        "probability": 0.82,
        "score": 2.2,
        "explanation": [{"field": "name", "agreement": "close", "weight": 3.1}],
        "left_record": {"name": "ACME SUPPLY"},
        "right_record": {"name": "Acme Supply, Inc."},
        "held": {"channel": "capture", "document": {"name": "ACME SUPPLY"}},
        "source_system": "crm",
        "opened_at": T0,
    }
    values.update(overrides)
    return StewardshipCase(**values)  # type: ignore[arg-type]


def test_a_pair_gets_one_case_whichever_side_is_named_first(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        opened, created = uow.mdm.open_case(case())
        again, created_again = uow.mdm.open_case(case(left="c-1", right="crm:001A", probability=0.9))
        uow.commit()
    assert created is True
    assert created_again is False
    assert opened.id is not None
    assert again.id == opened.id
    assert (again.probability, again.state, again.held) == (
        0.82,
        CaseState.OPEN,
        {"channel": "capture", "document": {"name": "ACME SUPPLY"}},
    )
    with store.unit_of_work(read_only=True) as uow:
        assert uow.mdm.case_for_pair("customer", "c-1", "crm:001A") == opened
        assert uow.mdm.case(opened.id) == opened
        assert uow.mdm.open_cases_for("customer", "crm:001A") == [opened]
        assert uow.mdm.case(opened.id + 1000) is None


def test_a_decision_is_recorded_once_and_the_pair_is_not_asked_again(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        first, _ = uow.mdm.open_case(case())
        second, _ = uow.mdm.open_case(case(left="crm:001B", right="c-2", opened_at=T0 + timedelta(minutes=1)))
        assert first.id is not None
        assert second.id is not None
        uow.mdm.hold(first.id, {"channel": "capture", "document": {"name": "ACME SUPPLY CO"}})
        uow.commit()
    with store.unit_of_work() as uow:
        uow.mdm.decide(first.id, CaseState.MERGED, actor="dana", at=T0 + timedelta(hours=1), note="same EIN")
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(CaseDecidedError, match="merged by dana"):
        uow.mdm.decide(first.id, CaseState.KEPT_APART, actor="lee", at=T0 + timedelta(hours=2))
    with store.unit_of_work() as uow, pytest.raises(CaseDecidedError):
        uow.mdm.hold(first.id, None)
    with store.unit_of_work() as uow, pytest.raises(UnknownCaseError):
        uow.mdm.decide(first.id + 1000, CaseState.MERGED, actor="dana", at=T0)
    with store.unit_of_work() as uow:
        reopened, created = uow.mdm.open_case(case(probability=0.99))
        assert created is False
        assert reopened.state is CaseState.MERGED
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        decided = uow.mdm.case(first.id)
        assert decided is not None
        assert (decided.state, decided.decided_by, decided.note) == (CaseState.MERGED, "dana", "same EIN")
        assert decided.decided_at == T0 + timedelta(hours=1)
        assert decided.held == {"channel": "capture", "document": {"name": "ACME SUPPLY CO"}}
        assert [c.id for c in uow.mdm.cases(state=CaseState.OPEN)] == [second.id]
        assert [c.id for c in uow.mdm.cases()] == [first.id, second.id]
        assert uow.mdm.cases(entity="supplier") == []
        assert uow.mdm.open_cases_for("customer", "crm:001A") == []


def test_cases_roll_back_with_their_unit(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.mdm.open_case(case())
        uow.rollback()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.mdm.cases() == []


def merge(winner: str = "c-1", loser: str = "c-2") -> MergeRecord:
    return MergeRecord(
        entity="customer",
        winner_id=winner,
        loser_id=loser,
        actor="dana",
        snapshot={"changed": {"phone": {"before": None, "after": "+1 614 555 0100"}}, "moved": ["crm"]},
        reason="same EIN",
        case_id=7,
    )


def test_a_loser_is_merged_into_one_winner_at_a_time_until_unmerged(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        stored = uow.mdm.record_merge(merge())
        uow.commit()
    assert stored.id is not None
    assert stored.merged_at is not None
    assert (stored.state, stored.case_id, stored.snapshot["moved"]) == (MergeState.MERGED, 7, ["crm"])
    with store.unit_of_work() as uow, pytest.raises(AlreadyMergedError, match="merged into c-1"):
        uow.mdm.record_merge(merge(winner="c-3"))
    with store.unit_of_work() as uow:
        found = uow.mdm.merged_into("customer", "c-2")
        assert found == stored
        assert uow.mdm.merged_into("customer", "c-1") is None
        uow.mdm.carried(stored.id, "erp", "deactivated")
        uow.mdm.carried(stored.id, "event", "published")
        uow.commit()
    with store.unit_of_work() as uow:
        uow.mdm.unmerged(stored.id, actor="lee", at=T0)
        with pytest.raises(CaseDecidedError):
            uow.mdm.unmerged(stored.id, actor="lee", at=T0)
    with store.unit_of_work() as uow:
        uow.mdm.unmerged(stored.id, actor="lee", at=T0)
        again = uow.mdm.record_merge(merge(winner="c-3"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        undone = uow.mdm.merge(stored.id)
        assert undone is not None
        assert (undone.state, undone.unmerged_by, undone.unmerged_at) == (MergeState.UNMERGED, "lee", T0)
        assert undone.carried == {"erp": "deactivated", "event": "published"}
        standing = uow.mdm.merged_into("customer", "c-2")
        assert standing is not None
        assert standing.id == again.id
        assert [m.id for m in uow.mdm.merges("customer", "c-2")] == [again.id, stored.id]
        assert [m.id for m in uow.mdm.merges("customer", "c-1")] == [stored.id]
        assert [m.id for m in uow.mdm.merges("customer", state=MergeState.MERGED)] == [again.id]
        assert uow.mdm.merge(10_000) is None


def test_a_cross_reference_moves_only_to_a_canonical_id_without_one_in_that_system(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        uow.xrefs.link(CrossReference("customer", "c-2", "crm", "001B"))
        uow.xrefs.link(CrossReference("customer", "c-2", "erp", "17"))
        uow.xrefs.link(CrossReference("customer", "c-1", "erp", "12"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.mdm.move_xref("customer", "crm", "c-2", "c-1") is True
        assert uow.mdm.move_xref("customer", "erp", "c-2", "c-1") is False  # c-1 has its own ERP party
        assert uow.mdm.move_xref("customer", "ecommerce", "c-2", "c-1") is False  # nothing there to move
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        moved = uow.xrefs.find_canonical("customer", "crm", "001B")
        assert moved is not None
        assert moved.canonical_id == "c-1"
        assert uow.xrefs.find_local("customer", "c-2", "crm") is None
        assert [r.system for r in uow.xrefs.for_canonical("customer", "c-1")] == ["crm", "erp"]
        assert [(r.system, r.local_id) for r in uow.xrefs.for_canonical("customer", "c-2")] == [("erp", "17")]
    with store.unit_of_work() as uow:
        assert uow.mdm.move_xref("customer", "crm", "c-1", "c-2") is True  # and back (unmerge)
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        back = uow.xrefs.find_canonical("customer", "crm", "001B")
        assert back is not None
        assert back.canonical_id == "c-2"


def test_what_a_decided_case_held_is_let_through_once_and_recorded(store: AnyStore) -> None:
    with store.unit_of_work() as uow:
        first, _ = uow.mdm.open_case(case())
        second, _ = uow.mdm.open_case(case(left="crm:001B", right="c-2"))
        assert first.id is not None
        assert second.id is not None
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="still open"):
        uow.mdm.released(first.id, "too early", at=T0)
    with store.unit_of_work() as uow:
        uow.mdm.decide(first.id, CaseState.KEPT_APART, actor="dana", at=T0)
        uow.mdm.decide(second.id, CaseState.MERGED, actor="dana", at=T0 + timedelta(minutes=1))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [c.id for c in uow.mdm.unreleased()] == [first.id, second.id]
        uow.mdm.released(first.id, "logged its creation", at=T0 + timedelta(minutes=2))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [c.id for c in uow.mdm.unreleased()] == [second.id]
        done = uow.mdm.case(first.id)
        assert done is not None
        assert (done.release, done.released_at) == ("logged its creation", T0 + timedelta(minutes=2))
