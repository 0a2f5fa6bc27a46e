"""The match index of golden records, kept in the store (`uow.mdm`), for the online path.

Golden customers are indexed under their blocking keys with their flattened record; a new record's candidates are
the golden records that share a key with it, scored by the same scorer the batch run uses. `StoreMatchIndex` is
the `CustomerMatchIndex` protocol over one unit of work; `MatchKeys` keeps the index in step with the golden records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from crossdock.mdm.model import CustomerRecord, MatchDecision, MatchResult, Thresholds
from crossdock.mdm.records import customer_record, record_from_json, record_json
from crossdock.ports.mdm import MatchEntry
from crossdock.ports.store import UnitOfWork

CUSTOMER = "customer"
# Candidates scored per lookup (those sharing the most keys), and taken from any one key: as the in-memory index
# (`index.py`) bounds them, so a chain's head-office phone or a common name keeps a lookup cheap.
CANDIDATE_LIMIT = 50
CANDIDATES_PER_KEY = 50

BlockingKeys = Callable[[CustomerRecord], Iterable[str]]


class Scorer(Protocol):
    """Scores two customer records (the engine's `CustomerScorer`)."""

    def compare(self, a: CustomerRecord, b: CustomerRecord) -> MatchResult:
        """How likely `b` is the same customer as `a`, with the per-field evidence."""
        ...


@dataclass(frozen=True, slots=True)
class Matcher:
    """What the online path scores with: blocking keys to find candidates, a scorer to judge them."""

    keys: BlockingKeys
    scorer: Scorer


class StoreMatchIndex:
    """The `CustomerMatchIndex` protocol over the store's match index, within one unit of work."""

    def __init__(
        self, uow: UnitOfWork, matcher: Matcher, *, entity: str = CUSTOMER, candidates: int = CANDIDATE_LIMIT
    ) -> None:
        self._uow = uow
        self._matcher = matcher
        self._entity = entity
        self._candidates = candidates

    def add(self, record: CustomerRecord) -> None:
        """Index a record (replacing one with the same record_id)."""
        keys = tuple(sorted(set(self._matcher.keys(record))))
        self._uow.mdm.index(MatchEntry(self._entity, record.record_id, record_json(record), keys, record.updated_at))

    def remove(self, record_id: str) -> None:
        """Forget a record; unknown ids are ignored."""
        self._uow.mdm.unindex(self._entity, record_id)

    def best(self, record: CustomerRecord, *, limit: int = 5) -> Sequence[MatchResult]:
        """The best-scoring candidates for `record`, best first, DISTINCT ones left out; never `record` itself."""
        scored = [r for r in self.scored(record) if r.decision is not MatchDecision.DISTINCT]
        return scored[:limit]

    def scored(self, record: CustomerRecord) -> list[MatchResult]:
        """Every candidate sharing a blocking key with `record`, scored, best first (DISTINCT ones included)."""
        keys = sorted(set(self._matcher.keys(record)))
        entries = self._uow.mdm.candidates(self._entity, keys, limit=self._candidates, per_key=CANDIDATES_PER_KEY)
        results = [
            self._matcher.scorer.compare(record, record_from_json({**entry.record, "record_id": entry.canonical_id}))
            for entry in entries
            if entry.canonical_id != record.record_id
        ]
        return sorted(results, key=lambda r: (-r.probability, r.candidate_id))


class MatchKeys:
    """Keeps the match index in step with golden records: indexed while they stand, out once merged away."""

    def __init__(self, matcher: Matcher, *, entity: str = CUSTOMER) -> None:
        self.matcher = matcher
        self.entity = entity

    def index_golden(self, uow: UnitOfWork, canonical_id: str) -> CustomerRecord | None:
        """Index a golden record from its current document (or take it out if it is gone or merged away)."""
        golden = uow.golden.get(self.entity, canonical_id)
        if golden is None or uow.mdm.merged_into(self.entity, canonical_id) is not None:
            uow.mdm.unindex(self.entity, canonical_id)
            return None
        record = customer_record(canonical_id, golden.document)
        keys = tuple(sorted(set(self.matcher.keys(record))))
        previous = uow.mdm.entry(self.entity, canonical_id)
        flat = record_json(record)
        if previous is None or previous.keys != keys or previous.record != flat:
            uow.mdm.index(MatchEntry(self.entity, canonical_id, flat, keys, golden.updated_at))
        return record

    def unindex(self, uow: UnitOfWork, canonical_id: str) -> None:
        """Take a golden record out of the index."""
        uow.mdm.unindex(self.entity, canonical_id)

    def index(self, uow: UnitOfWork) -> StoreMatchIndex:
        """The index as a `CustomerMatchIndex`, within `uow`."""
        return StoreMatchIndex(uow, self.matcher, entity=self.entity)


def engine_matcher(thresholds: Thresholds | None = None) -> Matcher:
    """The matching engine's blocking keys and scorer: what the batch dedupe and the online path share."""
    from crossdock.mdm.blocking import blocking_keys
    from crossdock.mdm.matching import CustomerScorer
    from crossdock.mdm.normalize import normalise

    def keys(record: CustomerRecord) -> list[str]:
        return blocking_keys(normalise(record))

    return Matcher(keys=keys, scorer=CustomerScorer(thresholds=thresholds))
