"""The online path: every new customer, from any system, is matched against the golden records before anything is
created for it in the ERP.

`CustomerGate.admit` answers for one arriving record:

- KNOWN: the system's record is linked to a golden record already (its survivor, if that one was merged away);
- LINKED: it matches a golden record with confidence (at or above the link threshold) and that golden record has no
  record in the same system yet: the cross-reference is linked, nothing is created;
- HELD: a likely duplicate (between the review and link thresholds, or a confident match that already has a record
  in the same system, which only a person may merge): a stewardship case is opened with what waits for the answer
  (`held`), and nothing is created until a steward decides; a record already held stays held, with its newest
  version;
- NEW: nothing like it: the caller creates it (and the golden record it becomes is indexed).

A pair a steward has decided is never asked again: kept apart, the candidate is skipped; merged, the record links.
The gate runs inside the caller's unit of work, so the case or link commits with whatever else the caller records.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from crossdock.mdm.golden import GoldenKeeper
from crossdock.mdm.model import CustomerRecord, MatchDecision, MatchResult, Thresholds
from crossdock.mdm.records import record_json
from crossdock.ports.mdm import CaseState, StewardshipCase, record_key
from crossdock.ports.store import CrossReference, UnitOfWork


class Admission(enum.StrEnum):
    """What the gate decided about an arriving customer."""

    KNOWN = "known"
    LINKED = "linked"
    HELD = "held"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A customer arriving from a system: its local id there, flattened for matching, and its canonical document."""

    system: str
    local_id: str
    record: CustomerRecord
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """How a case names it: `<system>:<local id>`."""
        return record_key(self.system, self.local_id)


@dataclass(frozen=True, slots=True)
class GateAnswer:
    """The gate's answer: the golden record the arrival is (KNOWN, LINKED) or may be (HELD), and why; `case` is
    the case that holds it (HELD) or whose decision linked it (LINKED)."""

    admission: Admission
    canonical_id: str | None = None
    match: MatchResult | None = None
    case: StewardshipCase | None = None
    reason: str = ""


def explanation(result: MatchResult) -> list[dict[str, Any]]:
    """A match's per-field evidence as JSON, for a case."""
    return [{"field": f.field, "agreement": f.agreement.value, "weight": round(f.weight, 3)} for f in result.fields]


class CustomerGate:
    """Matches arriving customers against golden records: link, hold for a steward, or let them be created."""

    def __init__(self, keeper: GoldenKeeper, thresholds: Thresholds | None = None) -> None:
        self.keeper = keeper
        self.thresholds = thresholds or Thresholds()
        self.entity = keeper.entity

    def admit(
        self, uow: UnitOfWork, arrival: Arrival, *, held: dict[str, Any] | None = None, link: bool = True
    ) -> GateAnswer:
        """Decide about `arrival` and record it: link its cross-reference (unless `link` is False, when the caller
        links it itself), or open a case holding `held`."""
        answer = self.screen(uow, arrival)
        if answer.admission is Admission.HELD and answer.case is not None:
            if held is not None and answer.case.id is not None:
                uow.mdm.hold(answer.case.id, held)
            return answer
        if answer.admission is Admission.LINKED and link and answer.canonical_id is not None:
            # A system holds one record per golden record: a second one is known by the decision, not linked.
            if uow.xrefs.find_local(self.entity, answer.canonical_id, arrival.system) is None:
                uow.xrefs.link(CrossReference(self.entity, answer.canonical_id, arrival.system, arrival.local_id))
            return answer
        if answer.admission is Admission.HELD and answer.match is not None and answer.canonical_id is not None:
            entry = uow.mdm.entry(self.entity, answer.canonical_id)
            case, _ = uow.mdm.open_case(
                StewardshipCase(
                    entity=self.entity,
                    left=arrival.key,
                    right=answer.canonical_id,
                    probability=answer.match.probability,
                    score=answer.match.score,
                    explanation=explanation(answer.match),
                    left_record=record_json(arrival.record),
                    right_record={} if entry is None else dict(entry.record),
                    held=held,
                    source_system=arrival.system,
                )
            )
            return replace(answer, case=case)
        return answer

    def screen(self, uow: UnitOfWork, arrival: Arrival) -> GateAnswer:
        """What `admit` would decide, without recording anything."""
        key = arrival.key
        waiting = uow.mdm.open_cases_for(self.entity, key)
        if waiting:
            return GateAnswer(Admission.HELD, waiting[0].right, case=waiting[0], reason="waiting for a steward")
        ref = uow.xrefs.find_canonical(self.entity, arrival.system, arrival.local_id)
        if ref is not None:
            return GateAnswer(Admission.KNOWN, self.keeper.survivor_of(uow, ref.canonical_id), reason="linked")
        record = replace(arrival.record, record_id=key, system=arrival.system)
        for result in self.keeper.keys.index(uow).scored(record):
            candidate = self.keeper.survivor_of(uow, result.candidate_id)
            decided = uow.mdm.case_for_pair(self.entity, key, candidate)
            if decided is not None and decided.state is CaseState.KEPT_APART:
                continue
            if decided is not None and decided.state is CaseState.MERGED:
                return GateAnswer(
                    Admission.LINKED, candidate, result, case=decided, reason=f"case {decided.id} decided merged"
                )
            decision = self.thresholds.decide(result.probability)
            if decision is MatchDecision.DISTINCT:
                break  # best first: the rest score lower still
            if decision is MatchDecision.LINK and uow.xrefs.find_local(self.entity, candidate, arrival.system) is None:
                return GateAnswer(Admission.LINKED, candidate, result, reason=_agreed(result))
            reason = (
                f"{arrival.system} already has a record of {candidate}; merging two of its records is a person's call"
                if decision is MatchDecision.LINK
                else f"likely the same ({result.probability:.2f}): {_agreed(result)}"
            )
            return GateAnswer(Admission.HELD, candidate, result, reason=reason)
        return GateAnswer(Admission.NEW, reason="no golden record is like it")


def _agreed(result: MatchResult) -> str:
    agreed = result.agreed_on()
    return f"agrees on {', '.join(agreed)}" if agreed else "scored without agreeing fields"
