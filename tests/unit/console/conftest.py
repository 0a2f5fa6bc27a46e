"""A console over a memory store and a memory log, with one sensitive flow and one that is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crossdock.console.context import ConsoleContext, FlowInfo, FlowTargetInfo
from crossdock.console.security import hash_password
from crossdock.events.envelope import CloudEvent
from crossdock.log.memory import MemoryEventLog
from crossdock.orders.trace import Tracer
from crossdock.ports.console import ConsoleRole, ConsoleUser
from crossdock.ports.event_log import DeadLetter
from crossdock.process import ProcessEngine
from crossdock.store.memory import MemoryStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # once: scrypt is slow on purpose
USERS = {
    "ana": {ConsoleRole.OPERATOR, ConsoleRole.APPROVER},
    "bo": {ConsoleRole.APPROVER},
    "cy": {ConsoleRole.OPERATOR},
}
SENSITIVE = FlowInfo(
    "customer-erp-to-crm",
    "erp",
    "customer",
    (FlowTargetInfo("crm", "customer", "flow.customer-erp-to-crm.crm"),),
    business_owner="Finance",
    sla=timedelta(minutes=15),
    sensitive=True,
)
PLAIN = FlowInfo("item-erp-to-crm", "erp", "item", (FlowTargetInfo("crm", "item", "flow.item-erp-to-crm.crm"),))


@dataclass
class Console:
    """The console's context and a way to make dead letters in its log."""

    context: ConsoleContext
    store: MemoryStore
    log: MemoryEventLog

    async def dead_letter(self, flow: FlowInfo, subject: str, data: dict[str, Any]) -> DeadLetter:
        """Log an event for the flow and give up on it in the flow's group, as a delivery runner would."""
        event = CloudEvent(
            type=f"crossdock.{flow.entity}.updated.v1",
            source=f"/systems/{flow.source_system}",
            subject=subject,
            data=data,
        )
        await self.log.append([event])
        group = flow.targets[0].group
        [logged] = [e for e in await self.log.fetch(group, "runner", wait_s=0.1) if e.event.id == event.id]
        await self.log.dead_letter(group, "runner", logged, error="transient: crm timed out")
        [letter] = [d for d in await self.log.dead_letters(group) if d.event.id == event.id]
        return letter


@pytest.fixture
async def console() -> AsyncIterator[Console]:
    store = MemoryStore()
    log = MemoryEventLog(partitions=2, lease_ttl_s=5.0)
    engine = ProcessEngine(store, owner="console-test")
    context = ConsoleContext(
        store=store,
        log=log,
        engine=engine,
        tracer=Tracer(store, engine),
        flows=(SENSITIVE, PLAIN),
        clock=lambda: NOW,
    )
    with store.unit_of_work() as uow:
        for name, roles in USERS.items():
            uow.console.add_user(ConsoleUser(name, PASSWORD_HASH, frozenset(roles), display_name=name.title()))
        uow.commit()
    yield Console(context, store, log)
    engine.close()
    await log.close()
