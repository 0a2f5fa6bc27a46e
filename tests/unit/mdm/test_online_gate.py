"""The customer gate: a new customer from any system is linked, held for a steward, or let through as new; a pair
a steward decided is never asked again."""

from __future__ import annotations

from datetime import UTC, datetime

from crossdock.mdm.online import Admission, Arrival
from crossdock.mdm.records import customer_record
from crossdock.ports.mdm import CaseState
from tests.unit.mdm.mdm_world import HARBOR, LAKESHORE, World, customer

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SAME_SPELLING = customer("LAKESHORE PLBG SUPPLY", "2200 HARBOR BOULEVARD", "COLUMBUS", postal_code="43215-1120")
LIKELY = customer("LAKESHORE PLUMBING", "2200 HARBOR BLVD STE 4", "COLUMBUS")
STRANGER = customer("Blue Ridge Electric", "77 Mill Rd", "Dayton", postal_code="45402")


def arrival(system: str, local_id: str, document: dict[str, object]) -> Arrival:
    return Arrival(system, local_id, customer_record(f"{system}:{local_id}", document, system=system), dict(document))


def world_with_lakeshore() -> World:
    world = World()
    world.golden("g-lake", LAKESHORE, links={"crm": "001A", "erp": "17"})
    world.golden("g-harbor", HARBOR, links={"crm": "001H"})
    return world


def test_a_confident_match_is_linked_and_nothing_is_created() -> None:
    world = world_with_lakeshore()
    with world.store.unit_of_work() as uow:
        answer = world.gate.admit(uow, arrival("edi-acme", "92:4471", SAME_SPELLING))
        uow.commit()
    assert (answer.admission, answer.canonical_id) == (Admission.LINKED, "g-lake")
    assert answer.match is not None
    assert "name" in answer.match.agreed_on()
    assert world.links("g-lake")["edi-acme"] == "92:4471"
    with world.store.unit_of_work(read_only=True) as uow:
        again = world.gate.screen(uow, arrival("edi-acme", "92:4471", SAME_SPELLING))
    assert (again.admission, again.canonical_id) == (Admission.KNOWN, "g-lake")


def test_a_likely_duplicate_is_held_in_one_case_that_keeps_its_newest_version() -> None:
    world = world_with_lakeshore()
    with world.store.unit_of_work() as uow:
        first = world.gate.admit(uow, arrival("edi-acme", "92:4471", LIKELY), held={"version": 1})
        uow.commit()
    assert first.admission is Admission.HELD
    assert first.case is not None
    assert first.case.right == "g-lake"
    assert 0.6 <= first.case.probability < 0.95
    assert {row["field"] for row in first.case.explanation} >= {"name", "address"}
    assert first.case.left_record["name"] == "LAKESHORE PLUMBING"
    assert first.case.right_record["name"] == "Lakeshore Plumbing Supply, Inc."
    with world.store.unit_of_work() as uow:
        second = world.gate.admit(uow, arrival("edi-acme", "92:4471", LIKELY), held={"version": 2})
        uow.commit()
    assert second.case is not None
    assert second.case.id == first.case.id
    with world.store.unit_of_work(read_only=True) as uow:
        [case] = uow.mdm.cases()
        assert case.held == {"version": 2}
        assert uow.xrefs.find_canonical("customer", "edi-acme", "92:4471") is None, "nothing linked yet"


def test_a_stranger_is_new() -> None:
    world = world_with_lakeshore()
    with world.store.unit_of_work(read_only=True) as uow:
        answer = world.gate.screen(uow, arrival("crm", "001Z", STRANGER))
    assert answer.admission is Admission.NEW


def test_a_confident_match_that_already_has_a_record_in_that_system_is_a_persons_call() -> None:
    world = world_with_lakeshore()
    with world.store.unit_of_work() as uow:
        answer = world.gate.admit(uow, arrival("crm", "001B", SAME_SPELLING), link=False)
        uow.commit()
    assert answer.admission is Admission.HELD
    assert "already has a record" in answer.reason


def test_a_decided_pair_is_not_asked_again() -> None:
    world = world_with_lakeshore()
    with world.store.unit_of_work() as uow:
        held = world.gate.admit(uow, arrival("edi-acme", "92:4471", LIKELY))
        other = world.gate.admit(uow, arrival("edi-acme", "92:5000", LIKELY))
        assert held.case is not None
        assert held.case.id is not None
        assert other.case is not None
        assert other.case.id is not None
        uow.mdm.decide(held.case.id, CaseState.KEPT_APART, actor="dana", at=AT)
        uow.mdm.decide(other.case.id, CaseState.MERGED, actor="dana", at=AT)
        uow.commit()
    with world.store.unit_of_work(read_only=True) as uow:
        kept = world.gate.screen(uow, arrival("edi-acme", "92:4471", LIKELY))
        merged = world.gate.screen(uow, arrival("edi-acme", "92:5000", LIKELY))
    assert kept.admission is Admission.NEW
    assert (merged.admission, merged.canonical_id) == (Admission.LINKED, "g-lake")
    assert "decided merged" in merged.reason


def test_a_record_of_a_merged_away_golden_record_stands_for_its_survivor() -> None:
    world = world_with_lakeshore()
    world.golden("g-dup", LIKELY, system="erp", links={"erp": "23"})
    with world.store.unit_of_work() as uow:
        world.keeper.merge(uow, "g-lake", "g-dup", actor="dana", at=AT)
        uow.commit()
    with world.store.unit_of_work(read_only=True) as uow:
        answer = world.gate.screen(uow, arrival("erp", "23", LIKELY))
    assert (answer.admission, answer.canonical_id) == (Admission.KNOWN, "g-lake")
