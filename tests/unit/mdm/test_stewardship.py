"""The stewardship service: cases side by side, decided once; merges carried to the systems (the losing record
retired there, with a reference to the survivor), undone by unmerge; what a crash cut short is finished."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from crossdock.events.envelope import CloudEvent
from crossdock.mdm.online import explanation
from crossdock.mdm.records import customer_record, record_json
from crossdock.mdm.stewardship import Decision, MergeAction, StewardshipService
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.mdm import CaseDecidedError, CaseState, DuplicateRetirement, StewardshipCase
from crossdock.ports.store import ExceptionClass
from tests.unit.mdm.mdm_world import LAKESHORE, World, customer

DUPLICATE = customer("LAKESHORE PLUMBING SUPPLY", number="C-9", tax_class="RESALE")


class Erp:
    """An ERP that retires duplicates (as Tryton makes a party inactive), or fails while `down`."""

    system = "erp"

    def __init__(self) -> None:
        self.retired: list[DuplicateRetirement] = []
        self.restored: list[str] = []
        self.down = False

    async def retire_duplicate(self, retirement: DuplicateRetirement) -> str:
        if self.down:
            raise ConnectorError(ErrorKind.DOWNSTREAM_OUTAGE, "erp is down")
        self.retired.append(retirement)
        return f"deactivated, replaced by {retirement.survivor_local_id}"

    async def restore_duplicate(self, entity: str, local_id: str, note: str) -> str:
        self.restored.append(local_id)
        return "reactivated"


class Shop:
    """A web shop that carries canonical ids in an external-id field."""

    system = "shop"

    def __init__(self) -> None:
        self.stamps: list[tuple[str, str]] = []

    async def stamp_canonical_ids(self, entity: str, links: Sequence[tuple[str, str]]) -> None:
        self.stamps.extend(links)


class Sink:
    def __init__(self) -> None:
        self.events: list[CloudEvent] = []

    async def publish(self, events: Sequence[CloudEvent]) -> list[Any]:
        self.events.extend(events)
        return []


class Desk:
    """Two golden records of one customer (two ERP parties, one shop account), and a steward's desk."""

    def __init__(self, **actions: MergeAction) -> None:
        self.mdm = World()
        self.mdm.golden("w", LAKESHORE, links={"crm": "001A", "erp": "17"})
        self.mdm.golden("l", DUPLICATE, system="erp", links={"erp": "23", "shop": "web-5"})
        self.erp, self.shop, self.sink = Erp(), Shop(), Sink()
        self.service = StewardshipService(
            self.mdm.store,
            self.mdm.keeper,
            systems={"erp": self.erp, "shop": self.shop},
            merge_actions=actions,
            sink=self.sink,
        )

    def pair_case(self) -> StewardshipCase:
        left = customer_record("l", DUPLICATE)
        right = customer_record("w", LAKESHORE)
        result = self.mdm.keys.matcher.scorer.compare(left, right)
        with self.mdm.store.unit_of_work() as uow:
            case, _ = uow.mdm.open_case(
                StewardshipCase(
                    entity="customer",
                    left="l",
                    right="w",
                    probability=result.probability,
                    explanation=explanation(result),
                    left_record=record_json(left),
                    right_record=record_json(right),
                )
            )
            uow.commit()
        return case


def test_a_case_is_shown_side_by_side_with_the_matchers_judgement() -> None:
    desk = Desk()
    case = desk.pair_case()
    assert case.id is not None
    comparison = desk.service.compare(case.id)
    rows = {row.field: row for row in comparison.rows}
    assert (rows["name"].left, rows["name"].right) == ("LAKESHORE PLUMBING SUPPLY", "Lakeshore Plumbing Supply, Inc.")
    assert rows["name"].agreement == "close"
    assert rows["postal_code"].left == rows["postal_code"].right == "43215"
    assert comparison.survivor_links == (("crm", "001A"), ("erp", "17"))
    assert comparison.left_links == (("erp", "23"), ("shop", "web-5"))
    assert comparison.held == "nothing"
    assert [c.id for c in desk.service.open_cases()] == [case.id]


async def test_a_merge_is_carried_to_every_system_and_decided_once() -> None:
    desk = Desk()
    case = desk.pair_case()
    assert case.id is not None
    result = await desk.service.decide(case.id, Decision.MERGE, actor="dana", note="same EIN")
    assert (result.case.state, result.case.decided_by, result.case.note) == (CaseState.MERGED, "dana", "same EIN")
    assert result.merge is not None
    assert result.carried == {"shop": "restamped", "erp": "deactivated, replaced by 17", "event": "published"}
    [retired] = desk.erp.retired
    assert (retired.local_id, retired.survivor_local_id, retired.survivor_id) == ("23", "17", "w")
    assert "merged into record 17" in retired.note
    assert "by dana (same EIN)" in retired.note
    assert desk.shop.stamps == [("web-5", "w")]
    [merged] = desk.sink.events
    assert (merged.type, merged.subject, merged.source) == ("crossdock.customer.merged.v1", "w", "/mdm")
    assert merged.businesskeys == {"merged": "l", "survivor": "w"}
    assert merged.data["tax_class"] == "RESALE"
    assert desk.service.open_cases() == []
    with pytest.raises(CaseDecidedError, match="merged by dana"):
        await desk.service.decide(case.id, Decision.KEEP_APART, actor="lee")


async def test_kept_apart_nothing_changes_and_the_pair_is_not_asked_again() -> None:
    desk = Desk()
    case = desk.pair_case()
    assert case.id is not None
    result = await desk.service.decide(case.id, Decision.KEEP_APART, actor="dana")
    assert (result.case.state, result.merge, result.outcome) == (CaseState.KEPT_APART, None, None)
    assert desk.erp.retired == []
    assert desk.mdm.links("l") == {"erp": "23", "shop": "web-5"}
    again = desk.pair_case()
    assert (again.id, again.state) == (case.id, CaseState.KEPT_APART)


async def test_a_system_left_alone_by_policy_is_not_touched() -> None:
    desk = Desk(erp=MergeAction.NONE)
    merge = await desk.service.merge("w", "l", actor="dana")
    assert merge.id is not None
    with desk.mdm.store.unit_of_work(read_only=True) as uow:
        stored = uow.mdm.merge(merge.id)
    assert stored is not None
    assert stored.carried["erp"] == "left alone by policy"
    assert desk.erp.retired == []


async def test_an_unmerge_undoes_the_merge_in_crossdock_and_in_the_systems() -> None:
    desk = Desk()
    merge = await desk.service.merge("w", "l", actor="dana")
    assert merge.id is not None
    undone = await desk.service.unmerge(merge.id, actor="lee")
    assert undone.unmerged_by == "lee"
    assert desk.erp.restored == ["23"]
    assert desk.shop.stamps == [("web-5", "w"), ("web-5", "l")]
    assert desk.mdm.links("l") == {"erp": "23", "shop": "web-5"}
    assert "tax_class" not in desk.mdm.document("w")
    with desk.mdm.store.unit_of_work(read_only=True) as uow:
        stored = uow.mdm.merge(merge.id)
    assert stored is not None
    assert (stored.carried["undo:erp"], stored.carried["undo:shop"]) == ("reactivated", "restamped back")


async def test_a_system_that_is_down_gets_the_merge_later() -> None:
    desk = Desk()
    desk.erp.down = True
    merge = await desk.service.merge("w", "l", actor="dana")
    assert merge.id is not None
    with desk.mdm.store.unit_of_work(read_only=True) as uow:
        stored = uow.mdm.merge(merge.id)
        [problem] = uow.exceptions.list(owner_queue="mdm")
    assert stored is not None
    assert stored.carried["erp"].startswith("failed: erp is down")
    assert problem.exception_class is ExceptionClass.DOWNSTREAM_OUTAGE
    assert "crossdock mdm resume" in problem.reason
    desk.erp.down = False
    assert await desk.service.resume() == 1
    assert [r.local_id for r in desk.erp.retired] == ["23"]
    assert await desk.service.resume() == 0
    assert len(desk.sink.events) == 1, "the merged event is logged once"


async def test_what_a_decided_case_held_is_let_through_after_a_crash() -> None:
    desk = Desk()
    released: list[tuple[int | None, str, str]] = []

    class Releaser:
        async def release(self, case: StewardshipCase, outcome: Any, canonical_id: str) -> str:
            released.append((case.id, str(outcome), canonical_id))
            return "logged"

    desk.mdm.golden("w2", customer("Harbor Fresh Markets", "12 Pier Rd", "Cleveland", postal_code="44113"))
    with desk.mdm.store.unit_of_work() as uow:
        case, _ = uow.mdm.open_case(
            StewardshipCase(
                "customer",
                "shop:web-77",
                "w2",
                0.8,
                held={"channel": "test", "provisional_id": "p-77"},
                source_system="shop",
            )
        )
        assert case.id is not None
        uow.mdm.decide(case.id, CaseState.KEPT_APART, actor="dana", at=datetime.now(UTC))
        uow.commit()
    service = StewardshipService(desk.mdm.store, desk.mdm.keeper, releasers={"test": Releaser()})
    assert await service.resume() == 1
    assert released == [(case.id, "new", "p-77")]
    assert await service.resume() == 0
