"""What a flow is: one source (system, entity) whose changes go to one or more targets."""

from __future__ import annotations

from dataclasses import dataclass, field

from crossdock.events.envelope import CloudEvent
from crossdock.sync.retry import RetryPolicy


def system_source(system: str) -> str:
    """The CloudEvents `source` of changes captured from a system."""
    return f"/systems/{system}"


@dataclass(frozen=True, slots=True)
class FlowTarget:
    """Where a flow delivers: a system, the entity there, and how patiently to retry."""

    system: str
    entity: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class Flow:
    """source (system, entity) → canonical → govern → log → deliver to targets."""

    name: str
    source_system: str
    entity: str
    targets: tuple[FlowTarget, ...]
    source_entity: str | None = None  # the entity's name in the source's mapping, when it differs
    # A multiple of 200: Salesforce-style collection APIs take 200 records a call, so 1,000 is five full calls.
    batch_size: int = 1000

    def group(self, target: FlowTarget) -> str:
        """The consumer group that delivers this flow to one target."""
        return f"flow.{self.name}.{target.system}"

    def carries(self, event: CloudEvent) -> bool:
        """True for events this flow delivers: changes of its entity captured from its source system."""
        return event.source == system_source(self.source_system) and event.schema_subject.startswith(
            f"crossdock.{self.entity}."
        )
