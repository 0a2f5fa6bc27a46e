"""Processes: running, waiting and failed sagas with their step journal, and the operator actions (retry a failed
step, skip it with a result, cancel and compensate). The actions only mark the instance; a worker runs it."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from crossdock.console.audit import record
from crossdock.console.pages import ConsolePage
from crossdock.console.web import (
    NavEntry,
    NotAllowed,
    Viewer,
    blocking,
    console_state,
    form,
    redirect,
    render,
    require,
    viewer,
)
from crossdock.ports.console import ConsoleRole
from crossdock.ports.store import ProcessState, UnitOfWork
from crossdock.process import ProcessError, ProcessView, StepFailedError

router = APIRouter()
_GROUPS = {
    "running": (ProcessState.RUNNABLE, ProcessState.RUNNING, ProcessState.COMPENSATING),
    "waiting": (ProcessState.WAITING, ProcessState.SLEEPING),
    "failed": (ProcessState.FAILED, ProcessState.COMPENSATION_FAILED),
    "finished": (ProcessState.COMPLETED, ProcessState.COMPENSATED, ProcessState.CANCELLED),
}


@router.get("/processes", include_in_schema=False)
async def processes_page(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    show: Annotated[str, Query(alias="state")] = "live",
    key: str = "",
) -> Response:
    """Instances by state group, most recently changed first."""
    state = console_state(request)
    engine = state.context.engine
    if key.strip():
        views: list[ProcessView] = await blocking(engine.find_by_key, key.strip(), 200)
    else:
        views = await blocking(engine.list, None, None, 2000)
    counts = Counter(group for view in views for group, states in _GROUPS.items() if view.state in states)
    if show in _GROUPS:
        views = [view for view in views if view.state in _GROUPS[show]]
    elif show == "live":
        views = [view for view in views if view.state.live]
    return render(
        request, "processes.html", who, views=views[:500], show=show, key=key, counts=counts, groups=list(_GROUPS)
    )


@router.get("/processes/{instance_id}", include_in_schema=False)
async def process_page(request: Request, instance_id: str, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """One instance with its step journal and the operator actions taken on it."""
    state = console_state(request)
    view = await blocking(state.context.engine.show, instance_id)
    if view is None:
        return render(request, "error.html", who, status_code=404, message=f"There is no process {instance_id}.")
    redact = state.context.redactor

    def shown(value: Any) -> str:
        return "" if value is None else orjson.dumps(redact.document(value), default=str).decode()[:400]

    steps = [{"s": step, "result": shown(step.result)} for step in view.steps]
    return render(
        request,
        "process.html",
        who,
        v=view,
        steps=steps,
        input=orjson.dumps(redact.document(view.input), option=orjson.OPT_INDENT_2, default=str).decode(),
        held=view.state in _GROUPS["failed"],
    )


@router.post("/processes/{instance_id}/{action}", include_in_schema=False)
async def process_action(
    request: Request, instance_id: str, action: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """retry, skip (with a JSON result) or cancel; recorded in the process's own actions and the audit trail."""
    require(who, ConsoleRole.OPERATOR)
    values = await form(request, who)
    state = console_state(request)
    engine = state.context.engine
    reason = values.get("reason", "").strip()[:2000] or None
    try:
        if action == "retry":
            await blocking(engine.retry, instance_id, actor=who.name, reason=reason)
            message = "The failed step will run again; a worker picks it up within seconds."
        elif action == "skip":
            raw = values.get("result", "").strip() or "null"
            try:
                result = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise NotAllowed('the result of a skipped step must be JSON (null, a number, "text", {...})') from None
            await blocking(engine.skip, instance_id, result, actor=who.name, reason=reason)
            message = "The failed step counts as done with the given result; the process goes on."
        elif action == "cancel":
            if not reason:
                raise NotAllowed("say why the process is cancelled")
            new_state = await blocking(engine.cancel, instance_id, actor=who.name, reason=reason)
            message = f"The process is {new_state.value}."
        else:
            return render(request, "error.html", who, status_code=404, message=f"There is no action {action!r}.")
    except (ProcessError, StepFailedError, ValueError, NotAllowed) as refusal:
        return redirect(request, f"processes/{instance_id}", error=str(refusal))

    def audit(uow: UnitOfWork) -> None:
        record(uow, who.name, f"process.{action}", "process", instance_id, at=state.context.clock(), reason=reason)

    await state.context.write(audit)
    return redirect(request, f"processes/{instance_id}", ok=message)


PAGE = ConsolePage("processes", router, NavEntry("Processes", "processes", 45))
