"""`crossdock processes`: look at durable processes and act on them (retry a failed step, skip it, cancel).

These commands only read and mark instances in the store; a running worker (`crossdock serve` or `worker`) runs
what they make due: the retried step, the rest of a skipped process, a cancelled one's compensations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from crossdock.cli.common import actor_or_user, console, fail, opened_store, print_json, settings_from
from crossdock.ports.store import ProcessState
from crossdock.process import ProcessEngine, ProcessError, ProcessView, StepFailedError

T = TypeVar("T")
processes_app = typer.Typer(
    help="Durable processes (sagas): list, show, retry a failed step, skip it, cancel.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
InstanceArg = Annotated[str, typer.Argument(help="process instance id, or the business key (order number) of one")]
ActorOption = Annotated[str, typer.Option(help="who acts, for the audit trail (default: your user name)")]
ReasonOption = Annotated[str | None, typer.Option(help="why, for the audit trail")]
_STATES = ", ".join(state.value for state in ProcessState)


@contextmanager
def _engine(ctx: typer.Context) -> Iterator[ProcessEngine]:
    with opened_store(settings_from(ctx)) as store:
        engine = ProcessEngine(store, owner="crossdock-cli")
        try:
            yield engine
        finally:
            engine.close()


def _guarded(action: Callable[[], T]) -> T:
    try:
        return action()
    except (ProcessError, StepFailedError, ValueError) as error:
        fail(str(error))


def _resolve(engine: ProcessEngine, instance: str) -> ProcessView:
    """The instance with this id, else the one instance for this business key (live ones first)."""
    view = engine.show(instance)
    if view is not None:
        return view
    matches = engine.find_by_key(instance)
    live = [match for match in matches if match.state.live]
    candidates = live or matches
    if not candidates:
        fail(f"no process instance has the id or business key {instance!r}; `crossdock processes list` shows them")
    if len(candidates) > 1:
        listed = ", ".join(f"{match.id} ({match.definition}, {match.state.value})" for match in candidates)
        fail(f"{len(candidates)} processes have the business key {instance!r}: {listed}; give one id")
    found = engine.show(candidates[0].id)
    if found is None:  # pragma: no cover - it was listed a moment ago
        fail(f"process {candidates[0].id} disappeared")
    return found


@processes_app.command("list")
def list_processes(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help=f"only this state: {_STATES}")] = None,
    definition: Annotated[str | None, typer.Option(help="only this process definition, e.g. quote_to_order")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, most recently changed first")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Process instances, most recently changed first."""
    wanted: ProcessState | None = None
    if state is not None:
        try:
            wanted = ProcessState(state)
        except ValueError:
            fail(f"unknown state {state!r}; choose one of {_STATES}")
    with _engine(ctx) as engine:
        views = engine.list(state=wanted, definition=definition, limit=limit)
    if as_json:
        print_json([_summary(view) for view in views])
        return
    table = Table("id", "definition", "business key", "state", "updated", "error", title="Processes")
    for view in views:
        table.add_row(
            view.id,
            f"{view.definition} v{view.version}",
            escape(view.business_key),
            view.state.value,
            f"{view.updated_at:%Y-%m-%d %H:%M:%S}" if view.updated_at else "",
            escape((view.error or "")[:80]),
        )
    console.print(table)


@processes_app.command()
def show(ctx: typer.Context, instance: InstanceArg, as_json: JsonFlag = False) -> None:
    """One process with its steps (status, attempts, error, timings) and operator actions."""
    with _engine(ctx) as engine:
        view = _resolve(engine, instance)
    if as_json:
        print_json(view.to_dict())
        return
    waiting = f", waiting for {view.waiting_for[0]} {view.waiting_for[1]}" if view.waiting_for else ""
    wake = f", due {view.wake_at:%Y-%m-%d %H:%M:%S}" if view.wake_at and view.state.live else ""
    console.print(
        f"[bold]{view.definition} v{view.version}[/] {escape(view.business_key)}  {view.id}\n"
        f"state: [bold]{view.state.value}[/]{escape(waiting)}{wake}"
    )
    if view.error:
        console.print(f"error: {escape(view.error)}", highlight=False)
    if view.cancel_reason:
        console.print(f"cancelled because: {escape(view.cancel_reason)}", highlight=False)
    if view.note:
        console.print(f"[yellow]note:[/] {escape(view.note)}", highlight=False)
    table = Table("seq", "step", "kind", "status", "attempts", "started", "finished", "error / result")
    for step in view.steps:
        outcome = step.error if step.error else _short(step.result)
        table.add_row(
            str(step.seq),
            escape(step.name),
            step.kind.value,
            step.status.value,
            str(step.attempts),
            f"{step.started_at:%H:%M:%S.%f}"[:-3] if step.started_at else "",
            f"{step.finished_at:%H:%M:%S.%f}"[:-3] if step.finished_at else "",
            escape(outcome),
        )
    console.print(table)
    for action in view.actions:
        when = f"{action.at:%Y-%m-%d %H:%M:%S}" if action.at else ""
        console.print(f"{when} {action.action} by {escape(action.actor)}: {escape(action.reason or '')}")


@processes_app.command()
def retry(ctx: typer.Context, instance: InstanceArg, actor: ActorOption = "", reason: ReasonOption = None) -> None:
    """Run a failed (or compensation_failed) process's failed step again, with fresh attempts."""
    with _engine(ctx) as engine:
        view = _resolve(engine, instance)
        _guarded(lambda: engine.retry(view.id, actor=actor_or_user(actor), reason=reason))
    console.print(f"process {view.id} will retry its failed step at a worker's next pass")


@processes_app.command()
def skip(
    ctx: typer.Context,
    instance: InstanceArg,
    result: Annotated[
        str, typer.Option(help="JSON the skipped step returns to the process, e.g. '{\"id\": 7}'")
    ] = "null",
    actor: ActorOption = "",
    reason: ReasonOption = None,
) -> None:
    """Count a failed step as done with the given result, and let the process go on."""
    try:
        value = orjson.loads(result)
    except orjson.JSONDecodeError as error:
        fail(f'--result is not JSON ({error}); quote it for the shell, e.g. --result \'{{"sale": "SO-7"}}\'')
    with _engine(ctx) as engine:
        view = _resolve(engine, instance)
        _guarded(lambda: engine.skip(view.id, value, actor=actor_or_user(actor), reason=reason))
    console.print(f"process {view.id}: the failed step is skipped; a worker runs the rest")


@processes_app.command()
def cancel(
    ctx: typer.Context,
    instance: InstanceArg,
    reason: Annotated[str, typer.Option(help="why, for the audit trail")],
    actor: ActorOption = "",
) -> None:
    """Cancel a live process: its started steps are compensated in reverse, then it is cancelled."""
    with _engine(ctx) as engine:
        view = _resolve(engine, instance)
        state = _guarded(lambda: engine.cancel(view.id, reason=reason, actor=actor_or_user(actor)))
    if state is ProcessState.CANCELLED:
        console.print(f"process {view.id} is cancelled (it had nothing to compensate)")
    else:
        console.print(f"process {view.id} is cancelled; a worker compensates its started steps in reverse")


def _summary(view: ProcessView) -> dict[str, Any]:
    document = view.to_dict()
    document.pop("steps", None)
    document.pop("actions", None)
    return document


def _short(value: Any, width: int = 60) -> str:
    if value is None:
        return ""
    text = orjson.dumps(value).decode()
    return text if len(text) <= width else f"{text[: width - 1]}…"
