"""Exceptions: by class and owner queue, with SLA clocks; assign, comment, resolve, dismiss, reopen. Every move
goes into the exception's own history and the console's audit trail in one unit of work."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crossdock.console.audit import record
from crossdock.console.pages import ConsolePage
from crossdock.console.sla import reading
from crossdock.console.web import NavEntry, NotAllowed, Viewer, console_state, form, redirect, render, require, viewer
from crossdock.ports.console import ConsoleRole
from crossdock.ports.store import BusinessException, ExceptionClass, ExceptionStatus, UnitOfWork

router = APIRouter()
_PENDING = (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED)
_SCAN = 5000


def _clock(request: Request, exception: BusinessException) -> Any:
    ctx = console_state(request).context
    if exception.status not in _PENDING:
        return None
    return reading(exception, ctx.sla_clocks, ctx.clock())


@router.get("/exceptions", include_in_schema=False)
async def exceptions_page(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    queue: str = "",
    cls: str = "",
    status: str = "pending",
    assignee: str = "",
) -> Response:
    """The queues: counts by class and owner queue, and the cases, most urgent first."""
    state = console_state(request)
    everything = await state.context.read(lambda uow: uow.exceptions.list(limit=_SCAN))
    pending = [e for e in everything if e.status in _PENDING]
    by_queue = Counter(e.owner_queue for e in pending)
    by_class = Counter(e.exception_class.value for e in pending)
    shown = [
        e
        for e in everything
        if (status == "all" or (status == "pending" and e.status in _PENDING) or e.status.value == status)
        and (not queue or e.owner_queue == queue)
        and (not cls or e.exception_class.value == cls)
        and (not assignee or (e.assignee or "") == assignee)
    ]
    rows = [(e, _clock(request, e)) for e in shown]
    # Breached first, then the clocks nearest their limit, then the rest newest first.
    rows.sort(key=lambda pair: -(pair[1].share if pair[1] is not None else -1.0))
    return render(
        request,
        "exceptions.html",
        who,
        rows=rows[:500],
        total=len(shown),
        by_queue=sorted(by_queue.items()),
        by_class=sorted(by_class.items()),
        queue=queue,
        cls=cls,
        status=status,
        assignee=assignee,
        classes=[c.value for c in ExceptionClass],
        statuses=["pending", *(s.value for s in ExceptionStatus), "all"],
    )


@router.get("/exceptions/{exception_id}", include_in_schema=False)
async def exception_page(request: Request, exception_id: int, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """One case: why, what arrived, its history and clock, and what can be done."""
    state = console_state(request)

    def read(uow: UnitOfWork) -> tuple[BusinessException | None, Any]:
        return uow.exceptions.get(exception_id), uow.console.audit(target_kind="exception", target_id=str(exception_id))

    exception, audit = await state.context.read(read)
    if exception is None:
        return render(request, "error.html", who, status_code=404, message=f"There is no exception {exception_id}.")
    redact = state.context.redactor
    details = {k: v for k, v in exception.details.items() if k != "history"}
    raw = exception.raw_payload
    if raw:
        try:
            raw = orjson.dumps(redact.document(orjson.loads(raw)), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            raw = redact.text(raw)
    users = await state.context.read(lambda uow: uow.console.list_users())
    return render(
        request,
        "exception.html",
        who,
        e=exception,
        clock=_clock(request, exception),
        details=orjson.dumps(redact.document(details), option=orjson.OPT_INDENT_2, default=str).decode(),
        raw=raw,
        history=list(reversed(exception.details.get("history", []))),
        audit=audit,
        users=[u.username for u in users if ConsoleRole.OPERATOR in u.roles],
        pending=exception.status in _PENDING,
    )


async def _act(request: Request, exception_id: int, who: Viewer, action: str) -> Response:
    require(who, ConsoleRole.OPERATOR)
    values = await form(request, who)
    state = console_state(request)
    note = values.get("note", "").strip()[:4000] or None
    now = state.context.clock()

    def act(uow: UnitOfWork) -> str:
        exception = uow.exceptions.get(exception_id)
        if exception is None:
            raise NotAllowed(f"there is no exception {exception_id}")
        if action == "assign":
            assignee = values.get("assignee", "").strip() or who.name
            status = ExceptionStatus.ASSIGNED if exception.status in _PENDING else exception.status
            uow.exceptions.update(
                exception_id,
                status=status,
                assignee=assignee,
                note=f"{who.name}: assigned to {assignee}" + (f" ({note})" if note else ""),
            )
            record(uow, who.name, "exception.assign", "exception", str(exception_id), at=now, assignee=assignee)
            return f"Exception #{exception_id} is assigned to {assignee}."
        if action == "comment":
            if note is None:
                raise NotAllowed("write a comment first")
            uow.exceptions.update(exception_id, status=exception.status, note=f"{who.name}: {note}")
            record(uow, who.name, "exception.comment", "exception", str(exception_id), at=now, comment=note)
            return f"Comment added to exception #{exception_id}."
        target = {
            "resolve": ExceptionStatus.RESOLVED,
            "dismiss": ExceptionStatus.DISMISSED,
            "reopen": ExceptionStatus.OPEN,
        }[action]
        if action != "reopen" and exception.status not in _PENDING:
            raise NotAllowed(f"exception #{exception_id} is already {exception.status.value}")
        if action == "reopen" and exception.status in _PENDING:
            raise NotAllowed(f"exception #{exception_id} is still {exception.status.value}")
        verb = {"resolve": "resolved", "dismiss": "dismissed", "reopen": "reopened"}[action]
        uow.exceptions.update(exception_id, status=target, note=f"{who.name}: {verb}" + (f": {note}" if note else ""))
        record(uow, who.name, f"exception.{action}", "exception", str(exception_id), at=now, note=note)
        return f"Exception #{exception_id} is {target.value}."

    try:
        message = await state.context.write(act)
    except NotAllowed as refusal:
        return redirect(request, f"exceptions/{exception_id}", error=str(refusal))
    return redirect(request, f"exceptions/{exception_id}", ok=message)


@router.post("/exceptions/{exception_id}/{action}", include_in_schema=False)
async def exception_action(
    request: Request, exception_id: int, action: str, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """assign, comment, resolve, dismiss or reopen."""
    if action not in ("assign", "comment", "resolve", "dismiss", "reopen"):
        return render(request, "error.html", who, status_code=404, message=f"There is no action {action!r}.")
    return await _act(request, exception_id, who, action)


PAGE = ConsolePage("exceptions", router, NavEntry("Exceptions", "exceptions", 30))
