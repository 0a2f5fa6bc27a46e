"""The console's pages: each module has a `router` and a `PAGE` that says where it sits in the navigation.

The registry is this tuple and nothing else (no import-time side effects, nothing for tests to undo). To add a
page, for example master-data stewardship: write `pages/stewardship.py` with

    router = APIRouter()

    @router.get("/stewardship", include_in_schema=False)
    async def stewardship(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
        return render(request, "stewardship.html", who, ...)

    PAGE = ConsolePage("stewardship", router, NavEntry("Stewardship", "stewardship", 60))

and a template `templates/stewardship.html` that extends `base.html`, then add `stewardship.PAGE` to
`default_pages()` below. Forms post back with `{{ csrf }}` in a `csrf_token` field and read it with `web.form`;
actions record themselves with `audit.record` in the unit of work that does them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from crossdock.console.web import NavEntry


@dataclass(frozen=True, slots=True)
class ConsolePage:
    """A page module's routes and its navigation entry (None: reachable by link only)."""

    name: str
    router: APIRouter
    nav: NavEntry | None = None


def default_pages() -> tuple[ConsolePage, ...]:
    """The pages `crossdock serve` mounts, in navigation order."""
    from crossdock.console.pages import audit, business, dead_letters, exceptions, lineage, overview, processes

    return (
        overview.PAGE,
        lineage.PAGE,
        exceptions.PAGE,
        dead_letters.PAGE,
        processes.PAGE,
        business.PAGE,
        # stewardship.PAGE goes here (master data: merges and match decisions), order 60.
        audit.PAGE,
    )
