"""`POST /v1/orders` served without FastAPI's per-request machinery.

Order submission is the route partners and channels drive at volume, and on it the framework's layers (exception
middlewares, nested routers, the request object, response classes) cost more than taking the order did. This ASGI
app answers that one route with the same function the FastAPI route calls (`routes.orders.accept_order`), behind
the same `ApiMiddleware` (size limit, correlation id, rate-limit headers, metrics); the FastAPI route stays for
the OpenAPI document and for any app mounted without this shortcut. `app.CrossdockApi` dispatches to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from starlette.types import Receive, Scope, Send

from crossdock.api.context import ApiContext
from crossdock.api.problems import PROBLEM_JSON, ProblemError, internal_error
from crossdock.api.routes.orders import OrderRequest, accept_order

logger = logging.getLogger(__name__)

_IDEMPOTENCY_KEY = b"idempotency-key"


class OrderSubmissionShortcut:
    """The ASGI app of `POST /v1/orders`; `route` is the FastAPI route it stands in for (its template labels the
    request's metrics)."""

    def __init__(self, context: ApiContext, route: object) -> None:
        self.context = context
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        path: str = scope["path"]
        headers: dict[bytes, bytes] = dict(scope["headers"])
        body = await _body(receive)
        authorization = headers.get(b"authorization")
        key = headers.get(_IDEMPOTENCY_KEY)
        request = OrderRequest(
            authorization=authorization.decode("latin-1") if authorization is not None else None,
            content_type=headers.get(b"content-type", b"").decode("latin-1"),
            idempotency_key=key.decode("latin-1") if key is not None else None,
            body=body,
            path=path,
        )
        try:
            outcome = await accept_order(self.context, scope, request)
        except ProblemError as problem:
            await _answer(send, problem.status, PROBLEM_JSON, orjson.dumps(problem.document(path)), problem.headers)
            return
        except Exception:
            correlation = scope.get("state", {}).get("correlation_id", "")
            logger.exception("unexpected error answering POST %s (correlation %s)", path, correlation)
            failure = internal_error(correlation)
            await _answer(send, 500, PROBLEM_JSON, orjson.dumps(failure.document(path)), {})
            return
        stored = {name.lower(): value for name, value in outcome.headers.items()}
        content_type = stored.pop("content-type", "application/json")
        if outcome.replayed:
            stored["idempotent-replayed"] = "true"
        await _answer(send, outcome.status_code, content_type, outcome.body, stored)


async def _body(receive: Receive) -> bytes:
    """The whole request body (`ApiMiddleware` has already refused one over the size limit or without a length)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Send, status: int, content_type: str, body: bytes, headers: Mapping[str, str]) -> None:
    raw = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", content_type.encode("latin-1")),
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
