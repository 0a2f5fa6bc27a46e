"""Master data in the capture path: a new customer is matched against golden records before it is logged, so a
likely duplicate never reaches the ERP as a new account; and golden customers stay indexed for matching.

Two governors, wired around attribute ownership (`gate → ownership → index`):

- `CustomerMatchGovernor` asks the MDM gate about every captured customer. A record the gate links to an existing
  golden record is re-targeted to it (logged as that customer, its cross-reference linked there); a likely
  duplicate is held: not logged, a stewardship case keeps the change until a steward decides; a record of a
  merged-away duplicate that its system still holds beside the survivor is not logged either (it was retired
  there). Records already linked pass as before.
- `MatchKeyIndexer` re-indexes the golden record ownership has just written, so the gate and the API see it.

`CaptureRelease` lets a held change through after the decision: as an update of the golden record it was linked
to, or as the new customer it is, through the same ownership rules, logged like any captured change.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from crossdock.events.envelope import CloudEvent, event_type, new_traceparent
from crossdock.mdm.online import Admission, Arrival, CustomerGate
from crossdock.mdm.records import customer_record
from crossdock.mdm.release import Outcome
from crossdock.mdm.store_index import MatchKeys
from crossdock.ports.connector import Connector, ConnectorError, StampsCanonicalIds
from crossdock.ports.mdm import StewardshipCase
from crossdock.ports.store import CrossReference, LineageEntry, Store, UnitOfWork
from crossdock.sync.capture import canonical_id_for
from crossdock.sync.flow import Flow, system_source
from crossdock.sync.governance import CapturedChange, ChangeGovernor, Verdict, content_hash
from crossdock.sync.publish import Publisher

logger = logging.getLogger(__name__)

CAPTURE_CHANNEL = "capture"
_RELEASES = uuid.UUID("2f7b4c1e-8d3a-4b6f-9e2c-5a0d7c3b1f68")  # ids of released changes' events


def held_change(change: CapturedChange) -> dict[str, Any]:
    """What a case keeps of a held captured change, to let it through later."""
    return {
        "channel": CAPTURE_CHANNEL,
        "flow": change.flow,
        "system": change.system,
        "entity": change.entity,
        "local_id": change.local_id,
        "canonical_id": change.canonical_id,
        "canonical": change.canonical,
        "content_hash": change.content_hash,
    }


class CustomerMatchGovernor:
    """A `ChangeGovernor`: captured customers pass the MDM gate before they are logged."""

    def __init__(self, gate: CustomerGate) -> None:
        self._gate = gate

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """Link, hold or let through one captured customer."""
        if change.entity != self._gate.entity:
            return Verdict()
        if uow.golden.get(change.entity, change.canonical_id) is not None and change.created:
            # The record carries a canonical id Crossdock gave it (read back before its cross-reference committed).
            return Verdict()
        record = customer_record(f"{change.system}:{change.local_id}", change.canonical, system=change.system)
        arrival = Arrival(change.system, change.local_id, record, change.canonical)
        answer = self._gate.admit(uow, arrival, held=held_change(change), link=False)
        if answer.admission is Admission.HELD:
            case = answer.case.id if answer.case is not None else "?"
            return Verdict(publish=False, reason=f"held for stewardship case {case}: {answer.reason}")
        if answer.canonical_id is None or answer.canonical_id == change.canonical_id:
            return Verdict()
        kept = uow.xrefs.find_local(change.entity, answer.canonical_id, change.system)
        if kept is not None and kept.local_id != change.local_id:
            # The golden record has its own record in this system: this one is a duplicate of it there (retired when
            # the merge was carried), and linking it would take the cross-reference from the survivor's.
            return Verdict(
                publish=False,
                reason=(
                    f"merged: {change.system} {change.local_id} is a retired duplicate of {answer.canonical_id} "
                    f"({change.system} {kept.local_id}); change that record instead"
                ),
            )
        if answer.admission is Admission.KNOWN and kept is None:
            # Its golden record was merged away: the record belongs to the survivor now (the capture relinks it).
            uow.mdm.move_xref(change.entity, change.system, change.canonical_id, answer.canonical_id)
        return Verdict(canonical_id=answer.canonical_id, canonical={**change.canonical, "id": answer.canonical_id})


class MatchKeyIndexer:
    """A `ChangeGovernor` that keeps a captured customer's golden record in the match index; never refuses."""

    def __init__(self, keys: MatchKeys) -> None:
        self._keys = keys

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """Index the golden record the governors before it have written."""
        if change.entity == self._keys.entity:
            self._keys.index_golden(uow, change.canonical_id)
        return Verdict()


class CaptureRelease:
    """The `capture` channel's releaser: a held captured change, logged for the decided customer."""

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        governor: ChangeGovernor,
        flows: Mapping[str, Flow],
        connectors: Mapping[str, Connector],
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._governor = governor  # ownership and indexing: what a captured change passes after the gate
        self._flows = flows
        self._connectors = connectors

    async def release(self, case: StewardshipCase, outcome: Outcome, canonical_id: str) -> str:
        """Log the held change as an update of `canonical_id` (linked) or as the new customer it is."""
        held = case.held or {}
        if outcome is Outcome.MERGED:
            return "not logged: merged into a record its system already holds"
        target = canonical_id if outcome is Outcome.LINKED else str(held["canonical_id"])
        event = await asyncio.to_thread(self._govern, case, held, target, outcome)
        if event is None:
            return f"held back by governance for {target}"
        self._publisher.check(event)
        await self._publisher.append_checked([event])
        if outcome is Outcome.LINKED:
            await self._restamp(str(held["system"]), str(held["entity"]), str(held["local_id"]), target)
        return f"logged {event.type} for {target}"

    def _govern(self, case: StewardshipCase, held: dict[str, Any], target: str, outcome: Outcome) -> CloudEvent | None:
        system, entity, local_id = str(held["system"]), str(held["entity"]), str(held["local_id"])
        flow = self._flows.get(str(held.get("flow", "")))
        change = CapturedChange(
            flow=str(held.get("flow", "")),
            system=system,
            entity=entity,
            canonical_id=target,
            local_id=local_id,
            canonical={**dict(held.get("canonical") or {}), "id": target},
            source_payload={},
            created=outcome is Outcome.NEW,
            content_hash=str(held.get("content_hash", "")),
        )
        event_id = str(uuid.uuid5(_RELEASES, f"{case.id}|{outcome.value}|{target}"))
        with self._store.unit_of_work() as uow:
            verdict = self._governor.review(change, uow)
            for exception in verdict.exceptions:
                uow.exceptions.raise_exception(exception)
            if not verdict.publish:
                uow.commit()
                return None
            keys = {f"{system}_id": local_id}
            uow.lineage.record(
                [
                    LineageEntry(
                        correlation_id=event_id,
                        system=system,
                        step=f"release.{entity}",
                        outcome=outcome.value,
                        subject=target,
                        event_id=event_id,
                        business_keys=keys,
                        detail={"case": case.id, "flow": change.flow},
                        started_at=datetime.now(UTC),
                    )
                ]
            )
            uow.commit()
        verb = "created" if outcome is Outcome.NEW else "updated"
        return CloudEvent(
            type=event_type(entity, verb),
            source=system_source(flow.source_system if flow is not None else system),
            subject=target,
            data=verdict.canonical if verdict.canonical is not None else change.canonical,
            id=event_id,
            traceparent=new_traceparent(),
            correlationid=event_id,
            businesskeys=keys,
        )

    async def _restamp(self, system: str, entity: str, local_id: str, canonical_id: str) -> None:
        """The source record carries the canonical id it was first given: give it the survivor's (best effort)."""
        connector = self._connectors.get(system)
        if not isinstance(connector, StampsCanonicalIds):
            return
        try:
            await connector.stamp_canonical_ids(entity, [(local_id, canonical_id)])
        except ConnectorError as error:
            logger.warning("could not stamp %s into %s %s: %s", canonical_id, system, local_id, error)


class GoldenAdoption:
    """Makes a record of a system Crossdock has never captured a golden record, as its first capture would (its
    canonical id, attribute ownership, the match index), without logging it: for the batch dedupe."""

    def __init__(self, governor: ChangeGovernor, *, entity: str = "customer") -> None:
        self._governor = governor  # ownership and indexing
        self._entity = entity

    def __call__(self, uow: UnitOfWork, system: str, local_id: str, canonical: dict[str, Any]) -> str:
        """Adopt the record; return its canonical id."""
        canonical_id = canonical_id_for(self._entity, system, local_id)
        body = {k: v for k, v in canonical.items() if k != "id"}
        change = CapturedChange(
            flow=f"mdm-dedupe-{system}",
            system=system,
            entity=self._entity,
            canonical_id=canonical_id,
            local_id=local_id,
            canonical={**body, "id": canonical_id},
            source_payload={},
            created=True,
            content_hash=content_hash(body),
        )
        verdict = self._governor.review(change, uow)
        for exception in verdict.exceptions:
            uow.exceptions.raise_exception(exception)
        # No written hash: the record was not logged, so its next capture must publish it, not take it for an echo.
        uow.xrefs.link(CrossReference(self._entity, canonical_id, system, local_id))
        return canonical_id
