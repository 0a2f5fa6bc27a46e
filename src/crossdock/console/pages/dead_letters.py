"""Dead letters and replays: list dead letters, preview what handing one back would do, request replays (for
several at once), and approve or reject requests. Sensitive flows need a second person's approval."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from crossdock.console.pages import ConsolePage
from crossdock.console.replay import ReplayError, is_unfinished
from crossdock.console.web import (
    NavEntry,
    Viewer,
    console_state,
    form,
    form_list,
    redirect,
    render,
    require,
    viewer,
)
from crossdock.ports.console import ConsoleRole, ReplayState

router = APIRouter()


@router.get("/dead-letters", include_in_schema=False)
async def dead_letters_page(request: Request, who: Annotated[Viewer, Depends(viewer)], group: str = "") -> Response:
    """Dead letters, oldest first, with their flow and whether a replay is on its way."""
    state = console_state(request)
    ctx = state.context
    everything = await ctx.log.dead_letters(None, limit=10_000)
    letters = [letter for letter in everything if not group or letter.group == group]
    open_requests = await ctx.read(
        lambda uow: uow.console.list_replays(states=[ReplayState.REQUESTED, ReplayState.APPROVED], limit=1000)
    )
    pending = {request.dead_letter_id: request for request in open_requests}
    rows = []
    for letter in letters[:1000]:
        flow, _ = ctx.flow_of_group(letter.group)
        rows.append(
            {
                "letter": letter,
                "flow": flow,
                "sensitive": ctx.approval_rule(flow),
                "request": pending.get(letter.id),
            }
        )
    return render(
        request,
        "dead_letters.html",
        who,
        rows=rows,
        groups=sorted(Counter(letter.group for letter in everything).items()),
        group=group,
        total=len(letters),
    )


@router.get("/dead-letters/{dead_letter_id}", include_in_schema=False)
async def dead_letter_page(request: Request, dead_letter_id: int, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """One dead letter and the preview of its replay: targets, current value against the payload, journal."""
    state = console_state(request)
    try:
        preview = await state.replays.preview(dead_letter_id)
    except ReplayError as gone:
        requests = await state.context.read(lambda uow: uow.console.list_replays(dead_letter_id=dead_letter_id))
        return render(
            request,
            "dead_letter_gone.html",
            who,
            status_code=404,
            message=str(gone),
            requests=requests,
            dead_letter_id=dead_letter_id,
        )
    redact = state.context.redactor
    event = preview.dead_letter.event
    payload = orjson.dumps(redact.document(event.data), option=orjson.OPT_INDENT_2, default=str).decode()

    def shown(value: Any) -> str:
        return "—" if value is None else orjson.dumps(redact.document(value), default=str).decode()

    targets = [
        {
            "t": target,
            "diffs": [
                {"name": d.name, "current": shown(d.current), "payload": shown(d.payload), "changed": d.changed}
                for d in target.diffs
            ],
        }
        for target in preview.targets
    ]
    return render(
        request,
        "dead_letter.html",
        who,
        p=preview,
        event=event,
        payload=payload,
        targets=targets,
        unfinished=[r for r in preview.requests if is_unfinished(r)],
    )


@router.post("/dead-letters/replay", include_in_schema=False)
async def request_replay(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Ask for the selected dead letters to be handed back."""
    require(who, ConsoleRole.OPERATOR)
    values = await form(request, who)
    state = console_state(request)
    try:
        ids = [int(value) for value in await form_list(request, "dead_letter")]
        made = await state.replays.request(ids, actor=who.name, reason=values.get("reason", "").strip() or None)
    except (ReplayError, ValueError) as refusal:
        back = values.get("back", "dead-letters")
        return redirect(request, back if back.startswith("dead-letters") else "dead-letters", error=str(refusal))
    waiting = [r for r in made if r.state is ReplayState.REQUESTED]
    done = [r for r in made if r.state is ReplayState.REPLAYED]
    parts = []
    if waiting:
        parts.append(f"{len(waiting)} replay request(s) wait for a second person's approval")
    if done:
        parts.append(f"{len(done)} dead letter(s) handed back (flow not sensitive)")
    target = f"replays/{made[0].id}" if len(made) == 1 else "replays"
    return redirect(request, target, ok="; ".join(parts) + ".")


@router.get("/replays", include_in_schema=False)
async def replays_page(
    request: Request, who: Annotated[Viewer, Depends(viewer)], state_: Annotated[str, Query(alias="state")] = ""
) -> Response:
    """Replay requests, newest first; those waiting for approval on top."""
    state = console_state(request)
    states = [ReplayState(state_)] if state_ in {s.value for s in ReplayState} else None
    requests = await state.context.read(lambda uow: uow.console.list_replays(states=states, limit=500))
    waiting = [r for r in requests if r.state is ReplayState.REQUESTED]
    others = [r for r in requests if r.state is not ReplayState.REQUESTED]
    return render(request, "replays.html", who, waiting=waiting, others=others, unfinished=is_unfinished)


@router.get("/replays/{request_id}", include_in_schema=False)
async def replay_page(request: Request, request_id: int, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """One request: who asked, who decided, what executing it did, and how often the event was delivered."""
    state = console_state(request)
    try:
        replay = await state.replays.get(request_id)
    except ReplayError as unknown:
        return render(request, "error.html", who, status_code=404, message=str(unknown))
    ctx = state.context
    flow = ctx.flow(replay.flow)
    _, target = ctx.flow_of_group(replay.group)

    def read(uow: Any) -> tuple[Any, int, bool]:
        audit = uow.console.audit(target_kind="replay", target_id=str(request_id))
        deliveries = 0
        journaled = False
        if flow is not None and target is not None:
            journaled = bool(uow.journal.delivered(flow.name, target.system, [replay.event_id]))
            deliveries = sum(
                1
                for entry in uow.lineage.find(replay.event_id)
                if entry.event_id == replay.event_id
                and entry.system == target.system
                and entry.step.startswith("deliver.")
                and entry.outcome == "delivered"
            )
        return audit, deliveries, journaled

    audit, deliveries, journaled = await ctx.read(read)
    return render(
        request,
        "replay.html",
        who,
        r=replay,
        flow=flow,
        target=target,
        audit=audit,
        deliveries=deliveries,
        journaled=journaled,
        unfinished=is_unfinished(replay),
        can_decide=who.has(ConsoleRole.APPROVER)
        and replay.state is ReplayState.REQUESTED
        and not (replay.second_person_required and replay.requested_by == who.name),
    )


@router.post("/replays/{request_id}/{decision}", include_in_schema=False)
async def decide(request: Request, request_id: int, decision: str, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """Approve (and execute) or reject a requested replay."""
    require(who, ConsoleRole.APPROVER)
    values = await form(request, who)
    state = console_state(request)
    note = values.get("note", "").strip()[:2000] or None
    try:
        if decision == "approve":
            replay = await state.replays.approve(request_id, actor=who.name, note=note)
            message = f"Replay request {request_id} approved; {replay.outcome or 'executing'}."
        elif decision == "reject":
            await state.replays.reject(request_id, actor=who.name, note=note)
            message = f"Replay request {request_id} rejected; the dead letter stays in the queue."
        else:
            return render(request, "error.html", who, status_code=404, message=f"There is no decision {decision!r}.")
    except ReplayError as refusal:
        return redirect(request, f"replays/{request_id}", error=str(refusal))
    return redirect(request, f"replays/{request_id}", ok=message)


PAGE = ConsolePage("dead_letters", router, NavEntry("Dead letters", "dead-letters", 40))
