"""Survivorship: the owner's value first, then the policy's rule; empty values never win; ties keep the survivor's."""

from __future__ import annotations

from datetime import UTC, datetime

from crossdock.mdm.survivorship import Contender, Rule, SurvivorshipPolicy, completeness, survive
from tests.unit.mdm.mdm_world import Owners

OLD, NEW = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)


def test_the_owners_value_wins_whatever_the_rule() -> None:
    winner = Contender("c-1", {"name": "ACME SUPPLY", "payment_terms": "N30"}, {"name": "erp", "payment_terms": "erp"})
    loser = Contender(
        "c-2", {"name": "Acme Supply, Inc.", "payment_terms": "N60"}, {"name": "crm", "payment_terms": "crm"}, NEW
    )
    merged = survive("customer", [winner, loser], SurvivorshipPolicy(owners=Owners(), default=Rule.MOST_RECENT))
    assert merged.document == {"id": "c-1", "name": "Acme Supply, Inc.", "payment_terms": "N30"}
    assert merged.sources == {"name": "crm", "payment_terms": "erp"}
    assert {p.attribute: p.reason for p in merged.picks} == {"name": "owner", "payment_terms": "owner"}


def test_without_an_owner_the_rule_decides() -> None:
    older = Contender(
        "c-1", {"sales_rep": "jdoe", "addresses": [{"city": "Columbus"}]}, {"sales_rep": "erp", "addresses": "erp"}, OLD
    )
    newer = Contender(
        "c-2",
        {"sales_rep": "mkim", "addresses": [{"city": "Columbus", "postal_code": "43215"}, {"city": "Dublin"}]},
        {"sales_rep": "crm", "addresses": "ecommerce"},
        NEW,
    )
    recent = survive("customer", [older, newer], SurvivorshipPolicy(default=Rule.MOST_RECENT))
    assert recent.document["sales_rep"] == "mkim"
    complete = survive("customer", [older, newer], SurvivorshipPolicy(default=Rule.MOST_COMPLETE))
    assert len(complete.document["addresses"]) == 2
    trusted = survive("customer", [newer, older], SurvivorshipPolicy(default=Rule.MOST_TRUSTED, trust=("erp", "crm")))
    assert (trusted.document["sales_rep"], trusted.sources["sales_rep"]) == ("jdoe", "erp")
    assert trusted.document["addresses"] == older.document["addresses"]  # ecommerce is not ranked: after erp
    per_attribute = survive(
        "customer",
        [older, newer],
        SurvivorshipPolicy(default=Rule.MOST_TRUSTED, rules={"addresses": Rule.MOST_COMPLETE}, trust=("erp",)),
    )
    assert (per_attribute.document["sales_rep"], len(per_attribute.document["addresses"])) == ("jdoe", 2)


def test_empty_values_never_win_and_ties_keep_the_survivors_value() -> None:
    winner = Contender("c-1", {"name": "Acme", "phone": "", "tax_class": None, "legal_name": "Acme LLC"}, {}, NEW)
    loser = Contender("c-2", {"name": "ACME", "phone": "+1 614 555 0100", "tax_class": "RESALE"}, {}, OLD)
    merged = survive("customer", [winner, loser], SurvivorshipPolicy(default=Rule.MOST_RECENT))
    assert merged.document == {
        "id": "c-1",
        "name": "Acme",
        "phone": "+1 614 555 0100",
        "tax_class": "RESALE",
        "legal_name": "Acme LLC",
    }
    tie = survive(
        "customer",
        [Contender("c-1", {"name": "Acme"}, {}), Contender("c-2", {"name": "ACME"}, {})],
        SurvivorshipPolicy(),
    )
    assert tie.document["name"] == "Acme"


def test_unions_keep_every_item_once_survivor_first() -> None:
    winner = Contender("c-1", {"identifiers": [{"scheme": "ein", "value": "471234567"}]}, {"identifiers": "erp"})
    loser = Contender(
        "c-2",
        {
            "identifiers": [{"scheme": "duns", "value": "150483782"}, {"scheme": "ein", "value": "471234567"}],
            "external_refs": [{"system": "crm", "local_id": "001A"}],
        },
        {"identifiers": "crm"},
    )
    merged = survive("customer", [winner, loser], SurvivorshipPolicy(rules={"identifiers": Rule.UNION}))
    assert merged.document["identifiers"] == [
        {"scheme": "ein", "value": "471234567"},
        {"scheme": "duns", "value": "150483782"},
    ]
    assert merged.document["external_refs"] == [{"system": "crm", "local_id": "001A"}]


def test_completeness_counts_filled_in_parts() -> None:
    assert completeness(None) == completeness("  ") == completeness([]) == 0
    assert completeness({"a": "x", "b": "", "c": [1, 2]}) == 3
