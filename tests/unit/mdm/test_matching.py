"""The scorer: duplicates link, branches and namesakes do not, and every result says which fields agreed."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from crossdock.bench.customer_data import generate
from crossdock.mdm.blocking import BLOCKING_RULES, block_pairs, key_code, unique_pairs
from crossdock.mdm.comparisons import FIELD_LEVELS, FIELDS, CustomerColumns, compare_columns, compare_levels
from crossdock.mdm.fellegi_sunter import MatchModel, probability, score
from crossdock.mdm.matching import CustomerScorer
from crossdock.mdm.model import Agreement, CustomerRecord, MatchDecision, Thresholds
from crossdock.mdm.normalize import normalise

HEAD_OFFICE = CustomerRecord(
    record_id="tryton:17",
    system="tryton",
    name="Midwest Plumbing Supply, Inc.",
    tax_id="36-4552717",
    phone="(309) 555-0134",
    email="ap@midwestplumbing.com",
    street="4500 West Industrial Parkway, Suite 200",
    city="Peoria",
    region="IL",
    postal_code="61602-1234",
    country="US",
)
SAME_IN_CRM = CustomerRecord(
    record_id="salesforce:0015",
    system="salesforce",
    name="MIDWEST PLBG SPLY",
    phone="309.555.0134",
    email="orders@midwestplumbing.com",
    street="4500 W Industrial Pkwy Ste 200",
    city="PEORIA",
    postal_code="61602",
)
BRANCH = CustomerRecord(
    record_id="tryton:18",
    system="tryton",
    name="Midwest Plumbing Supply Inc",
    tax_id="364552717",
    phone="309-555-0134",
    email="rockford@midwestplumbing.com",
    street="88 Harbor Road",
    city="Rockford",
    postal_code="61101",
    country="US",
)
NAMESAKE = CustomerRecord(
    record_id="ecommerce:9",
    system="ecommerce",
    name="Midwest Plumbing Supply",
    phone="(816) 555-0101",
    street="12 Main St",
    city="Kansas City",
    postal_code="64105",
)


def fields_of(result: object) -> dict[str, Agreement]:
    return {f.field: f.agreement for f in result.fields}  # type: ignore[attr-defined]


def test_a_duplicate_links_and_says_why() -> None:
    result = CustomerScorer().compare(HEAD_OFFICE, SAME_IN_CRM)
    assert result.decision is MatchDecision.LINK
    assert (result.record_id, result.candidate_id) == ("tryton:17", "salesforce:0015")
    assert {"name", "address", "phone", "email"} <= set(result.agreed_on())
    assert fields_of(result)["tax_id"] is Agreement.MISSING
    assert result.score == pytest.approx(sum(f.weight for f in result.fields) + MatchModel.default().prior_weight, 1e-3)


def test_a_missing_field_weighs_nothing() -> None:
    result = CustomerScorer().compare(HEAD_OFFICE, SAME_IN_CRM)
    missing = [f for f in result.fields if f.agreement is Agreement.MISSING]
    assert missing
    assert all(f.weight == 0 for f in missing)


def test_a_branch_sharing_name_phone_and_tax_id_is_not_a_duplicate() -> None:
    """The head-office phone and tax id only repeat what the name said: the other address decides."""
    result = CustomerScorer().compare(HEAD_OFFICE, BRANCH)
    assert result.decision is MatchDecision.DISTINCT
    agreed = set(result.agreed_on())
    assert {"name", "tax_id", "phone"} <= agreed
    weights = {f.field: f.weight for f in result.fields}
    assert weights["phone"] < 2  # weak evidence once the name agreed
    assert weights["address"] < -5


def test_the_first_sign_of_one_company_counts_fully() -> None:
    """With names apart (a rename), a shared tax id is strong evidence; a phone after it is weighed as a look-alike."""
    renamed = replace(SAME_IN_CRM, name="Peoria Pipe & Valve", tax_id="36-4552717")
    result = CustomerScorer().compare(HEAD_OFFICE, renamed)
    weights = {f.field: f.weight for f in result.fields}
    assert weights["tax_id"] > 10
    assert weights["phone"] < 2
    assert result.decision is MatchDecision.LINK


def test_a_namesake_elsewhere_is_distinct() -> None:
    result = CustomerScorer().compare(HEAD_OFFICE, NAMESAKE)
    assert result.decision is MatchDecision.DISTINCT
    assert result.agreed_on() == ("name",)


def test_thresholds_decide() -> None:
    strict = CustomerScorer(thresholds=Thresholds(link=0.999999, review=0.5))
    lenient = CustomerScorer(thresholds=Thresholds(link=0.5, review=0.1))
    assert strict.compare(HEAD_OFFICE, BRANCH).decision is MatchDecision.DISTINCT
    scored = CustomerScorer().compare(HEAD_OFFICE, SAME_IN_CRM)
    assert lenient.compare(HEAD_OFFICE, SAME_IN_CRM).decision is MatchDecision.LINK
    expected = MatchDecision.LINK if scored.probability >= 0.999999 else MatchDecision.REVIEW
    assert strict.compare(HEAD_OFFICE, SAME_IN_CRM).decision is expected


def test_the_model_round_trips_through_json() -> None:
    model = MatchModel.default()
    again = MatchModel.from_json(model.to_json())
    assert again == model
    assert CustomerScorer(again).compare(HEAD_OFFICE, SAME_IN_CRM) == CustomerScorer(model).compare(
        HEAD_OFFICE, SAME_IN_CRM
    )


def test_a_broken_model_is_refused_with_advice() -> None:
    raw = json.loads(MatchModel.default().to_json())
    raw["m"]["name"] = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"MatchModel\.default"):
        MatchModel.from_json(json.dumps(raw))
    with pytest.raises(ValueError, match="to_json"):
        MatchModel.from_json("{}")


def test_every_level_reads_as_an_agreement() -> None:
    scorer = CustomerScorer()
    for f, field in enumerate(FIELDS):
        for level in range(len(FIELD_LEVELS[field]) + 1):
            levels = [0] * len(FIELDS)
            levels[f] = level
            _, fields = scorer.weigh(tuple(levels))
            assert fields[f].field == field
            assert (fields[f].agreement is Agreement.MISSING) == (level == 0)


def test_columns_compare_as_single_pairs_do() -> None:
    """The batch scores in columns what the online path scores pair by pair: the levels must be the same."""
    data = generate(3_000, seed=11)
    customers = [normalise(r) for r in data.records]
    columns = CustomerColumns.of(customers)
    rank = np.arange(len(customers), dtype=np.int64)
    blocked = [
        block_pairs(np.array([key_code(rule.key(c)) for c in customers], dtype=np.int64), rank)
        for rule in BLOCKING_RULES
    ]
    left, right = unique_pairs(blocked, len(customers))
    rng = np.random.default_rng(3)
    left = np.concatenate([left, rng.integers(0, len(customers), 2_000, dtype=np.int32)])
    right = np.concatenate([right, rng.integers(0, len(customers), 2_000, dtype=np.int32)])
    columnar = compare_columns(columns, left, right)
    single = np.array([compare_levels(customers[a], customers[b]) for a, b in zip(left, right, strict=True)])
    assert (columnar == single).all()
    scorer = CustomerScorer()
    batch_scores = score(scorer.model, columnar)
    assert np.allclose(batch_scores[:200], [scorer.weigh(tuple(row))[0] for row in columnar[:200].tolist()])
    assert ((probability(batch_scores) >= 0) & (probability(batch_scores) <= 1)).all()
