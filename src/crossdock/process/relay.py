"""The outbox relay as a worker service of its own, for processes that take API orders but run no order
service (which relays the same outbox as part of its pass)."""

from __future__ import annotations

from crossdock.ports.event_log import EventLog
from crossdock.process.engine import ProcessEngine


class OutboxRelay:
    """Publishes what is waiting in the store's outbox to the log, in order, once."""

    name = "outbox"

    def __init__(self, engine: ProcessEngine, log: EventLog) -> None:
        self._engine = engine
        self._log = log

    async def run_once(self) -> int:
        """One pass; how many events it published."""
        return await self._engine.publish_outbox(self._log)
