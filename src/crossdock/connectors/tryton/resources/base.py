"""What every Tryton resource shares: the Resource protocol, row syncing for one2many fields, small value helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from crossdock.connectors.tryton.capture import Stream
from crossdock.connectors.tryton.client import TrytonClient
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.resources.references import References
from crossdock.ports.connector import UpsertRequest, UpsertResult


@dataclass(frozen=True, slots=True)
class View:
    """One record as the connector presents it: its local id, payload, and newest timestamp among its rows."""

    local_id: int
    payload: dict[str, Any]
    changed_at: datetime
    canonical_id: str | None = None
    """The canonical id Crossdock wrote into the record (its identifier marker), if it carries one."""


@dataclass(slots=True)
class Context:
    """What a resource works with: the client, the settings, reference data and the system name."""

    client: TrytonClient
    settings: TrytonSettings
    references: References
    system: str


class Resource(Protocol):
    """One canonical entity in Tryton: which models mark it changed, how it reads, how it is written."""

    entity: str
    streams: tuple[Stream, ...]

    async def read(self, ctx: Context, ids: Sequence[int]) -> list[View]:
        """The views of root records `ids` that still exist (and pass the resource's filter)."""
        ...

    async def upsert(self, ctx: Context, request: UpsertRequest) -> UpsertResult:
        """Create or update one record idempotently; a refusal raises ConnectorError."""
        ...


@dataclass(slots=True)
class RowPlan:
    """One2many operations that make a record's rows equal to the wanted ones, for one `write` call."""

    create: list[dict[str, Any]] = field(default_factory=list)
    write: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)

    def actions(self, *, deactivate: bool = False) -> list[list[Any]]:
        """`[["create", [...]], ["write", [id], {...}], ["delete", [...]]]`; removed rows deactivated if asked."""
        actions: list[list[Any]] = [["write", [row_id], values] for row_id, values in self.write]
        if self.remove:
            actions.append(["write", self.remove, {"active": False}] if deactivate else ["delete", self.remove])
        if self.create:
            actions.append(["create", self.create])
        return actions

    def __bool__(self) -> bool:
        return bool(self.create or self.write or self.remove)


def plan_rows(
    wanted: Sequence[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    *,
    compare: Sequence[str],
    kind: Callable[[Mapping[str, Any]], Any],
    values: Callable[[int, Mapping[str, Any]], dict[str, Any]],
) -> RowPlan:
    """Match wanted rows to existing ones and plan the least change: equal rows stay, others are rewritten in
    place when of the same kind, the rest created or removed. `values(position, row)` gives Tryton's values."""
    plan = RowPlan()
    remaining = list(existing)

    def same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        return all(a.get(name) == b.get(name) for name in compare)

    unmatched: list[tuple[int, Mapping[str, Any]]] = []
    for position, row in enumerate(wanted):
        match = next((old for old in remaining if same(row, old)), None)
        if match is None:
            unmatched.append((position, row))
            continue
        remaining.remove(match)
        if match.get("sequence") != position + 1:
            plan.write.append((int(match["id"]), {"sequence": position + 1}))
    for position, row in unmatched:
        old = next((o for o in remaining if kind(o) == kind(row)), None)
        if old is None:
            plan.create.append(values(position, row))
            continue
        remaining.remove(old)
        plan.write.append((int(old["id"]), values(position, row)))
    plan.remove = [int(old["id"]) for old in remaining]
    return plan


def text(value: Any) -> str | None:
    """A Tryton char value: empty strings and False (unset on some backends) become None."""
    return value if isinstance(value, str) and value != "" else None


def flag(value: Any) -> bool:
    """A Tryton boolean: SQLite answers 0/1 and None where PostgreSQL answers booleans."""
    return bool(value)


def decimal_text(value: Any) -> str | None:
    """A Tryton Decimal as plain-notation text, for payloads that must hash and serialise stably."""
    if value is None:
        return None
    number = Decimal(value).normalize()
    return format(number.quantize(Decimal(1)) if number == number.to_integral_value() else number, "f")


def amount_text(value: Any, places: int) -> str | None:
    """A money amount as plain-notation text with at least the currency's `places` (`10` USD is `10.00`)."""
    if value is None:
        return None
    number = Decimal(value).normalize()
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        number = number.quantize(Decimal(1).scaleb(-places))
    return format(number, "f")


def related(row: Mapping[str, Any], name: str, attribute: str) -> Any:
    """`attribute` of a many2one read with a dotted field (`country.code` comes back as `{"country.": {...}}`)."""
    target = row.get(f"{name}.")
    return target.get(attribute) if isinstance(target, Mapping) else None


def newest(*stamps: Any) -> datetime:
    """The latest of some timestamps (None ignored)."""
    return max(stamp for stamp in stamps if isinstance(stamp, datetime))
