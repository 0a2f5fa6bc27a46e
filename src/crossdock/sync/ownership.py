"""Attribute ownership (invariant 4): the owner of an attribute decides its value; other systems cannot change it.

Every captured change is merged into the object's golden record: attributes the source owns are taken, attributes
another system owns keep the golden value, and a source that tried to change one raises a policy violation with the
two values side by side. The merged document, not the source's partial view, is what gets published, so every
target receives the whole object as its owners last said it.

The governor never holds a change back because nothing effective changed: the golden record is committed before
the event is appended, and a re-read after a crash in between must still publish. A no-op event costs one
journal row at each target (the delivery sees the target already holds that state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from crossdock.ports.store import BusinessException, ExceptionClass, GoldenRecord, UnitOfWork
from crossdock.sync.governance import CapturedChange, Verdict

ANY_ATTRIBUTE = "*"
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class OwnershipPolicy:
    """Who owns which attribute, per entity; `*` names the owner of attributes not listed. Unlisted: everyone."""

    owners: Mapping[str, Mapping[str, str]]

    def owner(self, entity: str, attribute: str) -> str | None:
        """The system that owns an attribute, or None when any system may set it."""
        rules = self.owners.get(entity, {})
        return rules.get(attribute, rules.get(ANY_ATTRIBUTE))


class OwnershipGovernor:
    """Merges captured changes into golden records under an ownership policy."""

    def __init__(self, policy: OwnershipPolicy, *, owner_queues: Mapping[str, str] | None = None) -> None:
        self._policy = policy
        self._owner_queues = owner_queues or {}

    def review(self, change: CapturedChange, uow: UnitOfWork) -> Verdict:
        """Take the source's owned attributes, refuse its changes to others' attributes, publish the merge."""
        golden = uow.golden.get(change.entity, change.canonical_id)
        current: dict[str, Any] = dict(golden.document) if golden is not None else {}
        sources: dict[str, str] = dict(golden.sources) if golden is not None else {}
        views: dict[str, dict[str, Any]] = dict(golden.views) if golden is not None else {}
        # What this system held before: a change is a change against that, not against another system's spelling.
        before = views.get(change.system)
        merged = dict(current)
        exceptions: list[BusinessException] = []
        for attribute, proposed in change.canonical.items():
            owner = self._policy.owner(change.entity, attribute)
            if attribute == "id" or owner is None or owner == change.system:
                merged[attribute] = proposed
                sources[attribute] = change.system
                continue
            changed_here = before is not None and before.get(attribute, _ABSENT) != proposed
            if changed_here and attribute in current and proposed != current[attribute]:
                exceptions.append(self._violation(change, attribute, proposed, current[attribute], owner))
            # A non-owner's value never replaces the owner's, and never seeds an attribute the owner has not set.
        merged["id"] = change.canonical_id
        views[change.system] = {k: v for k, v in change.canonical.items() if k != "id"}
        uow.golden.put(
            GoldenRecord(change.entity, change.canonical_id, merged, sources, views, golden.version if golden else 0)
        )
        return Verdict(canonical=merged, exceptions=exceptions)

    def _violation(
        self, change: CapturedChange, attribute: str, proposed: Any, current: Any, owner: str
    ) -> BusinessException:
        shown = {"proposed": proposed, "current": current}
        return BusinessException(
            exception_class=ExceptionClass.POLICY_VIOLATION,
            reason=(
                f"{change.system} changed {attribute} of {change.entity} {change.canonical_id}, which {owner} owns: "
                f"{_short(proposed)} (from {change.system}) against {_short(current)} (in {owner}); not applied. "
                f"Change it in {owner}, or change the ownership policy."
            ),
            owner_queue=self._owner_queues.get(owner, f"{owner}-{change.entity}"),
            flow=change.flow,
            system=change.system,
            entity=change.entity,
            subject=change.canonical_id,
            raw_payload=orjson.dumps(change.source_payload, default=str).decode(),
            details={
                "attribute": attribute,
                "owner": owner,
                "from_system": change.system,
                **shown,
                "local_id": change.local_id,
            },
            dedupe_key=f"ownership|{change.flow}|{change.local_id}|{change.content_hash}|{attribute}",
        )


def _short(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:77] + "..."
