"""What master-data management keeps in the store, and what it asks of the systems.

`MdmRecords` (`uow.mdm`) holds three things next to the golden records: the match index of golden customers (their
blocking keys, and each one flattened to the fields matching reads), the merges of golden records (with what each
changed, so it can be undone), and the stewardship cases (a likely duplicate pair, why it was flagged, what waits
for the decision, and the decision). A pair is decided once: opening a case for a pair that already has one, in any
state, returns that case.

`MergesDuplicates` is the optional connector capability that carries a merge into a system that holds both
records: the losing record is retired (made inactive, or marked) with a reference to the survivor, never deleted.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class CaseState(enum.StrEnum):
    """Where a stewardship case stands; only an open case may be decided."""

    OPEN = "open"
    MERGED = "merged"  # the steward said: one customer
    KEPT_APART = "kept_apart"  # the steward said: two customers


class MergeState(enum.StrEnum):
    """Whether a merge still stands."""

    MERGED = "merged"
    UNMERGED = "unmerged"


class CaseDecidedError(RuntimeError):
    """A case that is no longer open was decided again; its first decision stands."""


class UnknownCaseError(LookupError):
    """No stewardship case (or merge) has the given id."""


class AlreadyMergedError(RuntimeError):
    """The golden record is merged into another already; unmerge that first, or merge into its survivor."""


def pair_key(entity: str, first: str, second: str) -> str:
    """The key of an unordered pair of records: the same whichever side is named first."""
    low, high = sorted((first, second))
    return f"{entity}|{low}|{high}"


def record_key(system: str, local_id: str) -> str:
    """How a record that is not (yet) a golden record is named in a case: `<system>:<local id>`."""
    return f"{system}:{local_id}"


@dataclass(frozen=True, slots=True)
class MatchEntry:
    """One golden record in the match index: its blocking keys and the fields matching compares."""

    entity: str
    canonical_id: str
    record: dict[str, Any]  # the golden record flattened for matching (CustomerRecord's fields, as JSON)
    keys: tuple[str, ...]  # blocking keys: records that share none are never compared
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StewardshipCase:
    """A likely duplicate for a person to decide: the pair, the score and why, and what waits for the answer.

    `left` is the arriving record (`<system>:<local id>`) or a golden record's canonical id; `right` is always the
    canonical id of the golden record it likely duplicates. `held` is what the decision releases (a creation held
    back from the ERP, an order waiting for its buyer); None when nothing waits.
    """

    entity: str
    left: str
    right: str
    probability: float
    score: float = 0.0
    explanation: list[dict[str, Any]] = field(default_factory=list)  # per field: field, agreement, weight
    left_record: dict[str, Any] = field(default_factory=dict)
    right_record: dict[str, Any] = field(default_factory=dict)
    held: dict[str, Any] | None = None
    source_system: str | None = None
    state: CaseState = CaseState.OPEN
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    opened_at: datetime | None = None
    released_at: datetime | None = None  # when what it held was let through, after the decision
    release: str | None = None  # what letting it through did
    id: int | None = None

    @property
    def pair(self) -> str:
        """The pair's key, as `pair_key` spells it."""
        return pair_key(self.entity, self.left, self.right)


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """One golden record merged into another; `snapshot` holds what the merge changed, so unmerge can restore it."""

    entity: str
    winner_id: str
    loser_id: str
    actor: str
    snapshot: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    case_id: int | None = None
    state: MergeState = MergeState.MERGED
    # Per system (and "event" for the merged event): what carrying the merge did there, e.g. "deactivated",
    # "noted", "restamped", "published", or "failed: <why>". A system missing from it is still to do.
    carried: dict[str, str] = field(default_factory=dict)
    merged_at: datetime | None = None
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None
    id: int | None = None


class MdmRecords(Protocol):
    """The match index, merges and stewardship cases (`uow.mdm`)."""

    # --- the match index of golden records ---

    def index(self, entry: MatchEntry) -> None:
        """Index a golden record, replacing its previous keys and record."""
        ...

    def unindex(self, entity: str, canonical_id: str) -> None:
        """Take a golden record out of the index (a merged-away loser); unknown ids are ignored."""
        ...

    def entry(self, entity: str, canonical_id: str) -> MatchEntry | None:
        """The indexed entry of a golden record."""
        ...

    def candidates(self, entity: str, keys: Sequence[str], *, limit: int = 50, per_key: int = 50) -> list[MatchEntry]:
        """Indexed records sharing at least one key, those sharing the most first (ties by canonical id). At most
        `per_key` records are taken from any one key, so a key shared by a whole chain costs no more than that."""
        ...

    def entries(self, entity: str, *, after: str | None = None, limit: int = 1000) -> list[MatchEntry]:
        """Indexed records in canonical-id order, from just after `after`: a whole-index walk, page by page."""
        ...

    # --- stewardship cases ---

    def open_case(self, case: StewardshipCase) -> tuple[StewardshipCase, bool]:
        """Open a case; if the pair has one already (open or decided), return it and False instead."""
        ...

    def case(self, case_id: int) -> StewardshipCase | None:
        """One case."""
        ...

    def case_for_pair(self, entity: str, first: str, second: str) -> StewardshipCase | None:
        """The case of a pair, in any state."""
        ...

    def open_cases_for(self, entity: str, left: str) -> list[StewardshipCase]:
        """The open cases of an arriving record (`left`), oldest first."""
        ...

    def cases(
        self, *, state: CaseState | None = None, entity: str | None = None, limit: int = 100
    ) -> list[StewardshipCase]:
        """Cases, oldest first, filtered."""
        ...

    def hold(self, case_id: int, held: dict[str, Any] | None) -> None:
        """Replace what an open case holds (a newer version of the held record arrived)."""
        ...

    def decide(self, case_id: int, state: CaseState, *, actor: str, at: datetime, note: str | None = None) -> None:
        """Record the decision of an open case; raises CaseDecidedError if it was decided already."""
        ...

    def released(self, case_id: int, release: str, *, at: datetime) -> None:
        """Record that what a decided case held was let through, and how."""
        ...

    def unreleased(self, *, limit: int = 100) -> list[StewardshipCase]:
        """Decided cases whose held record has not been let through yet (a crash came between), oldest first."""
        ...

    # --- merges ---

    def record_merge(self, merge: MergeRecord) -> MergeRecord:
        """Store a merge (its id and time set by the store); a loser can be merged into one winner at a time."""
        ...

    def merge(self, merge_id: int) -> MergeRecord | None:
        """One merge."""
        ...

    def merges(
        self, entity: str, canonical_id: str | None = None, *, state: MergeState | None = None, limit: int = 100
    ) -> list[MergeRecord]:
        """Merges naming a canonical id as winner or loser (all, without one), newest first."""
        ...

    def merged_into(self, entity: str, canonical_id: str) -> MergeRecord | None:
        """The standing merge that took this golden record away, if any."""
        ...

    def unmerged(self, merge_id: int, *, actor: str, at: datetime) -> None:
        """Mark a merge undone."""
        ...

    def carried(self, merge_id: int, system: str, outcome: str) -> None:
        """Record what carrying a merge into one system did."""
        ...

    def move_xref(self, entity: str, system: str, from_id: str, to_id: str) -> bool:
        """Repoint a system's cross-reference from one canonical id to another; False if `from_id` had none there
        or `to_id` already has one there (a system holds one record per canonical object)."""
        ...


@dataclass(frozen=True, slots=True)
class DuplicateRetirement:
    """What a system is asked to do with its record of a merged-away customer."""

    entity: str
    local_id: str  # the losing record in that system
    survivor_id: str  # the surviving golden record's canonical id
    survivor_local_id: str | None  # the survivor's record in the same system, if it has one there
    note: str  # a human sentence: merged into whom, when, by whom


@runtime_checkable
class MergesDuplicates(Protocol):
    """A connector that can retire a duplicate record in favour of its survivor, and bring it back on unmerge."""

    async def retire_duplicate(self, retirement: DuplicateRetirement) -> str:
        """Make the losing record inactive (or mark it) with a reference to the survivor; return what was done."""
        ...

    async def restore_duplicate(self, entity: str, local_id: str, note: str) -> str:
        """Undo `retire_duplicate` after an unmerge; return what was done."""
        ...
