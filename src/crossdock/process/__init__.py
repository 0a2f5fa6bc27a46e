"""Durable processes (sagas) on the store: async functions whose steps are journaled, replayed after a crash,
compensated in reverse when one fails for good, and operated by people (retry, skip, cancel).

    async def quote_to_order(ctx: ProcessContext, order: dict[str, Any]) -> dict[str, Any] | None:
        sale = await ctx.step("create_sale", create_sale, compensate=cancel_sale)
        ack = await ctx.wait_for("crossdock.po_acknowledgement.received.v1", po_number, timedelta(days=3))
        ...

    DEFINITION = ProcessDefinition(name="quote_to_order", version=1, run=quote_to_order)
    engine = ProcessEngine(store, definitions=[DEFINITION])
    engine.start("quote_to_order", business_key="SO-1001", input=order)
    await engine.run_due()
"""

from crossdock.ports.store import ProcessState, StepKind, StepStatus
from crossdock.process.context import ProcessContext
from crossdock.process.definition import (
    NonDeterminismError,
    OperatorActionError,
    ProcessDefinition,
    ProcessError,
    RetryPolicy,
    StepFailedError,
    UnknownDefinitionError,
    UnknownInstanceError,
)
from crossdock.process.engine import ProcessEngine
from crossdock.process.views import ActionView, ProcessView, StepView

__all__ = [
    "ActionView",
    "NonDeterminismError",
    "OperatorActionError",
    "ProcessContext",
    "ProcessDefinition",
    "ProcessEngine",
    "ProcessError",
    "ProcessState",
    "ProcessView",
    "RetryPolicy",
    "StepFailedError",
    "StepKind",
    "StepStatus",
    "StepView",
    "UnknownDefinitionError",
    "UnknownInstanceError",
]
