"""The low-level JetStream traffic of the NATS EventLog: one reply inbox, API calls, pull requests and ack subjects.

Every reply the log waits for (PubAcks, API answers) arrives on one wildcard inbox subscription and is routed by its
last token, so a batch of 500 pipelined publishes costs 500 small dict entries, not 500 subscriptions. Pulled
messages need a subscription per consumer (`PullChannel`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from crossdock.ports.event_log import EventLogError

STATUS = "Status"
ERR_NOT_FOUND = (10014, 10037, 10057, 10059)  # consumer, message, message (delete), stream not found
ERR_WRONG_LAST_SEQUENCE = (10071, 10164)
ERR_ATOMIC_DISABLED = 10174
ERR_ATOMIC_INCOMPLETE = 10176
ERR_ATOMIC_TOO_LARGE = 10199
ERR_ATOMIC_DUPLICATE = 10201
ERR_DUPLICATE_IN_PROCESS = 10158
ERR_ATOMIC_INFLIGHT = 10210


class JetStreamError(EventLogError):
    """A JetStream API error, with the server's error code (`err_code`) to branch on."""

    def __init__(self, description: str, *, code: int = 0, err_code: int = 0) -> None:
        super().__init__(f"NATS JetStream: {description} (code {code}, err_code {err_code})")
        self.code = code
        self.err_code = err_code


def has_err_code(error: BaseException, codes: int | tuple[int, ...]) -> bool:
    """True when a JetStream error (ours or nats-py's) has one of these error codes."""
    wanted = (codes,) if isinstance(codes, int) else codes
    return getattr(error, "err_code", None) in wanted


def parse_api_reply(msg: Msg) -> dict[str, Any]:
    """The JSON body of an API reply or PubAck; raise JetStreamError for an error or a bare status (503)."""
    status = msg.headers.get(STATUS) if msg.headers else None
    if status and not msg.data:
        if status == "503":
            raise JetStreamError("no stream answers on this subject; did the stream get deleted?", code=503)
        raise JetStreamError(f"status {status}", code=int(status))
    body = orjson.loads(msg.data)
    if not isinstance(body, dict):
        raise JetStreamError(f"unexpected reply {msg.data[:200]!r}")
    error = body.get("error")
    if error:
        raise JetStreamError(
            str(error.get("description", error)), code=int(error.get("code", 0)), err_code=int(error.get("err_code", 0))
        )
    return body


def ack_sequences(reply: str) -> tuple[int, int]:
    """(stream sequence, delivery sequence) from a JetStream ack subject, v1 or v2 (domain, account hash) layout."""
    tokens = reply.split(".")
    base = 2 if len(tokens) == 9 else 4
    try:
        return int(tokens[base + 3]), int(tokens[base + 4])
    except (IndexError, ValueError) as exc:
        raise JetStreamError(f"unexpected ack subject {reply!r}") from exc


@dataclass(eq=False, slots=True)
class Pull:
    """One pull request to a consumer: over when the batch is filled or the server sends a status."""

    batch: int
    received: int = 0
    status: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def finish(self, status: str | None = None) -> None:
        """Mark the request over (batch filled, no more messages, expired, or given up)."""
        if status is not None:
            self.status = status
        self.done.set()


class PullChannel:
    """Where one consumer's pulled messages arrive, one pull at a time.

    Deliveries keep their stream subject (only the closing status comes on the inbox subject), so a channel is a
    subscription of its own rather than a token on the shared inbox. Closing it drops anything still on the way.
    """

    def __init__(self, nc: Client, on_message: Callable[[Pull, Msg], None]) -> None:
        self._nc = nc
        self._on_message = on_message
        self.inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._current: Pull | None = None

    async def open(self) -> PullChannel:
        """Subscribe; returns self."""
        self._sub = await self._nc.subscribe(self.inbox, cb=self._deliver)
        return self

    async def pull(self, stream: str, consumer: str, pull: Pull, *, expires_s: float | None = None) -> None:
        """Ask for up to `pull.batch` messages; with `expires_s`, wait that long for the first (no_wait semantics)."""
        self._current = pull
        body: dict[str, Any] = {"batch": pull.batch, "no_wait": True}
        if expires_s is not None:
            body["expires"] = int(expires_s * 1e9)
        await self._nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", orjson.dumps(body), reply=self.inbox)

    async def _deliver(self, msg: Msg) -> None:
        if self._current is not None:
            self._on_message(self._current, msg)

    async def close(self) -> None:
        """Unsubscribe; late deliveries are dropped."""
        sub, self._sub = self._sub, None
        if self._current is not None:
            self._current.finish("closed")
        self._current = None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()


def pull_status(msg: Msg) -> str | None:
    """The status of a pull's control message (404 no messages, 408 expired, 409 ...), None for a delivery."""
    if msg.reply or not msg.headers:
        return None
    return msg.headers.get(STATUS)


class ReplyRouter:
    """One wildcard inbox subscription that hands each reply to whoever asked for it."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._prefix = nc.new_inbox()
        self._tokens = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Msg]] = {}

    async def start(self) -> None:
        """Subscribe to the inbox; call once after connecting."""
        await self._nc.subscribe(f"{self._prefix}.*", cb=self._dispatch)

    def expect(self) -> tuple[str, asyncio.Future[Msg]]:
        """A reply subject and the future its first message resolves."""
        token = str(next(self._tokens))
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        future.add_done_callback(lambda _: self._waiting.pop(token, None))
        return f"{self._prefix}.{token}", future

    async def request(
        self, subject: str, payload: bytes, limit_s: float, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A JetStream API call or publish: send, wait for the reply, raise JetStreamError on an error reply."""
        reply, future = self.expect()
        await self._nc.publish(subject, payload, reply=reply, headers=headers)
        try:
            msg = await asyncio.wait_for(future, limit_s)
        except TimeoutError as exc:
            raise EventLogError(f"NATS did not answer {subject} within {limit_s}s; is the server up?") from exc
        return parse_api_reply(msg)

    async def ack_sync(self, ack_subject: str, limit_s: float) -> None:
        """Ack a delivery and wait until the server has applied it (so lag and other consumers see it)."""
        reply, future = self.expect()
        await self._nc.publish(ack_subject, b"+ACK", reply=reply)
        try:
            await asyncio.wait_for(future, limit_s)
        except TimeoutError as exc:
            raise EventLogError(
                f"NATS did not confirm an ack within {limit_s}s; the events will come again (at least once)"
            ) from exc

    async def _dispatch(self, msg: Msg) -> None:
        token = msg.subject[len(self._prefix) + 1 :]
        future = self._waiting.get(token)
        if future is not None and not future.done():
            future.set_result(msg)


def nanos(seconds: float) -> int:
    """Seconds as the nanoseconds JetStream configs use."""
    return int(seconds * 1e9)


class JetStreamApi:
    """The JetStream management calls the log needs, as plain JSON (works with nats-server 2.9 and newer)."""

    def __init__(self, router: ReplyRouter, timeout_s: float) -> None:
        self._router = router
        self._timeout_s = timeout_s

    async def call(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One `$JS.API.*` request."""
        payload = orjson.dumps(body) if body is not None else b""
        return await self._router.request(f"$JS.API.{subject}", payload, self._timeout_s)

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """Publish to a stream and wait for its PubAck."""
        return await self._router.request(subject, payload, self._timeout_s, headers)

    async def stream_info(self, stream: str, subjects_filter: str | None = None) -> dict[str, Any] | None:
        """Stream info (with per-subject counts for `subjects_filter`), or None when the stream does not exist."""
        body = {"subjects_filter": subjects_filter} if subjects_filter else None
        try:
            return await self.call(f"STREAM.INFO.{stream}", body)
        except JetStreamError as exc:
            if has_err_code(exc, ERR_NOT_FOUND):
                return None
            raise

    async def subject_counts(self, stream: str, subjects_filter: str) -> dict[str, int]:
        """Messages per subject matching the filter."""
        info = await self.stream_info(stream, subjects_filter)
        if info is None:
            return {}
        subjects: dict[str, int] = info.get("state", {}).get("subjects") or {}
        return subjects

    async def ensure_stream(self, config: dict[str, Any]) -> dict[str, Any]:
        """The stream's info, creating it with `config` if it does not exist."""
        info = await self.stream_info(config["name"])
        if info is None:
            try:
                info = await self.call(f"STREAM.CREATE.{config['name']}", config)
            except JetStreamError as exc:
                # Another process created it first: use theirs.
                info = await self.stream_info(config["name"])
                if info is None:
                    raise exc from None
        return info

    async def consumer_info(self, stream: str, consumer: str) -> dict[str, Any] | None:
        """Consumer info, or None when it does not exist."""
        try:
            return await self.call(f"CONSUMER.INFO.{stream}.{consumer}")
        except JetStreamError as exc:
            if has_err_code(exc, ERR_NOT_FOUND):
                return None
            raise

    async def add_consumer(self, stream: str, config: dict[str, Any]) -> dict[str, Any]:
        """Create a consumer; durable when the config names it."""
        name = config.get("name")
        subject = f"CONSUMER.CREATE.{stream}"
        if name:
            subject = f"{subject}.{name}"
            if config.get("filter_subject"):
                subject = f"{subject}.{config['filter_subject']}"
        return await self.call(subject, {"stream_name": stream, "config": config})

    async def delete_consumer(self, stream: str, consumer: str) -> None:
        """Delete a consumer; a missing one is fine."""
        try:
            await self.call(f"CONSUMER.DELETE.{stream}.{consumer}")
        except JetStreamError as exc:
            if not has_err_code(exc, ERR_NOT_FOUND):
                raise

    async def reset_consumer(self, stream: str, consumer: str, seq: int) -> int:
        """Reposition a consumer (nats-server 2.14+): next delivery at `seq`, or above the ack floor for 0."""
        reply = await self.call(f"CONSUMER.RESET.{stream}.{consumer}", {"seq": seq} if seq else None)
        return int(reply["reset_seq"])

    async def list_consumers(self, stream: str) -> list[dict[str, Any]]:
        """Every consumer of a stream (the API pages by 256)."""
        found: list[dict[str, Any]] = []
        while True:
            page = await self.call(f"CONSUMER.LIST.{stream}", {"offset": len(found)})
            consumers = page.get("consumers") or []
            found.extend(consumers)
            if not consumers or len(found) >= int(page.get("total", 0)):
                return found

    async def delete_msg(self, stream: str, seq: int) -> bool:
        """Remove one message (no erase); False when it is already gone."""
        try:
            await self.call(f"STREAM.MSG.DELETE.{stream}", {"seq": seq, "no_erase": True})
        except JetStreamError as exc:
            if has_err_code(exc, ERR_NOT_FOUND):
                return False
            raise
        return True

    async def get_msg(
        self, stream: str, *, seq: int | None = None, last_by_subj: str | None = None, next_by_subj: str | None = None
    ) -> StoredMsg | None:
        """A stored message: by sequence, the last on a subject, or the first on a subject from `seq` on."""
        body: dict[str, Any] = {}
        if seq is not None:
            body["seq"] = seq
        if last_by_subj is not None:
            body["last_by_subj"] = last_by_subj
        if next_by_subj is not None:
            body["next_by_subj"] = next_by_subj
        try:
            reply = await self.call(f"STREAM.MSG.GET.{stream}", body)
        except JetStreamError as exc:
            if has_err_code(exc, ERR_NOT_FOUND):
                return None
            raise
        message = reply["message"]
        data = base64.b64decode(message.get("data") or b"")
        return StoredMsg(int(message["seq"]), message["subject"], data)


@dataclass(frozen=True, slots=True)
class StoredMsg:
    """A message as the stream stores it."""

    seq: int
    subject: str
    data: bytes


async def scan(
    api: JetStreamApi,
    nc: Client,
    stream: str,
    subject: str,
    *,
    limit: int,
    start_seq: int = 1,
    start_time: datetime | None = None,
    timeout_s: float = 10.0,
) -> list[StoredMsg]:
    """Up to `limit` messages on `subject` from a sequence (or a time) on, in stream order (ephemeral consumer)."""
    if limit <= 0:
        return []
    config: dict[str, Any] = {
        "ack_policy": "none",
        "filter_subject": subject,
        "inactive_threshold": nanos(30),
        "mem_storage": True,
        "num_replicas": 1,
        "deliver_policy": "all",
    }
    if start_time is not None:
        config["deliver_policy"] = "by_start_time"
        config["opt_start_time"] = start_time.astimezone(UTC).isoformat()
    elif start_seq > 1:
        config["deliver_policy"] = "by_start_sequence"
        config["opt_start_seq"] = start_seq
    name = (await api.add_consumer(stream, config))["name"]
    found: list[StoredMsg] = []

    def collect(pull: Pull, msg: Msg) -> None:
        status = pull_status(msg)
        if status is not None:
            if status != "100":
                pull.finish(status)
            return
        found.append(StoredMsg(ack_sequences(msg.reply)[0], msg.subject, msg.data))
        pull.received += 1
        if pull.received >= pull.batch:
            pull.finish()

    pull = Pull(limit)
    channel = await PullChannel(nc, collect).open()
    try:
        await channel.pull(stream, name, pull)
        await asyncio.wait_for(pull.done.wait(), timeout_s)
    except TimeoutError as exc:
        raise EventLogError(f"NATS did not deliver a read of {stream} within {timeout_s}s") from exc
    finally:
        await channel.close()
        await api.delete_consumer(stream, name)
    return found
