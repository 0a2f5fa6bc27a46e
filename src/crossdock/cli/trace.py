"""`crossdock trace order <number>`: one order's way through every system, as one timeline.

It answers "where is order 4711 stuck?": the CRM capture or API call that brought the order in, every step of its
quote-to-order process with the system it called (ERP, CRM, the log), the events it emitted, the EDI files about its
purchase orders, and the exceptions raised for it, oldest first, with the process's state and what it waits for.
The timeline is assembled by `crossdock.orders.trace`, which the console's lineage page shares.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from crossdock.bootstrap import bootstrap
from crossdock.cli.common import console, fail, run_async, settings_from
from crossdock.orders.trace import Trace

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
trace_app = typer.Typer(help="Follow one business transaction across systems.", no_args_is_help=True)


@trace_app.command("order")
def trace_order(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="the order number (SF-00000101, a customer PO's order number, ...)")],
    as_json: JsonFlag = False,
) -> None:
    """Print an order's steps across systems, oldest first."""
    settings = settings_from(ctx)

    async def work() -> Trace:
        runtime = await bootstrap(settings, connectors={})
        try:
            return runtime.tracer().trace(number)
        finally:
            await runtime.close()

    found = run_async(work)
    view, rows, refs = found.process, found.rows, found.references
    if not found.found:
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
                    "kind": row.kind,
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
