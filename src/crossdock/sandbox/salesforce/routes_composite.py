"""`POST composite`: up to 25 subrequests in one call, later ones referring to earlier results as `@{ref.path}`.

Subrequests run through the same app (routes, errors, shapes) in one unit of work: one API call, one transaction.
With `allOrNone`, any failed subrequest rolls everything back and the other subrequests answer PROCESSING_HALTED.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from fastapi import APIRouter, Request, Response
from starlette.types import Message, Scope

from crossdock.sandbox.salesforce.web import CONTEXT_KEY, bad_request, call_of, org_of, read_json, sf_json

router = APIRouter(prefix="/services/data/v{version}")
MAX_SUBREQUESTS = 25
SUBREQUEST_KEY = "crossdock.salesforce.subrequest"
_REFERENCE = re.compile(r"@\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _UnresolvedReferenceError(Exception):
    """A reference to a result that does not exist (or has no such path)."""


def _lookup(results: dict[str, Any], reference: str, path: str) -> Any:
    if reference not in results:
        raise _UnresolvedReferenceError(reference)
    value = results[reference]
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = step
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            raise _UnresolvedReferenceError(reference + path) from None
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(results, whole[1], whole[2])
        return _REFERENCE.sub(lambda match: str(_lookup(results, match[1], match[2])), value)
    if isinstance(value, list):
        return [_substitute(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, results) for key, item in value.items()}
    return value


async def _dispatch(request: Request, method: str, url: str, body: Any) -> tuple[int, dict[str, str], Any]:
    """Run one subrequest through the whole app, inside the composite call's context."""
    parts = urlsplit(url)
    payload = orjson.dumps(body) if body is not None else b""
    headers = [(b"content-type", b"application/json")] + [
        (name, value) for name, value in request.scope["headers"] if name in {b"authorization", b"sforce-call-options"}
    ]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": request.scope.get("scheme", "http"),
        "server": request.scope.get("server"),
        "client": request.scope.get("client"),
        "root_path": "",
        "path": unquote(parts.path),
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": headers,
        SUBREQUEST_KEY: True,
        CONTEXT_KEY: request.scope[CONTEXT_KEY],
    }
    inbox: list[Message] = [{"type": "http.request", "body": payload, "more_body": False}]
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                response_headers[name.decode().lower()] = value.decode()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    raw = b"".join(chunks)
    return status, response_headers, orjson.loads(raw) if raw else None


def _failed(status: int, body: Any) -> bool:
    # A collection answers 200 even when records failed; under allOrNone that is a failure too.
    return status >= 400 or (
        isinstance(body, list) and any(isinstance(item, dict) and item.get("success") is False for item in body)
    )


@router.post("/composite")
async def composite(request: Request) -> Response:
    """Run the subrequests in order and answer `{"compositeResponse": [...]}`."""
    org = org_of(request)
    body = await read_json(request)
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise bad_request("JSON_PARSER_ERROR", 'The request body must have a non-empty "compositeRequest" list')
    if len(subrequests) > MAX_SUBREQUESTS:
        raise bad_request(
            "LIMIT_EXCEEDED",
            f"Exceeded max limit of subrequests allowed. Max allowed subrequests is {MAX_SUBREQUESTS}.",
        )
    seen: set[str] = set()
    for sub in subrequests:
        reference = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(reference, str) or not _REFERENCE_ID.fullmatch(reference) or reference in seen:
            raise bad_request(
                "INVALID_INPUT",
                f"Each subrequest needs a unique referenceId of letters, digits and underscores (got {reference!r})",
            )
        seen.add(reference)
    all_or_none = bool(body.get("allOrNone", False))
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    failed_at: int | None = None
    with org.composite_unit() as unit:
        for index, sub in enumerate(subrequests):
            reference = sub["referenceId"]
            if failed_at is not None and all_or_none:
                responses.append(_halted(reference))
                continue
            status, _, answer = await _run_one(request, sub, results)
            if status < 400:
                results[reference] = answer
            response_headers = {}
            if status == 201 and isinstance(answer, dict) and "id" in answer:
                path = urlsplit(str(sub.get("url"))).path.rstrip("/")
                response_headers["Location"] = f"{path}/{answer['id']}"
            responses.append(
                {"body": answer, "httpHeaders": response_headers, "httpStatusCode": status, "referenceId": reference}
            )
            if _failed(status, answer) and failed_at is None:
                failed_at = index
        if failed_at is not None and all_or_none:
            responses = [
                item if index == failed_at else _halted(item["referenceId"]) for index, item in enumerate(responses)
            ]
        else:
            org.commit(unit, call_of(request).actor)
    return sf_json({"compositeResponse": responses})


async def _run_one(request: Request, sub: dict[str, Any], results: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    url = sub.get("url")
    method = str(sub.get("method", "GET")).upper()
    try:
        url = _substitute(url, results)
        payload = _substitute(sub.get("body"), results)
    except _UnresolvedReferenceError as missing:
        return (
            400,
            {},
            [
                {
                    "errorCode": "PROCESSING_HALTED",
                    "message": f"Invalid reference specified. No value for "
                    f"{missing} found in {sub['referenceId']}. Provided referenceId must be the id of a "
                    f"previous successful subrequest.",
                }
            ],
        )
    if not isinstance(url, str) or not url.startswith("/services/data/v"):
        return (
            400,
            {},
            [
                {
                    "errorCode": "INVALID_API_INPUT",
                    "message": f"Invalid subrequest url: {url!r}; it must start with /services/data/vXX.X/",
                }
            ],
        )
    if urlsplit(url).path.rstrip("/").endswith("/composite"):
        return (
            400,
            {},
            [
                {
                    "errorCode": "INVALID_API_INPUT",
                    "message": "A composite request cannot contain another composite request",
                }
            ],
        )
    return await _dispatch(request, method, url, payload)


def _halted(reference: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference,
    }
