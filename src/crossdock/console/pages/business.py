"""Business views: stuck orders, unmatched accounts, orders awaiting validation, delayed invoice propagation, order
sync success rate, supplier acknowledgement latency, inventory event delay, duplicate transaction rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crossdock.console.business import business_views
from crossdock.console.pages import ConsolePage
from crossdock.console.web import NavEntry, Viewer, console_state, render, viewer

router = APIRouter()


@router.get("/business", include_in_schema=False)
async def business_page(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """All business views on one page, each with its definition."""
    state = console_state(request)
    views = await business_views(state.context, limits=state.limits)
    return render(request, "business.html", who, views=views)


PAGE = ConsolePage("business", router, NavEntry("Business", "business", 50))
