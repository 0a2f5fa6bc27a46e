"""The shapes shared by the customer matcher, the golden-record keeper and the stewardship queue.

A `CustomerRecord` is one system's view of a customer account, flattened to the fields that identify a company
(name, tax id, address, phone, email); it is what matching reads, whichever system the record came from. The
matcher answers with `MatchResult`s: a score, a decision against the thresholds, and per field whether it agreed,
so that a steward can see why two records were called the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """One system's customer account, raw (not normalised), as matching reads it."""

    record_id: str  # unique among the records compared: "<system>:<local id>", or a golden record's canonical id
    system: str  # where it came from: "salesforce", "tryton", "edi:<partner>", "api", "ecommerce", "golden"
    name: str
    legal_name: str | None = None
    tax_id: str | None = None
    phone: str | None = None
    email: str | None = None
    street: str | None = None
    city: str | None = None
    region: str | None = None  # state or province
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    updated_at: datetime | None = None


class MatchDecision(StrEnum):
    """What a score means against the thresholds."""

    LINK = "link"  # the same customer: link automatically
    REVIEW = "review"  # likely the same: a data steward decides
    DISTINCT = "distinct"  # different customers


class Agreement(StrEnum):
    """How one field of two records compared."""

    EXACT = "exact"
    CLOSE = "close"  # agrees after fuzzy comparison (typo, abbreviation, swapped words)
    DIFFERENT = "different"
    MISSING = "missing"  # one side or both has no value: neither evidence for nor against


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """One field's part in a score: how it agreed and the evidence (log2 Bayes factor) it added."""

    field: str
    agreement: Agreement
    weight: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """How likely `candidate_id` is the same customer as the record matched, and why."""

    record_id: str
    candidate_id: str
    score: float  # sum of field weights plus the prior, in log2 odds
    probability: float  # the score as a match probability, 0..1
    decision: MatchDecision
    fields: tuple[FieldComparison, ...]

    def agreed_on(self) -> tuple[str, ...]:
        """The fields that agreed exactly or closely, for an explanation such as "name, postal_code, phone"."""
        return tuple(f.field for f in self.fields if f.agreement in (Agreement.EXACT, Agreement.CLOSE))


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Probability cut-offs: at or above `link` links automatically, at or above `review` goes to a steward."""

    link: float = 0.95
    review: float = 0.60

    def decide(self, probability: float) -> MatchDecision:
        """The decision a probability reaches."""
        if probability >= self.link:
            return MatchDecision.LINK
        if probability >= self.review:
            return MatchDecision.REVIEW
        return MatchDecision.DISTINCT


class CustomerMatchIndex(Protocol):
    """Records kept for matching: add, remove and ask for the best candidates of a new record.

    The in-memory index (`crossdock.mdm.index`) serves the benchmark and the batch run; a store-backed one serves the
    online path against golden records. Both block and score the same way.
    """

    def add(self, record: CustomerRecord) -> None:
        """Index a record (replacing one with the same record_id)."""
        ...

    def remove(self, record_id: str) -> None:
        """Forget a record; unknown ids are ignored."""
        ...

    def best(self, record: CustomerRecord, *, limit: int = 5) -> Sequence[MatchResult]:
        """The best-scoring candidates for `record`, best first, DISTINCT ones left out; never `record` itself."""
        ...
