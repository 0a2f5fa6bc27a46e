"""Lineage: search by order number, customer, PO, invoice, canonical or correlation id, and see one timeline
across systems, with the documents behind each hop redacted."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from crossdock.console.pages import ConsolePage
from crossdock.console.web import NavEntry, Viewer, blocking, console_state, render, viewer
from crossdock.orders.trace import Trace

router = APIRouter()
_KINDS = {
    "lineage": "hop",
    "process": "process step",
    "event": "event",
    "api": "API call",
    "edi": "EDI file",
    "exception": "exception",
}


def _shown(document: Any, redact: Any) -> str | None:
    """A row's document as the page shows it: redacted, JSON pretty-printed (EDI files as text)."""
    if document in (None, {}, []):
        return None
    if isinstance(document, str):
        return str(redact.text(document))
    return orjson.dumps(redact.document(document), option=orjson.OPT_INDENT_2, default=str).decode()


@router.get("/lineage", include_in_schema=False)
async def lineage_page(request: Request, who: Annotated[Viewer, Depends(viewer)], q: str = "") -> Response:
    """The search form and, for a key, its timeline."""
    state = console_state(request)
    found: Trace | None = None
    rows: list[dict[str, Any]] = []
    if q.strip():
        found = await blocking(state.context.tracer.trace, q.strip()[:200])
        redact = state.context.redactor
        rows = [
            {
                "at": row.at,
                "system": row.system,
                "step": row.step,
                "outcome": row.outcome,
                "detail": redact.text(row.detail),
                "kind": _KINDS.get(row.kind, row.kind),
                "css": row.kind,
                "ref": row.ref,
                "document": _shown(row.document, redact),
            }
            for row in found.rows
        ]
    systems = sorted({row["system"] for row in rows})
    return render(request, "lineage.html", who, q=q, trace=found, rows=rows, systems=systems)


PAGE = ConsolePage("lineage", router, NavEntry("Lineage", "lineage", 20))
