"""Publishing: every event is checked against its envelope rules and registered schema before it is appended."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crossdock.events.envelope import CloudEvent
from crossdock.ports.event_log import AppendResult, EventLog

Validate = Callable[[CloudEvent], None]


class EventRefusedError(ValueError):
    """An event the log must not take: its envelope or its data breaks the contract. The message says which."""


class Publisher:
    """Appends events to the log after validating them; one bad event refuses the whole call, naming it."""

    def __init__(self, log: EventLog, validate: Validate | None = None) -> None:
        self._log = log
        self._validate = validate

    def check(self, event: CloudEvent) -> None:
        """Raise EventRefusedError, saying why, if the event may not be logged."""
        self.check_with(event, self._validate)

    @staticmethod
    def check_with(event: CloudEvent, validate: Validate | None) -> None:
        """The check, with a given validator: for tools that vet a whole file before publishing any of it."""
        try:
            event.check()
            if validate is not None:
                validate(event)
        except Exception as exc:  # the validator is injected; whatever it raises is its refusal
            raise EventRefusedError(str(exc)) from exc

    async def publish(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Validate, then append durably; raises the first envelope or schema error before anything is stored."""
        for event in events:
            self.check(event)
        return await self._log.append(events)

    async def append_checked(self, events: Sequence[CloudEvent]) -> list[AppendResult]:
        """Append events the caller has already passed through `check` one by one (to quarantine the bad ones)."""
        return await self._log.append(events)
