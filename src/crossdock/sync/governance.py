"""Hook points on the way into the log: attribute ownership and echo suppression.

The flow runner asks a `ChangeGovernor` about every captured change before it is logged. This issue ships the
echo check (a content hash per cross-reference); ownership rules plug in through the same protocol.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from crossdock.ports.store import BusinessException, UnitOfWork


def content_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a record's content: the same fields and values give the same hash, whatever their order."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class CapturedChange:
    """A change read from a source system and mapped to the canonical shape, not yet logged."""

    flow: str
    system: str
    entity: str
    canonical_id: str
    local_id: str
    canonical: dict[str, Any]
    source_payload: dict[str, Any]
    created: bool  # first time Crossdock sees this record (no cross-reference existed)
    # Hash of the inbound-mapped record. Deliveries store the same hash of what they wrote (mapped back through the
    # target's inbound mapping), so system-managed fields such as timestamps never hide an echo.
    content_hash: str


@dataclass(slots=True)
class Verdict:
    """What to do with a change: log it (possibly with fields removed), or not, with exceptions to raise."""

    publish: bool = True
    canonical: dict[str, Any] | None = None  # replaces the change's canonical data when set
    # Re-targets the change to another canonical object (the golden record master data matched it to).
    canonical_id: str | None = None
    exceptions: list[BusinessException] = field(default_factory=list)
    reason: str | None = None


class ChangeGovernor(Protocol):
    """Decides whether a captured change may enter the log."""

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """Judge one change, reading cross-references and golden records through the unit of work."""
        ...


class EchoSuppressor:
    """Drops a change that reads back exactly what Crossdock last wrote to that system (invariant 5)."""

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """An echo when the record's mapped content hashes to what was stored when Crossdock wrote it."""
        ref = uow.xrefs.find_local(change.entity, change.canonical_id, change.system)
        if ref is not None and ref.written_hash is not None and ref.written_hash == change.content_hash:
            return Verdict(publish=False, reason="echo: this is the value Crossdock wrote")
        return Verdict()


class GovernorChain:
    """Runs governors in order; the first that refuses a change decides, and every exception is kept."""

    def __init__(self, governors: list[ChangeGovernor]) -> None:
        self._governors = governors

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """Apply each governor; later ones see the canonical data earlier ones left."""
        verdict = Verdict()
        for governor in self._governors:
            current = change if verdict.canonical is None else _with_canonical(change, verdict.canonical)
            if verdict.canonical_id is not None:
                current = replace(current, canonical_id=verdict.canonical_id)
            step = governor.review(current, uow)
            verdict.exceptions.extend(step.exceptions)
            if step.canonical is not None:
                verdict.canonical = step.canonical
            if step.canonical_id is not None:
                verdict.canonical_id = step.canonical_id
            if not step.publish:
                verdict.publish = False
                verdict.reason = step.reason
                return verdict
        return verdict


def _with_canonical(change: CapturedChange, canonical: dict[str, Any]) -> CapturedChange:
    return replace(change, canonical=canonical)
