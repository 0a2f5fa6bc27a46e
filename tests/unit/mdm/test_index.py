"""The in-memory match index: add, replace, remove, best candidates, and bounded work on giant blocks."""

from __future__ import annotations

from dataclasses import replace

from crossdock.mdm.index import InMemoryMatchIndex
from crossdock.mdm.model import CustomerMatchIndex, CustomerRecord, MatchDecision
from crossdock.mdm.normalize import normalise

ACME = CustomerRecord(
    record_id="golden:acme",
    system="golden",
    name="Acme Industrial Supply LLC",
    phone="(614) 555-0100",
    street="12 Commerce Dr",
    city="Columbus",
    postal_code="43215",
    country="US",
)
ACME_AGAIN = CustomerRecord(
    record_id="ecommerce:5",
    system="ecommerce",
    name="ACME INDUSTRIAL SPLY",
    phone="614.555.0100",
    street="12 Commerce Drive",
    city="COLUMBUS",
    postal_code="43215-0042",
)
OTHER = CustomerRecord(
    record_id="golden:tri",
    system="golden",
    name="Tri-State Janitorial Wholesale",
    street="900 River Rd",
    city="Cincinnati",
    postal_code="45202",
    country="US",
)


def test_it_is_a_customer_match_index() -> None:
    index: CustomerMatchIndex = InMemoryMatchIndex()
    index.add(ACME)
    assert [r.candidate_id for r in index.best(ACME_AGAIN)] == ["golden:acme"]


def test_best_finds_the_duplicate_and_leaves_out_distinct_and_itself() -> None:
    index = InMemoryMatchIndex()
    for record in (ACME, OTHER, ACME_AGAIN):
        index.add(record)
    best = index.best(ACME_AGAIN)
    assert [r.candidate_id for r in best] == ["golden:acme"]
    assert best[0].decision is MatchDecision.LINK
    assert best[0].record_id == "ecommerce:5"
    assert index.best(OTHER) == []


def test_adding_again_replaces_and_remove_forgets() -> None:
    index = InMemoryMatchIndex()
    index.add(ACME)
    moved = replace(ACME, name="Zenith Fasteners", phone=None, street="1 Elm St", postal_code="10001", city="New York")
    index.add(moved)
    assert len(index) == 1
    assert index.best(ACME_AGAIN) == []
    index.remove("golden:acme")
    index.remove("golden:unknown")
    assert len(index) == 0
    assert index.candidates(normalise(ACME_AGAIN)) == []


def test_a_giant_block_is_capped() -> None:
    """Thousands of records under one head-office phone still give a bounded number of candidates."""
    index = InMemoryMatchIndex(candidates_per_key=10, max_candidates=30)
    for number in range(2_000):
        index.add(
            replace(ACME, record_id=f"golden:{number}", name=f"Store {number}", street=f"{number} Main St", tax_id=None)
        )
    index.add(ACME)
    candidates = index.candidates(normalise(ACME_AGAIN))
    assert len(candidates) <= 30
    # The specific keys (name, address) are visited before the giant phone block, so the duplicate is found.
    assert "golden:acme" in candidates
    assert [r.candidate_id for r in index.best(ACME_AGAIN, limit=1)] == ["golden:acme"]
