"""System APIs for internal callers: the connected systems, their circuits, and cross-references between a
canonical object and each system's own record of it. Read-only: changing a cross-reference is a data steward's
decision, made in the console, not by an API client.

Partners never reach these routes (`systems:read` is not grantable to them, and the routes also refuse partner
tokens): they name other customers' records and the landscape behind the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.problems import not_found
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.ports.api import ClientKind
from crossdock.ports.connector import Connector, StampsCanonicalIds
from crossdock.ports.orders import OrderStatusBoard
from crossdock.ports.store import CrossReference, UnitOfWork
from crossdock.sync.resilience import CircuitState, GuardedConnector

router = APIRouter(tags=["systems"], route_class=GuardedRoute)
INTERNAL = (ClientKind.INTERNAL, ClientKind.OPERATOR)
SystemName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,63}$", description="a configured system's name")]
Entity = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="a canonical entity: customer, item, ...")]
RecordId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^\S+$")]


class Circuit(BaseModel):
    """A system's circuit breaker as it stands: open while the system is failing."""

    model_config = ConfigDict(frozen=True)

    state: str = Field(description="closed, open or half_open")
    consecutive_failures: int
    retry_in_s: float = Field(description="seconds until a probe call is let through; 0 when closed")


class SystemView(BaseModel):
    """A connected system: its connector type, what it can do, and its circuit."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    capabilities: list[str]
    entities: list[str] | None = Field(default=None, description="canonical entities, when the connector says")
    circuit: Circuit | None = Field(default=None, description="null when the system has no breaker")


class Systems(BaseModel):
    """Every configured system, by name."""

    model_config = ConfigDict(frozen=True)

    items: list[SystemView]


class Reference(BaseModel):
    """One system's record of a canonical object."""

    model_config = ConfigDict(frozen=True)

    system: str
    local_id: str
    updated_at: datetime | None = None


class CrossReferences(BaseModel):
    """A canonical object's record in the system asked about, and in every other system."""

    model_config = ConfigDict(frozen=True)

    entity: str
    canonical_id: str
    system: str
    local_id: str
    references: list[Reference]


class CanonicalRecord(BaseModel):
    """The canonical object a system's record is linked to."""

    model_config = ConfigDict(frozen=True)

    entity: str
    system: str
    local_id: str
    canonical_id: str
    updated_at: datetime | None = None


def capabilities(connector: Connector) -> list[str]:
    """What the connector can do beyond the Connector port's read and write."""
    found = ["read_changes", "upsert"]
    if isinstance(connector, StampsCanonicalIds):
        found.append("stamp_canonical_ids")
    if callable(getattr(connector, "order_desk", None)):
        found.append("order_desk")
    if isinstance(connector, OrderStatusBoard):
        found.append("order_status_board")
    return found


def system_view(name: str, kind: str, connector: Connector) -> SystemView:
    """A system as internal callers see it; reads the breaker without disturbing it."""
    circuit = None
    inner = connector
    if isinstance(connector, GuardedConnector):
        inner = connector.inner
        breaker = connector.breaker
        closed = breaker.state is CircuitState.CLOSED
        remaining = 0.0 if closed else breaker.opened_at + breaker.cooldown_s - breaker.clock()
        circuit = Circuit(
            state=breaker.state.value,
            consecutive_failures=breaker.consecutive_failures,
            retry_in_s=round(max(0.0, remaining), 3),
        )
    entities = getattr(inner, "entities", None)
    listed = sorted(str(e) for e in entities) if isinstance(entities, list | tuple | frozenset | set) else None
    return SystemView(name=name, type=kind, capabilities=capabilities(inner), entities=listed, circuit=circuit)


def _configured(ctx: ApiContext, system: str) -> None:
    if system not in ctx.connectors:
        raise not_found(f"system {system}")


@router.get("/v1/systems", response_model=Systems, responses=ERRORS, summary="Connected systems")
async def list_systems(
    principal: Annotated[Principal, Depends(caller(Scope.SYSTEMS_READ, kinds=INTERNAL))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Systems:
    """Each configured system: its type, capabilities and circuit state."""
    return Systems(
        items=[
            system_view(name, ctx.system_types.get(name, "unknown"), connector)
            for name, connector in sorted(ctx.connectors.items())
        ]
    )


@router.get(
    "/v1/systems/{system}/xrefs/{entity}/{canonical_id}",
    response_model=CrossReferences,
    responses=ERRORS,
    summary="A canonical object's record in a system",
)
async def cross_references(
    system: SystemName,
    entity: Entity,
    canonical_id: RecordId,
    principal: Annotated[Principal, Depends(caller(Scope.SYSTEMS_READ, kinds=INTERNAL))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> CrossReferences:
    """The local id the canonical object has in `system`, and its ids in every other system."""
    _configured(ctx, system)
    refs: list[CrossReference] = await ctx.read(lambda uow: uow.xrefs.for_canonical(entity, canonical_id))
    here = next((ref for ref in refs if ref.system == system), None)
    if here is None:
        raise not_found(f"{entity} {canonical_id} in {system} (it has no record there yet)")
    return CrossReferences(
        entity=entity,
        canonical_id=canonical_id,
        system=system,
        local_id=here.local_id,
        references=[
            Reference(system=ref.system, local_id=ref.local_id, updated_at=ref.updated_at)
            for ref in sorted(refs, key=lambda ref: ref.system)
        ],
    )


@router.get(
    "/v1/systems/{system}/records/{entity}/{local_id}",
    response_model=CanonicalRecord,
    responses=ERRORS,
    summary="The canonical id of a system's record",
)
async def canonical_record(
    system: SystemName,
    entity: Entity,
    local_id: RecordId,
    principal: Annotated[Principal, Depends(caller(Scope.SYSTEMS_READ, kinds=INTERNAL))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> CanonicalRecord:
    """The canonical object that `system`'s record `local_id` of `entity` is linked to."""
    _configured(ctx, system)

    def find(uow: UnitOfWork) -> CrossReference | None:
        return uow.xrefs.find_canonical(entity, system, local_id)

    ref = await ctx.read(find)
    if ref is None:
        raise not_found(f"{system} {entity} {local_id} (it is not linked to a canonical object)")
    return CanonicalRecord(
        entity=entity, system=system, local_id=local_id, canonical_id=ref.canonical_id, updated_at=ref.updated_at
    )
