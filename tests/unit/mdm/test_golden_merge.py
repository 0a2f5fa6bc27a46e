"""Merging golden records: survivorship per attribute, cross-references repointed, the loser kept (never deleted)
and out of the match index, and an unmerge that restores what the merge changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crossdock.mdm.golden import CarryAction, carry_plan
from crossdock.mdm.records import customer_record
from crossdock.ports.mdm import AlreadyMergedError, MergeState
from tests.unit.mdm.mdm_world import LAKESHORE, World, customer

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ERP_COPY = customer("LAKESHORE PLUMBING SUPPLY", number="C-20417", payment_terms={"code": "NET30", "net_days": 30})


def two_records() -> World:
    world = World()
    world.golden("w", LAKESHORE, system="crm", links={"crm": "001A", "erp": "17"})
    world.golden("l", ERP_COPY, system="erp", links={"erp": "23", "ecommerce": "shop-9"})
    return world


def test_a_merge_keeps_the_survivors_id_chooses_each_attribute_and_repoints_the_losers_records() -> None:
    world = two_records()
    with world.store.unit_of_work() as uow:
        merge = world.keeper.merge(uow, "w", "l", actor="dana", reason="same buyer", case_id=4, at=AT)
        uow.commit()
    merged = world.document("w")
    assert merged["id"] == "w"
    assert merged["name"] == "Lakeshore Plumbing Supply, Inc."  # the CRM owns the name
    assert merged["payment_terms"] == {"code": "NET30", "net_days": 30}  # only the ERP's copy had terms
    assert world.links("w") == {"crm": "001A", "erp": "17", "ecommerce": "shop-9"}  # the shop's record moved
    assert world.links("l") == {"erp": "23"}  # a second ERP party stays with the loser, to be retired there
    assert world.document("l")["name"] == "LAKESHORE PLUMBING SUPPLY"  # kept, never deleted
    assert [(c.system, c.action, c.local_id, c.survivor_local_id) for c in carry_plan(merge)] == [
        ("ecommerce", CarryAction.RESTAMP, "shop-9", None),
        ("erp", CarryAction.RETIRE, "23", "17"),
    ]
    assert (merge.state, merge.actor, merge.case_id, merge.merged_at) == (MergeState.MERGED, "dana", 4, AT)
    with world.store.unit_of_work(read_only=True) as uow:
        assert world.keeper.survivor_of(uow, "l") == "w"
        assert uow.mdm.entry("customer", "l") is None, "the loser is out of the match index"
        results = world.keys.index(uow).scored(customer_record("probe", ERP_COPY))
    assert [r.candidate_id for r in results] == ["w"]


def test_a_merged_away_record_cannot_be_merged_again_until_unmerged() -> None:
    world = two_records()
    world.golden("x", customer("Lakeshore Supply", "9 Elm St"), links={"crm": "001X"})
    with world.store.unit_of_work() as uow:
        world.keeper.merge(uow, "w", "l", actor="dana", at=AT)
        uow.commit()
    with world.store.unit_of_work() as uow, pytest.raises(AlreadyMergedError, match="merged into w"):
        world.keeper.merge(uow, "x", "l", actor="lee", at=AT)
    with world.store.unit_of_work() as uow:
        merge = world.keeper.merge(uow, "l", "x", actor="lee", at=AT)  # into l's survivor, w
        uow.commit()
    assert merge.winner_id == "w"
    with world.store.unit_of_work() as uow, pytest.raises(ValueError, match="nothing to merge"):
        world.keeper.merge(uow, "w", "w", actor="lee", at=AT)


def test_an_unmerge_restores_what_the_merge_changed_unless_it_changed_since() -> None:
    world = two_records()
    with world.store.unit_of_work() as uow:
        merge = world.keeper.merge(uow, "w", "l", actor="dana", at=AT)
        uow.commit()
    assert merge.id is not None
    with world.store.unit_of_work() as uow:
        golden = uow.golden.get("customer", "w")
        assert golden is not None
        changed = {**golden.document, "payment_terms": {"code": "NET45", "net_days": 45}}
        uow.golden.put(type(golden)("customer", "w", changed, golden.sources, golden.views, golden.version))
        uow.commit()
    with world.store.unit_of_work() as uow:
        undone = world.keeper.unmerge(uow, merge.id, actor="lee", at=AT)
        uow.commit()
    assert (undone.state, undone.unmerged_by) == (MergeState.UNMERGED, "lee")
    restored = world.document("w")
    assert restored["payment_terms"] == {"code": "NET45", "net_days": 45}, "changed since the merge: it stays"
    assert world.links("w") == {"crm": "001A", "erp": "17"}
    assert world.links("l") == {"erp": "23", "ecommerce": "shop-9"}
    with world.store.unit_of_work(read_only=True) as uow:
        assert world.keeper.survivor_of(uow, "l") == "l"
        assert uow.mdm.entry("customer", "l") is not None, "back in the match index"
    with world.store.unit_of_work() as uow, pytest.raises(AlreadyMergedError, match="undone already"):
        world.keeper.unmerge(uow, merge.id, actor="lee", at=AT)


def test_an_attribute_the_merge_added_goes_again_on_unmerge() -> None:
    world = World()
    world.golden("w", customer("Acme Supply"), links={"crm": "001A"})
    world.golden("l", customer("ACME SUPPLY", tax_class="RESALE"), system="erp", links={"erp": "9"})
    with world.store.unit_of_work() as uow:
        merge = world.keeper.merge(uow, "w", "l", actor="dana", at=AT)
        uow.commit()
    assert world.document("w")["tax_class"] == "RESALE"
    assert merge.id is not None
    with world.store.unit_of_work() as uow:
        world.keeper.unmerge(uow, merge.id, actor="dana", at=AT)
        uow.commit()
    assert "tax_class" not in world.document("w")
    assert world.links("w") == {"crm": "001A"}
    assert world.links("l") == {"erp": "9"}


def test_a_survivor_merged_again_is_unmerged_last() -> None:
    world = two_records()
    world.golden("z", customer("Lakeshore Plumbing"), links={"crm": "001Z"})
    with world.store.unit_of_work() as uow:
        first = world.keeper.merge(uow, "w", "l", actor="dana", at=AT)
        second = world.keeper.merge(uow, "z", "w", actor="dana", at=AT)
        uow.commit()
    assert first.id is not None
    assert second.winner_id == "z"
    with world.store.unit_of_work() as uow, pytest.raises(AlreadyMergedError, match="unmerge that first"):
        world.keeper.unmerge(uow, first.id, actor="dana", at=AT)
