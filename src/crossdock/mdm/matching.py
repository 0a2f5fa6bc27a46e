"""Score one pair of customers and say why: the matcher the online path, the index and explanations use.

`CustomerScorer.compare(a, b)` normalises both records (unless they already are), compares them field by field
(`comparisons`), adds the Fellegi-Sunter weights of the levels found (`fellegi_sunter`) and decides against the
thresholds. The batch dedupe scores millions of pairs with the same levels and weights, in columns.
"""

from __future__ import annotations

import math

from crossdock.mdm.comparisons import COMPANY_AGREES, COMPANY_FIELDS, FIELD_LEVELS, FIELDS, NAME, compare_levels
from crossdock.mdm.fellegi_sunter import MatchModel
from crossdock.mdm.model import Agreement, CustomerRecord, FieldComparison, MatchResult, Thresholds
from crossdock.mdm.normalize import NormalisedCustomer, normalise

Customer = CustomerRecord | NormalisedCustomer


def as_normalised(customer: Customer) -> NormalisedCustomer:
    """The customer normalised (records already normalised are passed through)."""
    return customer if isinstance(customer, NormalisedCustomer) else normalise(customer)


def probability_of(score: float) -> float:
    """A log2-odds score as a probability."""
    return 1.0 / (1.0 + math.pow(2.0, -max(min(score, 200.0), -200.0)))


class CustomerScorer:
    """Compares two customers with a match model and decides LINK, REVIEW or DISTINCT."""

    def __init__(self, model: MatchModel | None = None, thresholds: Thresholds | None = None) -> None:
        self.model = model or MatchModel.default()
        self.thresholds = thresholds or Thresholds()
        self._weights = self.model.weights()
        self._prior_weight = self.model.prior_weight

    def weigh(self, levels: tuple[int, ...]) -> tuple[float, tuple[FieldComparison, ...]]:
        """The score of a pair's levels and each field's part in it."""
        # As `fellegi_sunter.company_shown`: a company-wide field after one that agreed is weighed as a look-alike.
        seen = levels[NAME] in COMPANY_AGREES[NAME]
        fields = []
        total = self._prior_weight
        for f, (field, level) in enumerate(zip(FIELDS, levels, strict=True)):
            shown = 0
            if f in COMPANY_FIELDS:
                shown = int(seen)
                seen = seen or level in COMPANY_AGREES[f]
            weight = float(self._weights[shown, f, level])
            agreement = Agreement.MISSING if level == 0 else FIELD_LEVELS[field][level - 1][1]
            fields.append(FieldComparison(field, agreement, round(weight, 3)))
            total += weight
        return total, tuple(fields)

    def compare(self, a: Customer, b: Customer) -> MatchResult:
        """How likely `b` is the same customer as `a`, with each field's agreement and weight."""
        left, right = as_normalised(a), as_normalised(b)
        return self.result(left.record_id, right.record_id, compare_levels(left, right))

    def result(self, record_id: str, candidate_id: str, levels: tuple[int, ...]) -> MatchResult:
        """The MatchResult of a pair whose levels are known (the batch dedupe explains its pairs this way)."""
        score, fields = self.weigh(levels)
        probability = probability_of(score)
        return MatchResult(
            record_id=record_id,
            candidate_id=candidate_id,
            score=round(score, 3),
            probability=probability,
            decision=self.thresholds.decide(probability),
            fields=fields,
        )
