"""Overview: flows (throughput, error rate, lag, latency), systems (up, circuit, API budget), SLA breaches, and the
charts of the window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crossdock.console.charts import bar_chart, line_chart
from crossdock.console.dashboards import overview
from crossdock.console.pages import ConsolePage
from crossdock.console.web import NavEntry, Viewer, console_state, render, viewer

router = APIRouter()


@router.get("/", include_in_schema=False)
async def overview_page(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """The console's front page."""
    state = console_state(request)
    figures = await overview(state.context, state.sampler)
    start, end = figures.window.start, figures.window.end
    charts = {
        "throughput": line_chart("Deliveries per interval, by flow", figures.throughput, start=start, end=end),
        "latency": line_chart("Capture → delivery, p95 per interval", figures.latency, unit=" s", start=start, end=end),
        "lag": line_chart("Events waiting per consumer group (sampled)", figures.lag, start=start, end=end),
        "exceptions": bar_chart("Exceptions raised per interval", figures.exceptions, series=3),
    }
    return render(request, "overview.html", who, o=figures, charts=charts)


PAGE = ConsolePage("overview", router, NavEntry("Overview", "", 10))
