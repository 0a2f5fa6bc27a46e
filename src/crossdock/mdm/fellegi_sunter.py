"""The Fellegi-Sunter match model: per field level, how likely it is among duplicates (m) and non-duplicates (u).

A pair's score is the prior log2 odds plus, per field, the log2 Bayes factor log2(m/u) of its level; a missing
field adds nothing. The parameters are learned from the records themselves, without labels:

- u from random pairs, which are almost all non-duplicates;
- m by expectation maximisation over the blocked candidate pairs with u held fixed, in sessions as Splink runs
  them (see `_SESSIONS`);
- the prior from the share of duplicates EM finds among the candidates, spread over all pairs.

One dependence is modelled explicitly. Branches of one company share its name, head-office phone, mail domain
and often its tax id, yet are different customers. Among random pairs a shared phone is nearly proof of a
duplicate; among pairs already shown to be one company it is not. So the company-wide fields (name, then tax id,
phone, email, in that order) count fully only as the first sign of one company: once an earlier one agreed, a
later one is weighed with a second u, `u_same_company`, learned on look-alike pairs (one company, other
addresses). "Same name, same phone, same tax id, other street" stays a branch, not a duplicate; the address
decides.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from crossdock.mdm.comparisons import ADDRESS, COMPANY_AGREES, COMPANY_FIELDS, FIELD_LEVELS, FIELDS, NAME, Levels

_EM_MAX_ITERATIONS = 60
_EM_TOLERANCE = 1e-5
_MIN_LOOKALIKES = 200  # fewer look-alike pairs than this say too little; keep the shipped u_same_company
_PROBABILITY_FLOOR = 1e-9  # no level is impossible: a zero would make a weight infinite
_OTHER_ADDRESS = (4, 5, 6)  # address levels of two different locations
# EM sessions, as Splink runs them: each trains on the candidates that agree on one field, whose own m it cannot
# learn there (all those pairs agree on it), so that field is left out. Among pairs at one street address most
# are duplicates, which teaches the name's m; among pairs with one name, branches and duplicates mix and the
# address tells them apart, which teaches the address's m.
_SESSIONS = ((ADDRESS, (1, 2)), (NAME, (1,)))

Weights = npt.NDArray[np.float64]
Parameters = dict[str, tuple[float, ...]]


def _normalised(values: npt.NDArray[np.float64]) -> tuple[float, ...]:
    values = np.maximum(values, _PROBABILITY_FLOOR)
    return tuple(float(v) for v in values / values.sum())


@dataclass(frozen=True, slots=True)
class MatchModel:
    """Fellegi-Sunter parameters; `m[field][i]` and `u[field][i]` belong to level i + 1 (level 0 is missing)."""

    prior: float  # probability that two records picked at random are the same customer
    m: Parameters
    u: Parameters
    u_same_company: Parameters  # u of tax id, phone and email among look-alikes: one company, other addresses
    trained_on: str = "shipped defaults"

    def weights(self) -> Weights:
        """log2 Bayes factors as a table [company already shown 0/1, field, level]; level 0 (missing) weighs 0."""
        depth = max(len(levels) for levels in FIELD_LEVELS.values()) + 1
        table = np.zeros((2, len(FIELDS), depth))
        for f, field in enumerate(FIELDS):
            for shown in (0, 1):
                u = self.u_same_company[field] if shown and f in COMPANY_FIELDS else self.u[field]
                for level, (m_l, u_l) in enumerate(zip(self.m[field], u, strict=True), start=1):
                    table[shown, f, level] = math.log2(m_l / u_l)
        return table

    @property
    def prior_weight(self) -> float:
        """The prior as log2 odds."""
        return math.log2(self.prior / (1 - self.prior))

    def to_json(self) -> str:
        """The model as JSON, to keep beside a system's golden records and load with `from_json`."""
        return json.dumps(
            {
                "prior": self.prior,
                "m": self.m,
                "u": self.u,
                "u_same_company": self.u_same_company,
                "trained_on": self.trained_on,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        """A model written by `to_json`; raises ValueError when a field or level is missing."""
        raw: dict[str, Any] = json.loads(text)
        try:
            model = cls(
                prior=float(raw["prior"]),
                m={field: tuple(map(float, values)) for field, values in raw["m"].items()},
                u={field: tuple(map(float, values)) for field, values in raw["u"].items()},
                u_same_company={field: tuple(map(float, values)) for field, values in raw["u_same_company"].items()},
                trained_on=str(raw.get("trained_on", "")),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a match model ({error!r}); write one with MatchModel.to_json()") from error
        model.check()
        return model

    def check(self) -> None:
        """Raise ValueError unless every field has one m and one u per level, all in (0, 1]."""
        if not 0 < self.prior < 1:
            raise ValueError(f"prior must be between 0 and 1, not {self.prior}")
        for f, (field, levels) in enumerate(FIELD_LEVELS.items()):
            tables = [self.m.get(field), self.u.get(field)]
            if f in COMPANY_FIELDS:
                tables.append(self.u_same_company.get(field))
            for values in tables:
                if values is None or len(values) != len(levels) or not all(0 < v <= 1 for v in values):
                    raise ValueError(
                        f"match model field {field!r} needs {len(levels)} probabilities in (0, 1] for m and u; "
                        "retrain it or start from MatchModel.default()"
                    )

    @classmethod
    def default(cls) -> MatchModel:
        """Parameters for when there is nothing to train on (a new system, the online path with few records).

        Rounded from a training run on the generated distributor data (`crossdock bench match`, 1,000,000
        records, about 0.8 duplicate pairs a record); the prior is that of a million such records. The m of a
        clear disagreement (tax id, address) is raised to 0.1-0.2% from the learned 0.003%: real customers move
        and mistype, and one field should not veto a match on its own.
        """
        return cls(
            prior=2.3e-6,
            m={
                "name": (0.69, 0.244, 0.033, 0.025, 0.01),
                "tax_id": (0.993, 0.005, 0.002),
                "address": (0.70, 0.163, 0.113, 0.0155, 0.0092, 0.001),
                "phone": (0.81, 0.19),
                "email": (0.484, 0.489, 0.0275),
            },
            u={
                "name": (9.2e-6, 2.2e-6, 5.2e-6, 2.2e-4, 0.999763),
                "tax_id": (7.7e-6, 1.5e-6, 0.999991),
                "address": (3.2e-6, 1.4e-7, 1.2e-4, 8.7e-4, 7.8e-3, 0.991204),
                "phone": (4.6e-6, 0.999995),
                "email": (7.9e-6, 1.3e-5, 0.999979),
            },
            u_same_company={
                "tax_id": (0.325, 0.0008, 0.6742),
                "phone": (0.29, 0.71),
                "email": (0.18, 0.29, 0.53),
            },
        )


def company_shown(levels: Levels) -> npt.NDArray[np.intp]:
    """Per pair and field, 1 where an earlier company-wide field (name, tax id, phone, email) already agreed."""
    shown = np.zeros(levels.shape, dtype=np.intp)
    seen = np.isin(levels[:, NAME], COMPANY_AGREES[NAME])
    for f in COMPANY_FIELDS:
        shown[:, f] = seen
        seen = seen | np.isin(levels[:, f], COMPANY_AGREES[f])
    return shown


def _level_shares(levels: Levels, weights: npt.NDArray[np.float64] | None = None) -> Parameters:
    """Per field, the (weighted) share of each level among pairs where the field is not missing; smoothed."""
    shares = {}
    for f, field in enumerate(FIELDS):
        depth = len(FIELD_LEVELS[field]) + 1
        counts = np.bincount(levels[:, f], weights=weights, minlength=depth)[1:].astype(np.float64)
        shares[field] = _normalised(counts + 1.0 / depth)
    return shares


def estimate_u(random_levels: Levels) -> Parameters:
    """u per field from the levels of random pairs (nearly all non-duplicates)."""
    return _level_shares(random_levels)


def estimate_u_same_company(candidate_levels: Levels, fallback: Parameters) -> Parameters:
    """u of each company-wide field among look-alikes: candidates at other addresses whose company was shown.

    Such pairs are branches or same-named companies elsewhere, nearly never duplicates. `fallback` is kept for a
    field seen on fewer than `_MIN_LOOKALIKES` of them.
    """
    shown = company_shown(candidate_levels)
    elsewhere = np.isin(candidate_levels[:, ADDRESS], _OTHER_ADDRESS)
    result = {}
    for f in COMPANY_FIELDS:
        field = FIELDS[f]
        lookalikes = candidate_levels[elsewhere & (shown[:, f] == 1)]
        observed = int(np.count_nonzero(lookalikes[:, f]))
        result[field] = _level_shares(lookalikes)[field] if observed >= _MIN_LOOKALIKES else fallback[field]
    return result


def _scores(levels: Levels, table: Weights, prior_weight: float, skip: int | None = None) -> npt.NDArray[np.float64]:
    shown = company_shown(levels)
    total = np.full(len(levels), prior_weight)
    for f in range(len(FIELDS)):
        if f != skip:
            total += table[shown[:, f], f, levels[:, f]]
    return total


def score(model: MatchModel, levels: Levels, table: Weights | None = None) -> npt.NDArray[np.float64]:
    """Each pair's score: log2 odds that it is a duplicate."""
    return _scores(levels, model.weights() if table is None else table, model.prior_weight)


def probability(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log2 odds as probabilities."""
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp2(-np.clip(scores, -200, 200)))
    return result


def _expectation_maximisation(
    levels: Levels, model: MatchModel, skip: int | None, *, learn_m: bool = True
) -> tuple[Parameters, float]:
    """m per field (but `skip`) and the share of duplicates among `levels`, by EM with u held fixed."""
    m, share = dict(model.m), 0.3  # the share's start matters little
    for _ in range(_EM_MAX_ITERATIONS):
        current = replace(model, m=m, prior=share)
        expected = probability(_scores(levels, current.weights(), current.prior_weight, skip))
        new_share = float(np.clip(expected.mean(), 1e-6, 1 - 1e-6))
        new_m = _level_shares(levels, expected) if learn_m else m
        if skip is not None:
            new_m[FIELDS[skip]] = m[FIELDS[skip]]
        change = max(
            abs(new_share - share),
            *(abs(a - b) for field in FIELDS for a, b in zip(m[field], new_m[field], strict=True)),
        )
        m, share = new_m, new_share
        if change < _EM_TOLERANCE:
            break
    return m, share


def train(
    candidate_levels: Levels,
    random_levels: Levels,
    *,
    candidate_pairs: int,
    records: int,
    start: MatchModel | None = None,
) -> MatchModel:
    """A model learned from the data: u from random pairs, m by EM over candidate pairs, then the prior.

    `candidate_levels` may be a sample of the `candidate_pairs` blocked pairs; `records` is how many records
    were blocked, which turns the share of duplicates among candidates into a prior over all pairs.
    """
    start = start or MatchModel.default()
    model = replace(
        start,
        u=estimate_u(random_levels),
        u_same_company=estimate_u_same_company(candidate_levels, start.u_same_company),
    )
    learned: dict[str, list[tuple[float, ...]]] = {field: [] for field in FIELDS}
    for skip, agreeing in _SESSIONS:
        subset = candidate_levels[np.isin(candidate_levels[:, skip], agreeing)]
        if len(subset) == 0:
            continue
        m, _ = _expectation_maximisation(subset, model, skip)
        for f, field in enumerate(FIELDS):
            if f != skip:
                learned[field].append(m[field])
    m = {
        field: _normalised(np.mean(np.array(values), axis=0)) if values else start.m[field]
        for field, values in learned.items()
    }
    # With m and u settled, the share of duplicates among all candidates gives the prior.
    _, share = _expectation_maximisation(candidate_levels, replace(model, m=m), None, learn_m=False)
    all_pairs = records * (records - 1) / 2
    prior = min(0.5, max(share * candidate_pairs / max(all_pairs, 1.0), 1e-12))
    return replace(model, m=m, prior=prior, trained_on=f"{records} records, {candidate_pairs} candidate pairs")
