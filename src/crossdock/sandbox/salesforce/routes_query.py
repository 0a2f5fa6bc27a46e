"""`query` and `queryAll` with SOQL, and their next-page locators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.web import org_of, sf_json

router = APIRouter(prefix="/services/data/v{version}")
DEFAULT_BATCH_SIZE = 2000


def batch_size(request: Request) -> int:
    """`Sforce-Query-Options: batchSize=N`, kept between 200 and 2000 as Salesforce does."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), 200), DEFAULT_BATCH_SIZE)
    return DEFAULT_BATCH_SIZE


@router.get("/query")
@router.get("/query/")
async def query(request: Request, version: str) -> Response:
    """Run a SOQL query (live records only)."""
    body = org_of(request).queries.run(
        request.query_params.get("q", ""),
        version=version,
        batch_size=batch_size(request),
        include_deleted=False,
        resource="query",
    )
    return sf_json(body)


@router.get("/queryAll")
@router.get("/queryAll/")
async def query_all(request: Request, version: str) -> Response:
    """Run a SOQL query including deleted records (`IsDeleted = true` tombstones)."""
    body = org_of(request).queries.run(
        request.query_params.get("q", ""),
        version=version,
        batch_size=batch_size(request),
        include_deleted=True,
        resource="queryAll",
    )
    return sf_json(body)


@router.get("/query/{locator}")
@router.get("/queryAll/{locator}")
async def query_more(request: Request, locator: str, version: str) -> Response:
    """The next page of a query: `<locator>-<offset>` from `nextRecordsUrl`."""
    return sf_json(org_of(request).queries.more(locator, version=version))
