"""Golden customers, the match index and the gate on a memory store, for the master-data unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crossdock.mdm.golden import GoldenKeeper
from crossdock.mdm.model import Agreement, CustomerRecord, FieldComparison, MatchResult, Thresholds
from crossdock.mdm.online import CustomerGate
from crossdock.mdm.store_index import Matcher, MatchKeys
from crossdock.mdm.survivorship import SurvivorshipPolicy
from crossdock.ports.store import CrossReference, GoldenRecord
from crossdock.store.memory import MemoryStore

OWNERS = {"customer": {"name": "crm", "contact_points": "crm", "payment_terms": "erp", "identifiers": "erp"}}


@dataclass(frozen=True)
class Owners:
    """The sync layer's OwnershipPolicy, as survivorship sees it."""

    owners: dict[str, dict[str, str]] = field(default_factory=lambda: OWNERS)

    def owner(self, entity: str, attribute: str) -> str | None:
        rules = self.owners.get(entity, {})
        return rules.get(attribute, rules.get("*"))


def customer(
    name: str,
    street: str = "2200 Harbor Blvd",
    city: str = "Columbus",
    region: str = "OH",
    postal_code: str = "43215",
    *,
    number: str = "C-1",
    phone: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A canonical customer document."""
    document: dict[str, Any] = {
        "number": number,
        "name": name,
        "roles": ["bill_to", "sold_to"],
        "currency": "USD",
        "addresses": [
            {
                "kind": "bill_to",
                "lines": [street],
                "city": city,
                "region": region,
                "postal_code": postal_code,
                "country": "US",
                "is_default": True,
            }
        ],
    }
    if phone is not None:
        document["contact_points"] = [{"channel": "phone", "value": phone, "preferred": True}]
    document.update(extra)
    return document


LAKESHORE = customer("Lakeshore Plumbing Supply, Inc.", phone="+1 614 555 0188", number="C-20417")
HARBOR = customer("Harbor Fresh Markets", "12 Pier Rd", "Cleveland", "OH", "44113", number="C-30001")


# How likely an arriving name is the golden record it shares a key with: the gate's logic is tested against fixed
# scores, so that tuning the matching engine does not move these tests (the end-to-end test uses the engine).
SCORES = {
    "LAKESHORE PLBG SUPPLY": 0.99,
    "LAKESHORE PLUMBING": 0.80,
    "LAKESHORE PLUMBING SUPPLY": 0.80,
}


def _words(name: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in name.lower()).split()


class TableScorer:
    """Scores a pair by the arriving record's name (`scores`), 0.01 for any other name; explains like the engine."""

    def __init__(self, thresholds: Thresholds, scores: dict[str, float] | None = None) -> None:
        self.thresholds = thresholds
        self.scores = SCORES if scores is None else scores

    def compare(self, a: CustomerRecord, b: CustomerRecord) -> MatchResult:
        probability = self.scores.get(a.name, 0.01)
        names = Agreement.EXACT if _words(a.name) == _words(b.name) else Agreement.CLOSE
        if _words(a.name)[:1] != _words(b.name)[:1]:
            names = Agreement.DIFFERENT
        postal = Agreement.EXACT if (a.postal_code or "")[:5] == (b.postal_code or "")[:5] else Agreement.DIFFERENT
        fields = (FieldComparison("name", names, 4.0), FieldComparison("address", postal, 3.0))
        return MatchResult(a.record_id, b.record_id, 1.0, probability, self.thresholds.decide(probability), fields)


def table_matcher(thresholds: Thresholds, scores: dict[str, float] | None = None) -> Matcher:
    """Blocking on postal code and the name's first word; `TableScorer` scores."""

    def keys(record: CustomerRecord) -> list[str]:
        first = _words(record.name)[:1]
        return [f"zip:{(record.postal_code or '')[:5]}", *(f"word:{w}" for w in first)]

    return Matcher(keys=keys, scorer=TableScorer(thresholds, scores))


class World:
    """A memory store with master data wired the way the composition root wires it."""

    def __init__(
        self,
        *,
        policy: SurvivorshipPolicy | None = None,
        thresholds: Thresholds | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        self.store = MemoryStore()
        self.thresholds = thresholds or Thresholds()
        self.keys = MatchKeys(matcher or table_matcher(self.thresholds))
        self.keeper = GoldenKeeper(policy or SurvivorshipPolicy(owners=Owners()), self.keys)
        self.gate = CustomerGate(self.keeper, self.thresholds)

    def golden(
        self, canonical_id: str, document: dict[str, Any], *, system: str = "crm", links: dict[str, str] | None = None
    ) -> None:
        """A golden record set by `system`, linked to `links` (system -> local id), and indexed."""
        body = {**document, "id": canonical_id}
        sources = {attribute: system for attribute in body if attribute != "id"}
        with self.store.unit_of_work() as uow:
            uow.golden.put(GoldenRecord("customer", canonical_id, body, sources, {system: document}))
            for linked_system, local_id in (links or {}).items():
                uow.xrefs.link(CrossReference("customer", canonical_id, linked_system, local_id))
            self.keys.index_golden(uow, canonical_id)
            uow.commit()

    def document(self, canonical_id: str) -> dict[str, Any]:
        with self.store.unit_of_work(read_only=True) as uow:
            found = uow.golden.get("customer", canonical_id)
        assert found is not None
        return found.document

    def links(self, canonical_id: str) -> dict[str, str]:
        with self.store.unit_of_work(read_only=True) as uow:
            return {r.system: r.local_id for r in uow.xrefs.for_canonical("customer", canonical_id)}
