"""One ASGI middleware for what every response needs: the body size limit, the correlation id, the request's span
(continuing a caller's `traceparent`), the headers that dependencies decided (rate limits), deprecation notices,
and `nosniff`.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: it runs on every request, and wrapping `send` costs
almost nothing where BaseHTTPMiddleware would copy each response through a stream.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from opentelemetry.trace import INVALID_SPAN, Span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossdock.api.auth import EXTRA_HEADERS
from crossdock.api.problems import PROBLEM_JSON, TYPE_BASE
from crossdock.observability import logs, tracing

CORRELATION_HEADER = b"x-correlation-id"
TRACEPARENT_HEADER = b"traceparent"
# Scrapes and health checks come every few seconds and tell nothing about the business: no trace for them.
_UNTRACED = frozenset({"/metrics", "/healthz"})
# Correlation ids for requests that bring none: unique per process and cheap (uuid4 costs a syscall a request).
_PREFIX = uuid.uuid4().hex[:12]
_COUNTER = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Deprecation:
    """A route that still works but will go: since when it is deprecated, when it stops, and what replaces it."""

    deprecated_at: int  # unix time, for the `Deprecation: @<time>` structured field (RFC 9745)
    sunset: str  # HTTP-date (RFC 8594)
    successor: str  # the path callers should move to


class ApiMiddleware:
    """Size limit, correlation id, decided headers and deprecation notices."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        deprecation_for: Callable[[str], Deprecation | None],
        observe: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.deprecation_for = deprecation_for
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        correlation = headers.get(CORRELATION_HEADER, b"")[:100] or f"{_PREFIX}{next(_COUNTER):08x}".encode()
        correlation_id = correlation.decode("latin-1")
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        # A caller that traces its own work sends `traceparent`: the request's span continues that trace.
        caller_trace = headers.get(TRACEPARENT_HEADER)
        method = scope["method"]
        if scope["path"] in _UNTRACED:
            with logs.correlation(correlation_id):
                await self._handle(scope, receive, send, headers, correlation, INVALID_SPAN)
            return
        with (
            logs.correlation(correlation_id),
            tracing.request_span(
                method,
                traceparent=caller_trace.decode("latin-1") if caller_trace else None,
                attributes={
                    "http.request.method": method,
                    "url.path": scope["path"],
                    tracing.CORRELATION_ID: correlation_id,
                },
            ) as current,
        ):
            await self._handle(scope, receive, send, headers, correlation, current)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        correlation: bytes,
        current: Span,
    ) -> None:
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._refuse(
                scope,
                send,
                correlation,
                413,
                "body-too-large",
                "Request body too large",
                f"send at most {self.max_body_bytes} bytes; split large batches into several requests",
            )
            return
        if declared is None and b"transfer-encoding" in headers:
            # A streamed body of unknown size would have to be read before it could be refused.
            await self._refuse(
                scope,
                send,
                correlation,
                411,
                "length-required",
                "Content-Length required",
                "send the body with a Content-Length header (chunked request bodies are not accepted)",
            )
            return
        deprecation = self.deprecation_for(scope["path"])
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The route's template, not the path: an order id in a label would grow without end.
                route = getattr(scope.get("route"), "path", "unmatched")
                status = message["status"]
                if self.observe is not None:
                    self.observe(scope["method"], route, status, time.perf_counter() - started)
                if current.is_recording():
                    current.update_name(f"{scope['method']} {route}")
                    current.set_attribute("http.route", route)
                    current.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        tracing.mark_error(current, f"answered {status}")
                extra: list[tuple[bytes, bytes]] = [
                    (b"x-correlation-id", correlation),
                    (b"x-content-type-options", b"nosniff"),
                ]
                decided: dict[str, str] | None = scope.get(EXTRA_HEADERS)
                if decided:
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra += [
                        (k.lower().encode(), v.encode())
                        for k, v in decided.items()
                        if k.lower().encode() not in present
                    ]
                if deprecation is not None:
                    extra += [
                        (b"deprecation", f"@{deprecation.deprecated_at}".encode()),
                        (b"sunset", deprecation.sunset.encode()),
                        (b"link", f'<{deprecation.successor}>; rel="successor-version"'.encode()),
                    ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(
        scope: Scope, send: Send, correlation: bytes, status: int, code: str, title: str, detail: str
    ) -> None:
        body = orjson.dumps(
            {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "instance": scope["path"]}
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-correlation-id", correlation),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
