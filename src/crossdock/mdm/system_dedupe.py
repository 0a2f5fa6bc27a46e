"""Deduplicating one system's existing customers: read them all, find the duplicate clusters with the batch engine,
and put what it found where a steward can act on it.

Every record read is tied to a golden record first: a record the system's flows have brought in already has one;
one never seen is adopted (the composition root says how: through attribute ownership, as a capture would), so
the online gate knows it from then on. Then the engine clusters them. A cluster is a set of records that the
engine links with confidence; since they all come from one system, merging them retires records there, which is a
person's call: each becomes a stewardship case against the cluster's survivor, unless `auto_merge` says to merge
them at once. Pairs the engine scores between the review and link thresholds become cases too. Pairs a steward has
decided are not asked again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crossdock.mdm.batch import DedupeResult, Progress, dedupe
from crossdock.mdm.model import CustomerRecord, MatchResult, Thresholds
from crossdock.mdm.online import explanation
from crossdock.mdm.records import customer_record, record_json
from crossdock.mdm.stewardship import StewardshipService
from crossdock.ports.connector import Connector
from crossdock.ports.mdm import StewardshipCase
from crossdock.ports.store import Store, UnitOfWork

PAGE = 500
ACTOR = "crossdock mdm dedupe"
RecordMapper = Callable[[dict[str, Any]], dict[str, Any]]


class Adopt(Protocol):
    """Makes a system's record Crossdock has never seen a golden record (and links it); returns its canonical id."""

    def __call__(self, uow: UnitOfWork, system: str, local_id: str, canonical: dict[str, Any]) -> str: ...


@dataclass(frozen=True, slots=True)
class SystemCustomer:
    """One of the system's customers, mapped to the canonical shape."""

    local_id: str
    canonical: dict[str, Any]


@dataclass(slots=True)
class DedupeReport:
    """What a system dedupe found and did."""

    system: str
    records: int = 0
    adopted: int = 0
    clusters: list[tuple[str, ...]] = field(default_factory=list)  # canonical ids, survivor first
    cases_opened: int = 0
    already_asked: int = 0
    merged: int = 0
    review_pairs: int = 0
    local_ids: dict[str, str] = field(default_factory=dict)  # canonical id -> the system's local id
    names: dict[str, str] = field(default_factory=dict)  # canonical id -> name, for the report
    result: DedupeResult | None = None


async def read_customers(
    connector: Connector,
    inbound: RecordMapper | None,
    *,
    entity: str = "customer",
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> list[SystemCustomer]:
    """Every customer the system has, read through its change capture from the beginning, mapped inbound."""
    found: dict[str, SystemCustomer] = {}
    cursor: str | None = None
    while True:
        batch = await connector.read_changes(entity, cursor, page)
        for record in batch.records:
            if record.deleted:
                found.pop(record.local_id, None)
                continue
            canonical = inbound(record.payload) if inbound is not None else dict(record.payload)
            found[record.local_id] = SystemCustomer(record.local_id, canonical)
        if progress is not None:
            progress(len(found))
        if not batch.more or batch.next_cursor is None or batch.next_cursor == cursor:
            break
        cursor = batch.next_cursor
    return list(found.values())


class SystemDedupe:
    """Ties a system's customers to golden records, clusters them, and opens cases (or merges)."""

    def __init__(
        self, store: Store, stewardship: StewardshipService, adopt: Adopt, thresholds: Thresholds | None = None
    ) -> None:
        self._store = store
        self._stewardship = stewardship
        self._keeper = stewardship.keeper
        self._adopt = adopt
        self.thresholds = thresholds or Thresholds()

    def tie(self, system: str, customers: Sequence[SystemCustomer], report: DedupeReport) -> list[CustomerRecord]:
        """Each customer as a record named by its golden record's canonical id (adopting those never seen)."""
        entity = self._keeper.entity
        records: list[CustomerRecord] = []
        with self._store.unit_of_work() as uow:
            for customer in customers:
                ref = uow.xrefs.find_canonical(entity, system, customer.local_id)
                if ref is None:
                    canonical_id = self._adopt(uow, system, customer.local_id, customer.canonical)
                    report.adopted += 1
                else:
                    canonical_id = ref.canonical_id
                    self._keeper.keys.index_golden(uow, canonical_id)
                report.local_ids[canonical_id] = customer.local_id
                report.names[canonical_id] = str(customer.canonical.get("name") or "")
                records.append(customer_record(canonical_id, customer.canonical, system=system))
            uow.commit()
        report.records = len(records)
        return records

    def cluster(self, records: Sequence[CustomerRecord], progress: Progress | None = None) -> DedupeResult:
        """The engine's clusters and review pairs."""
        return dedupe(records, thresholds=self.thresholds, progress=progress)

    async def act(
        self, result: DedupeResult, records: Sequence[CustomerRecord], report: DedupeReport, *, auto_merge: bool
    ) -> DedupeReport:
        """Open a case per duplicate (or merge it with `auto_merge`) and per review pair."""
        by_id = {record.record_id: record for record in records}
        scorer = self._keeper.keys.matcher.scorer
        report.result = result
        for cluster in result.clusters:
            survivor, *others = await asyncio.to_thread(self._ordered, cluster)
            report.clusters.append((survivor, *others))
            for loser in others:
                if auto_merge:
                    await self._stewardship.merge(survivor, loser, actor=ACTOR, reason="batch dedupe: linked")
                    report.merged += 1
                    continue
                self._open(scorer.compare(by_id[loser], by_id[survivor]), by_id, report)
        for pair in result.review:
            report.review_pairs += 1
            self._open(pair, by_id, report)
        return report

    def _ordered(self, cluster: Sequence[str]) -> list[str]:
        """The cluster's records, the survivor first: the one linked in the most systems, then the lowest id."""
        entity = self._keeper.entity
        with self._store.unit_of_work(read_only=True) as uow:
            links = {cid: len(uow.xrefs.for_canonical(entity, cid)) for cid in cluster}
        return sorted(cluster, key=lambda cid: (-links[cid], cid))

    def _open(self, pair: MatchResult, by_id: dict[str, CustomerRecord], report: DedupeReport) -> None:
        entity = self._keeper.entity
        left, right = pair.record_id, pair.candidate_id
        with self._store.unit_of_work() as uow:
            left, right = self._keeper.survivor_of(uow, left), self._keeper.survivor_of(uow, right)
            if left == right:
                return
            _, created = uow.mdm.open_case(
                StewardshipCase(
                    entity=entity,
                    left=left,
                    right=right,
                    probability=pair.probability,
                    score=pair.score,
                    explanation=explanation(pair),
                    left_record=record_json(by_id[pair.record_id]),
                    right_record=record_json(by_id[pair.candidate_id]),
                )
            )
            uow.commit()
        if created:
            report.cases_opened += 1
        else:
            report.already_asked += 1
