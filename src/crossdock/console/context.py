"""What the console works with, wired once by the composition root (`bootstrap.Runtime.console_context`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from crossdock.console.redaction import Redactor
from crossdock.console.sla import DEFAULT_CLOCKS, SlaClock
from crossdock.orders.trace import Tracer
from crossdock.ports.connector import Connector
from crossdock.ports.event_log import EventLog
from crossdock.ports.off_loop import read_off_loop, write_off_loop
from crossdock.ports.store import Store, UnitOfWork
from crossdock.process import ProcessEngine

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FlowTargetInfo:
    """One target of a flow, and the consumer group that delivers to it."""

    system: str
    entity: str
    group: str


@dataclass(frozen=True, slots=True)
class FlowInfo:
    """A configured flow as the console shows it: where it goes, who owns it, how fresh it must be, and whether
    replaying its dead letters needs a second person (`sensitive`)."""

    name: str
    source_system: str
    entity: str
    targets: tuple[FlowTargetInfo, ...]
    business_owner: str | None = None
    technical_owner: str | None = None
    sla: timedelta | None = None
    criticality: str | None = None
    sensitive: bool = False

    def target_of(self, group: str) -> FlowTargetInfo | None:
        """The target a consumer group delivers to, if it is one of this flow's."""
        return next((target for target in self.targets if target.group == group), None)


def second_person_required(flow: FlowInfo | None) -> bool:
    """The replay approval rule: a dead letter of a sensitive flow is replayed only once someone other than the
    requester approved it. Groups outside any flow (partners, orders, webhooks) follow their own retry rules and
    need no second person. Point `ConsoleContext.approval_rule` elsewhere to change the rule."""
    return flow is not None and flow.sensitive


@dataclass
class ConsoleContext:
    """The console's collaborators: the store and log it reads and acts on, the process engine, the configured
    flows and systems, the rules it applies, and its clock."""

    store: Store
    log: EventLog
    engine: ProcessEngine
    tracer: Tracer
    flows: Sequence[FlowInfo] = ()
    connectors: Mapping[str, Connector] = field(default_factory=dict)  # behind their circuit breakers
    system_types: Mapping[str, str] = field(default_factory=dict)
    approval_rule: Callable[[FlowInfo | None], bool] = second_person_required
    sla_clocks: Sequence[SlaClock] = DEFAULT_CLOCKS
    redactor: Redactor = field(default_factory=Redactor)
    clock: Clock = utc_now
    session_ttl: timedelta = timedelta(hours=12)
    # None: the session cookie is Secure exactly when the request came over https (uvicorn honours X-Forwarded-Proto
    # from trusted proxies); True or False forces it.
    secure_cookies: bool | None = None

    def flow_of_group(self, group: str) -> tuple[FlowInfo | None, FlowTargetInfo | None]:
        """The flow and target a consumer group belongs to, if any."""
        for flow in self.flows:
            target = flow.target_of(group)
            if target is not None:
                return flow, target
        return None, None

    def flow(self, name: str | None) -> FlowInfo | None:
        """A configured flow by name."""
        return next((flow for flow in self.flows if flow.name == name), None)

    async def read(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a read-only unit of work off the event loop."""
        return await read_off_loop(self.store, fn)

    async def write(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a unit of work off the event loop and commit it."""
        return await write_off_loop(self.store, fn)
