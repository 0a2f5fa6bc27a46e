"""Releasing what a stewardship case held, once a steward has decided.

A case holds what its arriving record would have caused: a customer's creation, and the orders that name it as
their buyer. Each channel that holds things releases them its own way (`Releaser`); the captured flows' releaser
lives in the sync layer, because it runs the change through attribute ownership. `EventsRelease` is the one for
channels that hold ready-made events (EDI buyers, API onboarding): linked to a golden record, the held orders are
logged for that customer and nothing is created; kept apart, the new customer is logged (and becomes a golden
record) before its orders.

Releasing is idempotent: events keep the ids they were given when they were held, so a release repeated after a
crash logs nothing twice.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crossdock.events.envelope import CloudEvent
from crossdock.mdm.golden import GoldenKeeper
from crossdock.ports.mdm import StewardshipCase
from crossdock.ports.store import CrossReference, Store

EVENTS_CHANNEL = "events"


class Outcome(enum.StrEnum):
    """What a decision made of the held record."""

    LINKED = "linked"  # it is an existing golden record's customer: nothing is created
    NEW = "new"  # it is a customer of its own: create it
    MERGED = "merged"  # it was a second record of a customer in the same system: merged, retired there


class EventSink(Protocol):
    """Where released events go (the sync layer's `Publisher`: checked, then appended to the log)."""

    async def publish(self, events: Sequence[CloudEvent]) -> Sequence[Any]:
        """Validate and append, durably."""
        ...


class Releaser(Protocol):
    """Releases what one channel's cases hold."""

    async def release(self, case: StewardshipCase, outcome: Outcome, canonical_id: str) -> str:
        """Let the held record through as `outcome` for golden record `canonical_id`; say what was done."""
        ...


@dataclass(frozen=True, slots=True)
class HeldEvents:
    """What a case of the events channel holds: a customer's creation and the events waiting for its id."""

    system: str
    local_id: str
    provisional_id: str  # the canonical id the customer gets if it is kept apart
    created: CloudEvent | None = None  # logged when it is kept apart
    events: tuple[CloudEvent, ...] = ()  # orders and the like, logged either way
    customer_field: str | None = "customer_id"  # the data field the decided customer id goes into
    adopt: bool = True  # kept apart: make the customer a golden record (and link the system's record to it)
    link: bool = True  # decided: link the system's record to the golden record (no for API applicants)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The payload a case stores."""
        return {
            "channel": EVENTS_CHANNEL,
            "system": self.system,
            "local_id": self.local_id,
            "provisional_id": self.provisional_id,
            "created": None if self.created is None else self.created.to_dict(),
            "events": [event.to_dict() for event in self.events],
            "customer_field": self.customer_field,
            "adopt": self.adopt,
            "link": self.link,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, held: dict[str, Any]) -> HeldEvents:
        """Back from a case's payload."""
        created = held.get("created")
        return cls(
            system=str(held["system"]),
            local_id=str(held["local_id"]),
            provisional_id=str(held["provisional_id"]),
            created=None if created is None else CloudEvent.from_dict(created),
            events=tuple(CloudEvent.from_dict(e) for e in held.get("events", [])),
            customer_field=held.get("customer_field"),
            adopt=bool(held.get("adopt", True)),
            link=bool(held.get("link", True)),
            extra=dict(held.get("extra") or {}),
        )

    def with_event(self, event: CloudEvent) -> HeldEvents:
        """Also hold `event` (once: an event id already held is not added again)."""
        if any(held.id == event.id for held in self.events):
            return self
        return HeldEvents(
            self.system,
            self.local_id,
            self.provisional_id,
            self.created,
            (*self.events, event),
            self.customer_field,
            self.adopt,
            self.link,
            self.extra,
        )


class EventsRelease:
    """Releases held events: for a linked customer, its orders; for a new one, its creation and then its orders."""

    def __init__(self, store: Store, keeper: GoldenKeeper, sink: EventSink) -> None:
        self._store = store
        self._keeper = keeper
        self._sink = sink

    async def release(self, case: StewardshipCase, outcome: Outcome, canonical_id: str) -> str:
        """Log what the case held, for the decided customer."""
        if case.held is None:
            return "nothing was held"
        return await self.let_through(HeldEvents.from_json(case.held), outcome, canonical_id)

    async def let_through(self, held: HeldEvents, outcome: Outcome, canonical_id: str) -> str:
        """Log the held events for `canonical_id` (a new customer's own creation first, when it is new)."""
        customer = held.provisional_id if outcome is Outcome.NEW else canonical_id
        events = [_for_customer(event, held.customer_field, customer) for event in held.events]
        if outcome is Outcome.NEW and held.created is not None:
            events.insert(0, held.created)
        if events:
            await self._sink.publish(events)
        if outcome is Outcome.NEW and held.created is not None and (held.adopt or held.link):
            await asyncio.to_thread(self._adopt, held)
        created = "its creation and " if outcome is Outcome.NEW and held.created is not None else ""
        return f"logged {created}{len(held.events)} held event(s) for {customer}"

    def _adopt(self, held: HeldEvents) -> None:
        assert held.created is not None
        entity = self._keeper.entity
        with self._store.unit_of_work() as uow:
            if held.adopt:
                self._keeper.adopt(uow, held.provisional_id, dict(held.created.data), held.system)
            if held.link and uow.xrefs.find_canonical(entity, held.system, held.local_id) is None:
                uow.xrefs.link(CrossReference(entity, held.provisional_id, held.system, held.local_id))
            uow.commit()


def _for_customer(event: CloudEvent, customer_field: str | None, customer_id: str) -> CloudEvent:
    if customer_field is None or event.data.get(customer_field) == customer_id:
        return event
    return event.with_data({**event.data, customer_field: customer_id})
