"""Customers kept in memory for matching one record at a time: blocking key → record ids, then score.

`best(record)` looks up the record's blocking keys (the batch dedupe's, `crossdock.mdm.blocking`), gathers the
records filed under them and scores each with `CustomerScorer`. A key filed under very many records (a chain's
head-office phone, a common name) would make one lookup score thousands: keys are visited from the most
specific (fewest records) up, each gives at most `candidates_per_key` records and the whole lookup at most
`max_candidates`, so latency stays flat however large the index grows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from crossdock.mdm.blocking import blocking_keys
from crossdock.mdm.matching import CustomerScorer
from crossdock.mdm.model import CustomerRecord, MatchDecision, MatchResult
from crossdock.mdm.normalize import NormalisedCustomer, normalise

CANDIDATES_PER_KEY = 50
MAX_CANDIDATES = 200


class InMemoryMatchIndex:
    """A `CustomerMatchIndex` in dicts: for the benchmark, the batch run and tests."""

    def __init__(
        self,
        scorer: CustomerScorer | None = None,
        *,
        candidates_per_key: int = CANDIDATES_PER_KEY,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.scorer = scorer or CustomerScorer()
        self._candidates_per_key = candidates_per_key
        self._max_candidates = max_candidates
        self._customers: dict[str, NormalisedCustomer] = {}
        # key → record ids, as a dict used as an insertion-ordered set so removing is O(1)
        self._filed: dict[str, dict[str, None]] = {}
        self._keys_of: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._customers)

    def customer(self, record_id: str) -> NormalisedCustomer | None:
        """The indexed record, normalised; None if it is not indexed."""
        return self._customers.get(record_id)

    def add(self, record: CustomerRecord) -> None:
        """Index a record, replacing one with the same record_id."""
        self.add_normalised(normalise(record))

    def add_normalised(self, customer: NormalisedCustomer) -> None:
        """Index a record that is already normalised."""
        if customer.record_id in self._customers:
            self.remove(customer.record_id)
        keys = blocking_keys(customer)
        self._customers[customer.record_id] = customer
        self._keys_of[customer.record_id] = keys
        for key in keys:
            self._filed.setdefault(key, {})[customer.record_id] = None

    def remove(self, record_id: str) -> None:
        """Forget a record; unknown ids are ignored."""
        if self._customers.pop(record_id, None) is None:
            return
        for key in self._keys_of.pop(record_id):
            filed = self._filed[key]
            del filed[record_id]
            if not filed:
                del self._filed[key]

    def candidates(self, customer: NormalisedCustomer) -> list[str]:
        """Ids of the records worth scoring against `customer`, most specific keys first, capped."""
        postings = [self._filed[key] for key in blocking_keys(customer) if key in self._filed]
        postings.sort(key=len)
        found: dict[str, None] = {}
        for filed in postings:
            for record_id in itertools.islice(filed, self._candidates_per_key):
                found[record_id] = None
            if len(found) >= self._max_candidates:
                break
        found.pop(customer.record_id, None)
        return list(itertools.islice(found, self._max_candidates))

    def best(self, record: CustomerRecord, *, limit: int = 5) -> Sequence[MatchResult]:
        """The best-scoring candidates for `record`, best first, DISTINCT ones left out; never `record` itself."""
        customer = normalise(record)
        results = []
        for record_id in self.candidates(customer):
            result = self.scorer.compare(customer, self._customers[record_id])
            if result.decision is not MatchDecision.DISTINCT:
                results.append(result)
        results.sort(key=lambda result: (-result.score, result.candidate_id))
        return results[:limit]
