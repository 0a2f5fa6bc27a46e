"""The audit trail: every console action, newest first, filterable by record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crossdock.console.pages import ConsolePage
from crossdock.console.web import NavEntry, Viewer, console_state, render, viewer

router = APIRouter()


@router.get("/audit", include_in_schema=False)
async def audit_page(
    request: Request, who: Annotated[Viewer, Depends(viewer)], kind: str = "", target: str = ""
) -> Response:
    """The trail."""
    state = console_state(request)
    entries = await state.context.read(
        lambda uow: uow.console.audit(target_kind=kind or None, target_id=target or None, limit=500)
    )
    return render(request, "audit.html", who, entries=entries, kind=kind, target=target)


PAGE = ConsolePage("audit", router, NavEntry("Audit trail", "audit", 90))
