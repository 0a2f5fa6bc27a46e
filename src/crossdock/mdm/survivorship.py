"""Survivorship: which value of each attribute a merged golden record keeps.

Per attribute, the owner system decides first (the `ownership:` section of crossdock.yaml: a value some record got
from the attribute's owner wins); where no owner set it, the policy's rule does: the most recent record's value,
the most complete value, or the value from the most trusted system. Empty values never win against a value, and
ties go to the survivor (the first contender), so a merge never changes what it does not need to.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

# Attributes no rule chooses: the id is the survivor's, and every system's reference is kept.
_SURVIVOR_ONLY = frozenset({"id"})
_UNION_ALWAYS = frozenset({"external_refs"})
_OLDEST = datetime.min.replace(tzinfo=UTC)


class Rule(enum.StrEnum):
    """How an attribute's value is chosen when its owner did not set it."""

    MOST_RECENT = "most_recent"  # from the contender changed last
    MOST_COMPLETE = "most_complete"  # the value with the most filled-in parts (a longer list, more fields)
    MOST_TRUSTED = "most_trusted"  # from the system highest in the trust ranking
    UNION = "union"  # lists: every contender's items, the survivor's first, each once


class AttributeOwners(Protocol):
    """Who owns an attribute (the sync layer's `OwnershipPolicy` is one)."""

    def owner(self, entity: str, attribute: str) -> str | None:
        """The owning system, or None when any system may set it."""
        ...


@dataclass(frozen=True, slots=True)
class NoOwners:
    """No attribute has an owner: the rule decides every attribute."""

    def owner(self, entity: str, attribute: str) -> str | None:
        """Nobody."""
        return None


@dataclass(frozen=True, slots=True)
class SurvivorshipPolicy:
    """Owners first, then a rule per attribute (`default` for those not listed), with systems ranked by trust."""

    owners: AttributeOwners = field(default_factory=NoOwners)
    default: Rule = Rule.MOST_RECENT
    rules: Mapping[str, Rule] = field(default_factory=dict)
    trust: Sequence[str] = ()  # most trusted first; systems not listed come after, in name order

    def rule(self, attribute: str) -> Rule:
        """The rule for an attribute."""
        return self.rules.get(attribute, self.default)

    def rank(self, system: str | None) -> tuple[int, str]:
        """A sort key: more trusted systems first."""
        if system is not None and system in self.trust:
            return (list(self.trust).index(system), "")
        return (len(self.trust), system or "~")


@dataclass(frozen=True, slots=True)
class Contender:
    """One golden record taking part in a merge."""

    canonical_id: str
    document: Mapping[str, Any]
    sources: Mapping[str, str]  # attribute -> system that set it
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    """Where an attribute's surviving value came from, and why (for the steward and the merge record)."""

    attribute: str
    canonical_id: str
    system: str | None
    reason: str  # "owner", a Rule's value, "only value", "survivor"


@dataclass(frozen=True, slots=True)
class Survivor:
    """The merged document, who set each attribute, and why each value won."""

    document: dict[str, Any]
    sources: dict[str, str]
    picks: tuple[Pick, ...]


def is_empty(value: Any) -> bool:
    """No usable value: None, blank text, an empty list or object."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return len(value) == 0
    return False


def completeness(value: Any) -> int:
    """How much a value says: the number of non-empty leaves in it."""
    if is_empty(value):
        return 0
    if isinstance(value, dict):
        return sum(completeness(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(completeness(v) for v in value)
    return 1


def _union(values: Sequence[Any]) -> list[Any]:
    merged: list[Any] = []
    seen: set[bytes] = set()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            key = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen.add(key)
                merged.append(item)
    return merged


def survive(entity: str, contenders: Sequence[Contender], policy: SurvivorshipPolicy) -> Survivor:
    """Merge the contenders' documents attribute by attribute; the first contender is the survivor."""
    if not contenders:
        raise ValueError("a merge needs at least one golden record")
    survivor = contenders[0]
    document: dict[str, Any] = {"id": survivor.canonical_id}
    sources: dict[str, str] = {}
    picks: list[Pick] = []
    attributes: list[str] = []
    for contender in contenders:
        attributes.extend(a for a in contender.document if a not in attributes and a not in _SURVIVOR_ONLY)
    for attribute in attributes:
        offered = [c for c in contenders if attribute in c.document and not is_empty(c.document[attribute])]
        if not offered:
            if attribute in survivor.document:
                document[attribute] = survivor.document[attribute]
            continue
        rule = Rule.UNION if attribute in _UNION_ALWAYS else policy.rule(attribute)
        if rule is Rule.UNION:
            document[attribute] = _union([c.document[attribute] for c in offered])
            source = offered[0].sources.get(attribute)
            if source is not None:
                sources[attribute] = source
            picks.append(Pick(attribute, offered[0].canonical_id, source, rule.value))
            continue
        chosen, reason = _choose(entity, attribute, offered, rule, policy)
        document[attribute] = chosen.document[attribute]
        source = chosen.sources.get(attribute)
        if source is not None:
            sources[attribute] = source
        picks.append(Pick(attribute, chosen.canonical_id, source, reason))
    return Survivor(document, sources, tuple(picks))


def _choose(
    entity: str, attribute: str, offered: list[Contender], rule: Rule, policy: SurvivorshipPolicy
) -> tuple[Contender, str]:
    if len(offered) == 1:
        return offered[0], "only value"
    owner = policy.owners.owner(entity, attribute)
    if owner is not None:
        owned = [c for c in offered if c.sources.get(attribute) == owner]
        if len(owned) == 1:
            return owned[0], "owner"
        if owned:
            offered = owned
    # sorted() is stable: among equals, the survivor (first) stays first.
    if rule is Rule.MOST_RECENT:
        ranked = sorted(offered, key=lambda c: c.updated_at or _OLDEST, reverse=True)
    elif rule is Rule.MOST_COMPLETE:
        ranked = sorted(offered, key=lambda c: completeness(c.document[attribute]), reverse=True)
    else:
        ranked = sorted(offered, key=lambda c: policy.rank(c.sources.get(attribute)))
    return ranked[0], rule.value
