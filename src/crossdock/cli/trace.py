"""`crossdock trace order <number>`: one order's way through every system, as one timeline.

It answers "where is order 4711 stuck?": the CRM capture that brought the order in, every step of its
quote-to-order process with the system it called (ERP, CRM, the log), the ERP documents it made, and the
exceptions raised for it, oldest first, with the process's state and what it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.cli.common import console, fail, run_async, settings_from
from crossdock.orders.quote_to_order import NAME as QUOTE_TO_ORDER
from crossdock.process import ProcessView, StepKind

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
trace_app = typer.Typer(help="Follow one business transaction across systems.", no_args_is_help=True)

# Which system a quote-to-order step talks to, by the step's name before `:`.
_ERP_STEPS = {
    "customer_standing",
    "item_supply",
    "contract_prices",
    "credit_check",
    "create_sale",
    "confirm_sale",
    "dispatch",
    "order_drop_ship",
    "complete_drop_ship",
    "invoice",
    "read_sale",
    "compensate",
}
_LOG_STEPS = {"publish", "publish_invoices", "reject"}


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One hop of the order's way."""

    at: datetime | None
    system: str
    step: str
    outcome: str
    detail: str


def _step_system(name: str, erp: str, crm: str | None) -> str:
    if "@" in name:
        return "partner"  # a wait for a partner's answer: `<event type>@<correlation key>`
    head = name.split(":", 1)[0]
    if head in _ERP_STEPS:
        return erp
    if head == "tell_crm":
        return crm or "crm"
    if head in _LOG_STEPS:
        return "log"
    return "crossdock"


def _summary(result: Any) -> str:
    if result is None:
        return ""
    if isinstance(result, dict):
        keys = ("number", "state", "outcome", "reason", "shipped", "backordered", "available")
        picked = {k: result[k] for k in keys if k in result and result[k] not in (None, [], {})}
        text = orjson.dumps(picked or result).decode()
    else:
        text = orjson.dumps(result, default=str).decode()
    return text if len(text) <= 100 else text[:97] + "..."


async def _trace(runtime: Runtime, number: str) -> tuple[ProcessView | None, list[TraceRow], dict[str, str]]:
    orders = runtime.settings.orders
    erp = orders.erp if orders else "erp"
    crm = orders.crm if orders else None
    engine = runtime.process_engine(with_definitions=False)
    found = engine.find(QUOTE_TO_ORDER, number)
    view = engine.show(found.id) if found is not None else None
    rows: list[TraceRow] = []
    refs: dict[str, str] = {}
    with runtime.store.unit_of_work(read_only=True) as uow:
        lineage = uow.lineage.find(number)
        order_id = view.input["order"]["id"] if view is not None else None
        if order_id is None:
            order_id = next((entry.subject for entry in lineage if entry.subject), None)
        if order_id is not None:
            refs = {ref.system: ref.local_id for ref in uow.xrefs.for_canonical("order", order_id)}
            refs["canonical"] = order_id
            lineage = _merge(lineage, uow.lineage.find(order_id))
        # Exceptions about the order: raised by its process (subject) or by a capture or delivery of it.
        exceptions = [
            exception
            for exception in uow.exceptions.list(limit=5000)
            if (order_id is not None and exception.subject == order_id) or exception.details.get("order") == number
        ]
    rows.extend(
        TraceRow(
            entry.started_at,
            entry.system,
            entry.step,
            entry.outcome,
            ", ".join(f"{k}={v}" for k, v in entry.business_keys.items() if k != "order"),
        )
        for entry in lineage
    )
    if view is not None:
        for step in view.steps:
            if step.name.startswith("lineage:") or step.kind is StepKind.NOW:
                continue  # shown as its lineage row; a journaled clock reading says nothing to an operator
            system = _step_system(step.name, erp, crm)
            detail = step.error or _summary(step.result)
            rows.append(TraceRow(step.finished_at or step.started_at, system, step.name, step.status.value, detail))
    rows.extend(
        TraceRow(
            exception.created_at,
            exception.system or "crossdock",
            f"exception #{exception.id} ({exception.owner_queue})",
            exception.status.value,
            exception.reason,
        )
        for exception in exceptions
    )
    rows.sort(key=lambda row: (row.at is None, row.at or datetime.min.replace(tzinfo=UTC)))
    return view, rows, refs


def _merge(first: list[Any], second: list[Any]) -> list[Any]:
    seen = {entry.id for entry in first}
    return first + [entry for entry in second if entry.id not in seen]


@trace_app.command("order")
def trace_order(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="the order number (SF-00000101, a customer PO's order number, ...)")],
    as_json: JsonFlag = False,
) -> None:
    """Print an order's steps across systems, oldest first."""
    settings = settings_from(ctx)

    async def work() -> tuple[ProcessView | None, list[TraceRow], dict[str, str]]:
        runtime = await bootstrap(settings, connectors={})
        try:
            return await _trace(runtime, number)
        finally:
            await runtime.close()

    view, rows, refs = run_async(work)
    if view is None and not rows:
        fail(f"no order {number!r} is known: check the number, or whether the order was captured (crossdock status)")
    if as_json:
        payload = {
            "order": number,
            "references": refs,
            "process": None
            if view is None
            else {"id": view.id, "state": view.state.value, "result": view.result, "waiting_for": view.waiting_for},
            "timeline": [
                {
                    "at": row.at.isoformat() if row.at else None,
                    "system": row.system,
                    "step": row.step,
                    "outcome": row.outcome,
                    "detail": row.detail,
                }
                for row in rows
            ],
        }
        console.print_json(orjson.dumps(payload).decode())
        return
    where = ", ".join(f"{system} {local}" for system, local in sorted(refs.items()))
    console.print(f"[bold]Order {number}[/]  {where}")
    if view is not None:
        waiting = f", waiting for {view.waiting_for[0]} {view.waiting_for[1]}" if view.waiting_for else ""
        wake = f", next check {view.wake_at:%Y-%m-%d %H:%M}" if view.wake_at and not view.waiting_for else ""
        console.print(f"process {view.id}: {view.state.value}{waiting}{wake}")
    table = Table(show_header=True, header_style="bold")
    for column in ("when (UTC)", "system", "step", "outcome", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.at.strftime("%H:%M:%S.%f")[:-3] if row.at else "", row.system, row.step, row.outcome, row.detail
        )
    console.print(table)
