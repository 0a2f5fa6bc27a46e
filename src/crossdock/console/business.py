"""Business views: the questions an order desk, purchasing and finance ask, answered from the process journals,
lineage, cross-references and partner documents. Each view says in its `definition` what it counts, so a number
on the page is never a riddle."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crossdock.console.context import ConsoleContext
from crossdock.console.sla import describe
from crossdock.orders.quote_to_order import NAME as QUOTE_TO_ORDER
from crossdock.ports.store import (
    ExceptionClass,
    ExceptionStatus,
    ProcessInstance,
    ProcessState,
    ProcessStep,
    StepStatus,
    UnitOfWork,
)

_DONE = (StepStatus.COMPLETED, StepStatus.SKIPPED)
_SCAN = 2000


@dataclass
class BusinessView:
    """One view: a headline figure, what it means, and the rows behind it."""

    key: str
    title: str
    headline: str
    definition: str
    columns: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # per row: where to look closer
    attention: bool = False  # something here waits for a person


@dataclass(frozen=True)
class Limits:
    """When an order counts as stuck, an invoice as late to reach the CRM."""

    stuck_after: timedelta = timedelta(hours=1)
    invoice_propagation: timedelta = timedelta(minutes=15)


def _finished(steps: Sequence[ProcessStep], prefix: str) -> list[ProcessStep]:
    return [s for s in steps if s.name.split(":", 1)[0] == prefix and s.status in _DONE and s.finished_at is not None]


def _order(instance: ProcessInstance) -> str:
    return instance.business_key


def _stuck(instances: Sequence[ProcessInstance], now: datetime, limits: Limits) -> BusinessView:
    rows: list[tuple[Any, ...]] = []
    links: list[str | None] = []
    for i in instances:
        idle = now - (i.updated_at or now)
        held = i.state in (ProcessState.FAILED, ProcessState.COMPENSATION_FAILED)
        if not i.state.live or not (held or idle > limits.stuck_after):
            continue
        waiting = f"{i.wait_type} {i.wait_key}" if i.wait_type else (i.error or "")[:80]
        rows.append((_order(i), i.state.value, describe(idle), waiting))
        links.append(f"processes/{i.id}")
    return BusinessView(
        "stuck",
        "Stuck orders",
        f"{len(rows)} stuck",
        f"orders whose process failed, or has not moved for more than {describe(limits.stuck_after)} "
        "(waiting for a supplier, a backorder recheck, or an operator)",
        ("order", "state", "not moved for", "waiting for / error"),
        rows,
        links,
        attention=bool(rows),
    )


def _awaiting_validation(instances: Sequence[ProcessInstance], steps: dict[str, list[ProcessStep]]) -> BusinessView:
    rows: list[tuple[Any, ...]] = []
    links: list[str | None] = []
    for i in instances:
        if not i.state.live or _finished(steps.get(i.id, []), "create_sale"):
            continue
        passed = [s.name.split(":", 1)[0] for s in steps.get(i.id, []) if s.status in _DONE and s.kind.value == "step"]
        rows.append((_order(i), i.state.value, ", ".join(dict.fromkeys(passed)) or "none yet"))
        links.append(f"processes/{i.id}")
    return BusinessView(
        "validation",
        "Orders awaiting validation",
        f"{len(rows)} waiting",
        "live orders not yet created in the ERP: customer, items, prices and credit still being checked",
        ("order", "state", "checks passed"),
        rows,
        links,
    )


def _invoice_delays(
    instances: Sequence[ProcessInstance], steps: dict[str, list[ProcessStep]], now: datetime, limits: Limits
) -> BusinessView:
    rows: list[tuple[Any, ...]] = []
    links: list[str | None] = []
    delays: list[float] = []
    for i in instances:
        journal = steps.get(i.id, [])
        told = {s.name.split(":", 1)[1]: s.finished_at for s in _finished(journal, "tell_crm") if ":" in s.name}
        for invoice in _finished(journal, "invoice"):
            if not isinstance(invoice.result, list | dict) or not invoice.result:
                continue  # nothing was invoiced in that round
            assert invoice.finished_at is not None
            round_ = invoice.name.split(":", 1)[1] if ":" in invoice.name else ""
            reached = told.get(round_)
            delay = (reached or now) - invoice.finished_at
            delays.append(delay.total_seconds())
            if reached is None or delay > limits.invoice_propagation:
                rows.append(
                    (
                        _order(i),
                        f"{invoice.finished_at:%Y-%m-%d %H:%M}",
                        "not yet" if reached is None else describe(delay),
                    )
                )
                links.append(f"processes/{i.id}")
    median = describe(timedelta(seconds=statistics.median(delays))) if delays else "-"
    return BusinessView(
        "invoices",
        "Delayed invoice propagation",
        f"{len(rows)} late · median {median}",
        f"invoices posted in the ERP whose order status reached the CRM more than "
        f"{describe(limits.invoice_propagation)} later, or not yet",
        ("order", "invoiced (UTC)", "CRM told after"),
        rows,
        links,
        attention=bool(rows),
    )


def _sync_rate(instances: Sequence[ProcessInstance], steps: dict[str, list[ProcessStep]]) -> BusinessView:
    total = len(instances)
    rejected = sum(1 for i in instances if isinstance(i.result, dict) and i.result.get("outcome") == "rejected")
    in_erp = sum(1 for i in instances if _finished(steps.get(i.id, []), "create_sale"))
    failed = sum(1 for i in instances if i.state in (ProcessState.FAILED, ProcessState.COMPENSATION_FAILED))
    should = total - rejected
    rate = f"{in_erp / should:.0%}" if should else "-"
    return BusinessView(
        "sync_rate",
        "Order sync success rate",
        rate,
        "orders created in the ERP among orders captured, leaving out those refused on business grounds "
        "(credit, prices, unknown items)",
        ("captured", "in the ERP", "refused by rule", "failed"),
        [(total, in_erp, rejected, failed)],
        [None],
        attention=failed > 0,
    )


def _ack_latency(uow: UnitOfWork, since: datetime, now: datetime) -> BusinessView:
    sent = uow.operations.partner_documents_since("850", since)
    answered = [(d.answered_at - d.at).total_seconds() for d in sent if d.answered_at and d.at]
    waiting = [d for d in sent if d.answered_at is None]
    rows = [
        (d.partner, d.reference, f"{d.at:%Y-%m-%d %H:%M}" if d.at else "", describe(now - d.at) if d.at else "")
        for d in waiting
    ]
    median = describe(timedelta(seconds=statistics.median(answered))) if answered else "-"
    worst = describe(timedelta(seconds=max(answered))) if answered else "-"
    return BusinessView(
        "ack_latency",
        "Supplier acknowledgement latency",
        f"median {median} · slowest {worst}",
        f"time from our 850 to the supplier's 855 over {len(answered)} answered purchase orders; "
        f"{len(waiting)} still unanswered are listed",
        ("partner", "PO", "850 sent (UTC)", "waiting for"),
        rows,
        [None] * len(rows),
        attention=bool(waiting),
    )


def _inventory_delay(uow: UnitOfWork, since: datetime) -> BusinessView:
    delays = []
    for row in uow.operations.lineage_since(since):
        if "inventory" not in row.step or row.started_at is None:
            continue
        changed = row.detail.get("changed_at")
        if isinstance(changed, str):
            try:
                changed_at = datetime.fromisoformat(changed)
            except ValueError:
                continue
            if changed_at.tzinfo is not None:
                delays.append((row.started_at - changed_at).total_seconds())
    documents = uow.operations.partner_documents_since("846", since)
    if not delays:
        files = f"{len(documents)} inventory advice (846) file(s)" if documents else "no inventory advice (846) files"
        headline = f"no inventory changes captured · {files}"
    else:
        headline = (
            f"median {describe(timedelta(seconds=statistics.median(delays)))} · "
            f"slowest {describe(timedelta(seconds=max(delays)))}"
        )
    return BusinessView(
        "inventory",
        "Inventory event delay",
        headline,
        "time from a stock change in its system to its inventory event in the log, over the window",
    )


def _duplicates(uow: UnitOfWork, since: datetime) -> BusinessView:
    deliveries = [r for r in uow.operations.lineage_since(since) if r.step.startswith("deliver.")]
    unchanged = sum(1 for r in deliveries if r.outcome == "unchanged")
    duplicates = [
        e
        for e in uow.exceptions.list(exception_class=ExceptionClass.DUPLICATE, limit=_SCAN)
        if e.created_at is not None and e.created_at >= since
    ]
    rate = f"{(unchanged + len(duplicates)) / len(deliveries):.1%}" if deliveries else "-"
    return BusinessView(
        "duplicates",
        "Duplicate transaction rate",
        rate,
        "deliveries the target already held (re-reads, replays: written once, acknowledged again) plus objects "
        "that landed twice in a system, among all deliveries in the window",
        ("deliveries", "already held", "landed twice"),
        [(len(deliveries), unchanged, len(duplicates))],
        [None],
        attention=bool(duplicates),
    )


def _unmatched(ctx: ConsoleContext, uow: UnitOfWork) -> BusinessView:
    systems = {
        system
        for flow in ctx.flows
        if flow.entity == "customer"
        for system in (flow.source_system, *(t.system for t in flow.targets))
    }
    linked = uow.operations.linked_systems("customer") if systems else {}
    rows: list[tuple[Any, ...]] = []
    links: list[str | None] = []
    for canonical_id, present in sorted(linked.items()):
        missing = systems - present
        if missing:
            rows.append((canonical_id, ", ".join(sorted(present)), ", ".join(sorted(missing))))
            links.append(f"lineage?q={canonical_id}")
    open_duplicates = [
        e
        for e in uow.exceptions.list(exception_class=ExceptionClass.DUPLICATE, limit=_SCAN)
        if e.status in (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED) and e.entity == "customer"
    ]
    return BusinessView(
        "unmatched",
        "Unmatched accounts",
        f"{len(rows)} unmatched · {len(open_duplicates)} possible duplicates",
        "customers known in some of the systems their flows connect but not linked in the others "
        f"({', '.join(sorted(systems)) or 'no customer flows'})",
        ("customer", "linked in", "missing in"),
        rows[:200],
        links[:200],
        attention=bool(open_duplicates),
    )


async def business_views(
    ctx: ConsoleContext, span: timedelta = timedelta(days=7), limits: Limits | None = None
) -> list[BusinessView]:
    """Every business view, over the last `span`."""
    limits = limits or Limits()
    now = ctx.clock()
    since = now - span

    def read(uow: UnitOfWork) -> list[BusinessView]:
        instances = uow.processes.list(definition=QUOTE_TO_ORDER, limit=_SCAN)
        recent = [i for i in instances if i.created_at is None or i.created_at >= since or i.state.live]
        steps = uow.processes.steps([i.id for i in recent]) if recent else {}
        return [
            _stuck(recent, now, limits),
            _awaiting_validation(recent, steps),
            _sync_rate(recent, steps),
            _invoice_delays(recent, steps, now, limits),
            _ack_latency(uow, since, now),
            _inventory_delay(uow, since),
            _duplicates(uow, since),
            _unmatched(ctx, uow),
        ]

    return await ctx.read(read)
