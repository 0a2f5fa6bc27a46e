"""Helpers for the webhook tests: a settable clock, events about partners, a scripted receiver for MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from crossdock.events.envelope import CloudEvent
from crossdock.webhooks.signing import verify


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def order_event(
    type_: str = "crossdock.order.shipped.v1", *, partner: str | None = None, number: str = "SO-1"
) -> CloudEvent:
    """An event about an order, concerning `partner` when given."""
    return CloudEvent(
        type=type_,
        source="crossdock/test",
        subject=f"order-{number}",
        data={"number": number},
        businesskeys={"order": number},
        partnerid=partner,
    )


@dataclass
class Received:
    """One request the receiver took, after checking its signature."""

    path: str
    webhook_id: str
    timestamp: int
    body: bytes
    content_type: str


@dataclass
class ScriptedReceiver:
    """Answers each path with its scripted answers (the last repeats; 200 if none), after verifying the request's
    signature with the path's secret."""

    clock: Callable[[], datetime]
    secrets: dict[str, str] = field(default_factory=dict)
    script: dict[str, list[int | httpx.Response | Exception]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = request.read()
        verified = verify(self.secrets[path], request.headers, body, now=self.clock())
        self.received.append(
            Received(path, verified.id, verified.timestamp, body, request.headers.get("content-type", ""))
        )
        planned = self.script.get(path, [200])
        answer = planned.pop(0) if len(planned) > 1 else planned[0]  # the last answer repeats
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else httpx.Response(answer, text="scripted")

    def on(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]
