"""Outbound webhooks: events from the log fanned out to the subscriptions that want them, then sent, signed per
Standard Webhooks, retried over hours, and stopped for good when a receiver answers 410 Gone.

Two halves, each safe to crash at any point:

- fan-out reads the `webhooks.out` consumer group and stores one delivery per (subscription, event), committed
  before the log is acked. Delivery ids are derived from both, so re-reading a batch after a crash enqueues nothing
  twice.
- sending takes the due deliveries, signs each attempt afresh (same `webhook-id`, new timestamp) and records the
  outcome right after it. A crash between a send and its record sends that message again with the same id, which
  receivers de-duplicate: delivery is at least once.

Order: the Standard Webhooks spec does not promise it, and neither do we. Retries would break it anyway unless one
failing message held back all later ones of its subscription for up to a day. Deliveries go out in due order,
many at once (`concurrency`), at most `per_subscription` at once to one endpoint, so a slow receiver is not
flooded and cannot take every slot. Receivers order by the payload's `timestamp`.

Which events a subscription gets: its event types (see `subscriptions.wants`) and its partner. An event concerns
the partner its `partnerid` extension names; a partner's subscription receives only events that concern it (an
event that names no partner reaches none), an internal subscription (partner None) every matching event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from crossdock.events.envelope import CloudEvent
from crossdock.ports.api import DeliveryState, SubscriptionState, WebhookDelivery, WebhookSubscription
from crossdock.ports.egress import EgressPolicy, EgressRefusedError, EgressUnresolvedError, PinnedUrl
from crossdock.ports.event_log import EventLog
from crossdock.ports.store import Store, UnitOfWork
from crossdock.webhooks.schedule import RetrySchedule, parse_retry_after
from crossdock.webhooks.signing import headers_for
from crossdock.webhooks.subscriptions import wants

logger = logging.getLogger(__name__)

GROUP = "webhooks.out"
CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0
CONCURRENCY = 32
PER_SUBSCRIPTION = 4
FETCH_LIMIT = 500
DUE_LIMIT = 100
# How long a claimed delivery is this worker's: well over one attempt (connect + send time out at 15 s), so only a
# dispatcher that died mid-send lets it come due again.
CLAIM_LEASE = timedelta(minutes=2)
_ERROR_BODY_BYTES = 300  # enough of a receiver's error page for the console; never the whole of it
_THROTTLED = frozenset({429, 503})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The dispatcher's default clock."""
    return datetime.now(UTC)


def delivery_id(subscription_id: str, event_id: str) -> str:
    """The `webhook-id` of an event's delivery to a subscription: the same however often it is enqueued."""
    digest = hashlib.sha256(f"{subscription_id}\x00{event_id}".encode()).digest()[:16]
    return "msg_" + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def webhook_payload(event: CloudEvent) -> bytes:
    """The Standard Webhooks body of an event: its type, when it happened, and its data."""
    return orjson.dumps({"type": event.type, "timestamp": event.time, "data": event.data})


@dataclass(slots=True)
class DispatchReport:
    """What one pass did; `events` were read from the log, `fanned_out` deliveries were new."""

    events: int = 0
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    disabled: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        """Everything the pass handled; 0 means idle."""
        return self.events + self.delivered + self.retried + self.failed + self.cancelled

    def add(self, other: DispatchReport) -> None:
        """Fold another report into this one."""
        for name in DispatchReport.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: int | None
    error: str | None
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDispatcher:
    """Fans events out to webhook subscriptions and sends what is due; a worker BackgroundService."""

    name = "webhooks"

    def __init__(
        self,
        log: EventLog,
        store: Store,
        http: httpx.AsyncClient,
        egress: EgressPolicy,
        *,
        consumer: str,
        clock: Clock = utc_now,
        schedule: RetrySchedule | None = None,
        concurrency: int = CONCURRENCY,
        per_subscription: int = PER_SUBSCRIPTION,
    ) -> None:
        self._log = log
        self._store = store
        self._http = http
        self._egress = egress
        self._consumer = consumer
        self._clock = clock
        self._schedule = schedule or RetrySchedule()
        self._slots = asyncio.Semaphore(concurrency)
        self._per_subscription = per_subscription
        self._timeout = httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)

    async def run_once(self) -> int:
        """One pass for the worker; how many things it handled (0: idle)."""
        return (await self.run_pass()).total

    async def run_pass(self, *, wait_s: float = 0.05) -> DispatchReport:
        """Fan out one batch from the log, then send what is due."""
        report = await self.fan_out_once(wait_s=wait_s)
        report.add(await self.deliver_due_once())
        return report

    async def fan_out_once(self, *, wait_s: float = 0.05) -> DispatchReport:
        """Enqueue deliveries for one batch of events; the batch is acked only after they are committed."""
        batch = await self._log.fetch(GROUP, self._consumer, max_events=FETCH_LIMIT, wait_s=wait_s)
        if not batch:
            return DispatchReport()
        fanned_out = await asyncio.to_thread(self._enqueue, [logged.event for logged in batch])
        await self._log.ack(GROUP, self._consumer, batch)
        return DispatchReport(events=len(batch), fanned_out=fanned_out)

    async def deliver_due_once(self, *, limit: int = DUE_LIMIT) -> DispatchReport:
        """Send the deliveries that are due, recording each outcome as soon as it is known."""
        due, subscriptions = await asyncio.to_thread(self._due, self._clock(), limit)
        report = DispatchReport()
        lanes: dict[str, list[WebhookDelivery]] = {}
        for delivery in due:
            lanes.setdefault(delivery.subscription_id, []).append(delivery)
        async with asyncio.TaskGroup() as group:
            for subscription_id, deliveries in lanes.items():
                group.create_task(self._send_lane(subscriptions.get(subscription_id), deliveries, report))
        return report

    # --- fan-out ---

    def _enqueue(self, events: Sequence[CloudEvent]) -> int:
        now = self._clock()
        with self._store.unit_of_work() as uow:
            subscriptions = uow.webhooks.list_subscriptions(active_only=True)
            deliveries = [
                WebhookDelivery(
                    id=delivery_id(subscription.id, event.id),
                    subscription_id=subscription.id,
                    event_id=event.id,
                    event_type=event.type,
                    payload=webhook_payload(event),
                    next_attempt_at=now,
                    created_at=now,
                )
                for event in events
                for subscription in subscriptions
                if self._concerns(subscription, event)
            ]
            new = uow.webhooks.enqueue(deliveries) if deliveries else 0
            uow.commit()
        return new

    def _concerns(self, subscription: WebhookSubscription, event: CloudEvent) -> bool:
        if subscription.state is not SubscriptionState.ACTIVE or not wants(subscription.event_types, event.type):
            return False
        return subscription.partner_id is None or subscription.partner_id == event.partnerid

    # --- sending ---

    def _due(self, now: datetime, limit: int) -> tuple[list[WebhookDelivery], dict[str, WebhookSubscription | None]]:
        # Claimed, not just read: another worker's dispatcher skips what this one is sending.
        with self._store.unit_of_work() as uow:
            due = uow.webhooks.claim_due(now=now, lease_until=now + CLAIM_LEASE, limit=limit)
            ids = {delivery.subscription_id for delivery in due}
            subscriptions = {subscription_id: uow.webhooks.get_subscription(subscription_id) for subscription_id in ids}
            uow.commit()
        return due, subscriptions

    async def _send_lane(
        self, subscription: WebhookSubscription | None, deliveries: list[WebhookDelivery], report: DispatchReport
    ) -> None:
        if subscription is None or subscription.state is not SubscriptionState.ACTIVE:
            reason = "its subscription was disabled or deleted before it went out"
            await asyncio.to_thread(self._settle, deliveries, DeliveryState.CANCELLED, reason)
            report.cancelled += len(deliveries)
            return
        lane = asyncio.Semaphore(self._per_subscription)
        gone = asyncio.Event()  # the receiver answered 410: what has not gone out yet stays home

        async def send(delivery: WebhookDelivery) -> None:
            async with lane, self._slots:
                if gone.is_set():
                    return  # cancelled with the rest of the subscription's pending deliveries
                signed = await self._signed_headers(subscription, delivery)
                if isinstance(signed, str):
                    await asyncio.to_thread(self._settle, [delivery], DeliveryState.FAILED, signed)
                    report.failed += 1
                    return
                if isinstance(signed, _Outcome):
                    outcome = signed
                else:
                    target, headers = signed
                    outcome = await self._attempt(target, delivery, headers)
                if outcome.status == 410:
                    gone.set()
                report.add(await asyncio.to_thread(self._record, subscription, delivery, outcome))

        async with asyncio.TaskGroup() as group:
            for delivery in deliveries:
                group.create_task(send(delivery))

    async def _signed_headers(
        self, subscription: WebhookSubscription, delivery: WebhookDelivery
    ) -> tuple[PinnedUrl, dict[str, str]] | _Outcome | str:
        """Where to send the attempt and its headers; an outcome to record when the host does not resolve now
        (retried later); or why it may not be sent (then it fails at once: no retry can fix it)."""
        # Checked again before every send, and sent to the address checked: a name that resolved to a public
        # address when the partner registered it may resolve to an internal one now.
        try:
            pinned = await asyncio.to_thread(self._egress.pin, subscription.url, owner="webhook URL")
        except EgressUnresolvedError as exc:
            return _Outcome(None, f"could not reach the receiver: {exc}")
        except EgressRefusedError as exc:
            return f"not sent: {exc}"
        try:
            return pinned, headers_for(subscription.secret, delivery.id, self._clock(), delivery.payload)
        except ValueError as exc:  # a damaged secret must not stop the other subscriptions' webhooks
            return f"not signed: {exc}; rotate the subscription's secret"

    async def _attempt(self, target: PinnedUrl, delivery: WebhookDelivery, headers: dict[str, str]) -> _Outcome:
        headers = headers | {"content-type": "application/json"}
        if target.host is not None:
            headers["host"] = target.host
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            # httpx's timeouts bound each read and write; the overall timeout bounds a receiver that trickles.
            async with (
                asyncio.timeout(TOTAL_TIMEOUT_S),
                self._http.stream(
                    "POST",
                    target.url,
                    content=delivery.payload,
                    headers=headers,
                    timeout=self._timeout,
                    follow_redirects=False,
                    extensions=extensions,
                ) as response,
            ):
                body = await _head_of(response)
        except (TimeoutError, httpx.TimeoutException):
            return _Outcome(None, f"no answer within {TOTAL_TIMEOUT_S:.0f} s (connect {CONNECT_TIMEOUT_S:.0f} s)")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _Outcome(None, f"could not reach the receiver: {type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, None)
        retry_after = None
        if response.status_code in _THROTTLED:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=self._clock())
        return _Outcome(response.status_code, _describe(response, body), retry_after)

    def _record(
        self, subscription: WebhookSubscription, delivery: WebhookDelivery, outcome: _Outcome
    ) -> DispatchReport:
        report = DispatchReport()  # counted here, added up on the event loop: threads never share a report
        now = self._clock()
        attempted = replace(
            delivery, attempts=delivery.attempts + 1, last_status=outcome.status, last_error=outcome.error
        )
        with self._store.unit_of_work() as uow:
            if outcome.ok:
                uow.webhooks.record_attempt(
                    replace(attempted, state=DeliveryState.DELIVERED, next_attempt_at=None, delivered_at=now)
                )
                report.delivered += 1
            elif outcome.status == 410:
                uow.webhooks.record_attempt(replace(attempted, state=DeliveryState.CANCELLED, next_attempt_at=None))
                report.cancelled += 1 + _cancel_pending(uow, subscription.id)
                report.disabled += _disable(uow, subscription.id, now)
            else:
                delay = self._schedule.next_delay(attempted.attempts, retry_after=outcome.retry_after)
                if delay is None:
                    uow.webhooks.record_attempt(replace(attempted, state=DeliveryState.FAILED, next_attempt_at=None))
                    report.failed += 1
                    logger.warning("webhook %s to %s failed for good: %s", delivery.id, subscription.url, outcome.error)
                else:
                    uow.webhooks.record_attempt(replace(attempted, next_attempt_at=now + delay))
                    report.retried += 1
            uow.commit()
        return report

    def _settle(self, deliveries: Sequence[WebhookDelivery], state: DeliveryState, reason: str) -> None:
        with self._store.unit_of_work() as uow:
            for delivery in deliveries:
                uow.webhooks.record_attempt(replace(delivery, state=state, next_attempt_at=None, last_error=reason))
            uow.commit()


def _disable(uow: UnitOfWork, subscription_id: str, now: datetime) -> int:
    """Disable the subscription (1), unless it already is (0)."""
    current = uow.webhooks.get_subscription(subscription_id)
    if current is None or current.state is not SubscriptionState.ACTIVE:
        return 0
    reason = "the receiver answered 410 Gone: it wants no more webhooks; register the URL again to resume"
    uow.webhooks.update_subscription(
        replace(current, state=SubscriptionState.DISABLED, disabled_reason=reason, updated_at=now)
    )
    logger.warning("webhook subscription %s disabled: %s answered 410 Gone", subscription_id, current.url)
    return 1


def _cancel_pending(uow: UnitOfWork, subscription_id: str) -> int:
    """Cancel the subscription's pending deliveries; how many."""
    cancelled: set[str] = set()
    while True:
        batch = [
            delivery
            for delivery in uow.webhooks.list_deliveries(
                subscription_id=subscription_id, state=DeliveryState.PENDING, limit=500
            )
            if delivery.id not in cancelled
        ]
        if not batch:
            return len(cancelled)
        for delivery in batch:
            uow.webhooks.record_attempt(
                replace(delivery, state=DeliveryState.CANCELLED, next_attempt_at=None, last_error="subscription gone")
            )
            cancelled.add(delivery.id)


async def _head_of(response: httpx.Response) -> bytes:
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= _ERROR_BODY_BYTES:
            break
    return head[:_ERROR_BODY_BYTES]


def _describe(response: httpx.Response, body: bytes) -> str:
    status = response.status_code
    if 300 <= status < 400:
        return (
            f"{status} redirect to {response.headers.get('location', '?')}: redirects are not followed; "
            "register the final URL instead"
        )
    text = body.decode("utf-8", "replace").strip()
    return f"{status} {response.reason_phrase}" + (f": {text}" if text else "")
