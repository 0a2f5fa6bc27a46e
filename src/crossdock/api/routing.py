"""The route class every `/v1` router uses: a JSON body is checked for depth and size before it is parsed into a
model, so a hostile document (100,000 nested arrays, a million-item list) is refused cheaply with a 422 problem
instead of costing the parser or the validator its time (OWASP API4, unrestricted resource consumption)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from crossdock.api.limits import RequestTooComplexError, check_json_shape
from crossdock.api.problems import invalid

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class GuardedRoute(APIRoute):
    """An APIRoute whose JSON bodies pass `check_json_shape` first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the shape check."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if request.method in _WITH_BODY and request.headers.get("content-type", "").startswith("application/json"):
                body = await request.body()
                try:
                    document = orjson.loads(body) if body else None
                except orjson.JSONDecodeError as error:
                    if "depth limit" in str(error) or "recursion" in str(error).lower():  # orjson stops at 1,024
                        raise invalid(
                            "the JSON document is nested deeper than 1024 levels; send a flatter document",
                            [{"pointer": "", "detail": "too_deep"}],
                        ) from None
                    document = None  # FastAPI answers malformed JSON with its own 422
                try:
                    check_json_shape(document)
                except RequestTooComplexError as refused:
                    raise invalid(str(refused), [{"pointer": refused.pointer, "detail": refused.reason}]) from None
            return await handler(request)

        return guarded
