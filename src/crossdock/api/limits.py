"""Limits on what one client can ask of the API (OWASP API4, unrestricted resource consumption).

Rate plans are token buckets per client, advertised with the `RateLimit-Policy` and `RateLimit` fields of
draft-ietf-httpapi-ratelimit-headers (the structured-field form of -07 onwards, checked against -10), plus
`Retry-After` on 429. Request bodies, pages and JSON documents are bounded too, so no single request can cost
unbounded memory or CPU.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_PLANS",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_ITEMS",
    "MAX_PAGE_SIZE",
    "RateDecision",
    "RatePlan",
    "RequestTooComplexError",
    "TokenBucketLimiter",
    "check_json_shape",
    "ratelimit_headers",
]

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: an order with a few thousand lines fits many times over
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_JSON_DEPTH = 32  # our deepest document (order > lines > line > allocations > ...) is under 10 levels
MAX_JSON_ITEMS = 10_000  # per array or object; a larger batch belongs in several requests

_PLAN_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")  # safe inside a structured-field string without escaping


@dataclass(frozen=True, slots=True)
class RatePlan:
    """A token bucket: `burst` requests at once, refilled at `requests_per_second`."""

    name: str
    requests_per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not _PLAN_NAME.fullmatch(self.name):
            raise ValueError(f"rate plan name {self.name!r} must be lower-case letters, digits, '.', '_' or '-'")
        if not (self.requests_per_second > 0 and math.isfinite(self.requests_per_second)):
            raise ValueError(f"rate plan {self.name}: requests_per_second must be a positive number")
        if self.burst < 1:
            raise ValueError(f"rate plan {self.name}: burst must be at least 1")

    @property
    def window_s(self) -> int:
        """Seconds an empty bucket takes to fill, rounded up: the `w` of the advertised policy."""
        return max(1, math.ceil(self.burst / self.requests_per_second))

    def policy_field(self) -> str:
        """The `RateLimit-Policy` value: a full bucket of `q` requests, refilled over `w` seconds.

        `q=burst;w=burst/rate` states both halves of a token bucket: a client may send `q` at once, and `q` per
        `w` seconds on average (rounding `w` up only makes the advertised rate more conservative).
        """
        return f'"{self.name}";q={self.burst};w={self.window_s}'


DEFAULT_PLANS: Mapping[str, RatePlan] = {
    plan.name: plan
    for plan in (
        RatePlan("partner", requests_per_second=50, burst=100),
        RatePlan("internal", requests_per_second=2000, burst=4000),
        # For load tests: the bucket is still taken, so a bench measures the limiter's cost too.
        RatePlan("bench", requests_per_second=1e9, burst=1_000_000_000),
    )
}


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of taking from a bucket, and what the response headers should say about it."""

    allowed: bool
    limit: int  # the bucket's size (burst)
    remaining: int  # whole requests left in the bucket after this one
    reset_s: float  # seconds until the bucket is full again
    retry_after_s: float  # seconds until this request would be allowed; 0 when it was


class TokenBucketLimiter:
    """Token buckets keyed by client id; safe to share between threads and between tasks of one event loop.

    Key buckets by the authenticated client id, never by anything a caller chooses freely (a header, a source
    address behind a proxy): memory holds at most `max_keys` buckets, and evicting the least recently used one
    resets it to full, which only matters if more than `max_keys` clients are active within one refill period.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._clock = clock
        self._max_keys = max_keys
        # key -> [tokens, last refill time]; a list, not a dataclass, because this runs on every request
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        # A thread lock held for a microsecond and never across an await, so it cannot stall an event loop.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, plan: RatePlan, cost: int = 1) -> RateDecision:
        """Take `cost` requests from `key`'s bucket if it holds them; a refused request takes nothing."""
        rate, burst = plan.requests_per_second, plan.burst
        if not 1 <= cost <= burst:
            raise ValueError(f"cost must be between 1 and the plan's burst ({burst}), not {cost}")
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = [float(burst), now]
                self._buckets[key] = bucket
                if len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                # max(): a clock that stepped back must not drain the bucket; min(): a plan that shrank caps it.
                bucket[0] = min(float(burst), bucket[0] + max(0.0, now - bucket[1]) * rate)
                bucket[1] = now
            tokens = bucket[0]
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
                bucket[0] = tokens
        return RateDecision(
            allowed=allowed,
            limit=burst,
            remaining=int(tokens),
            reset_s=(burst - tokens) / rate,
            retry_after_s=0.0 if allowed else (cost - tokens) / rate,
        )

    def forget(self, key: str) -> None:
        """Drop `key`'s bucket (a revoked client); it starts full if the key is seen again."""
        with self._lock:
            self._buckets.pop(key, None)


def ratelimit_headers(plan: RatePlan, decision: RateDecision) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` for any response, and `Retry-After` (whole seconds) when refused."""
    headers = {
        "RateLimit-Policy": plan.policy_field(),
        "RateLimit": f'"{plan.name}";r={decision.remaining};t={math.ceil(decision.reset_s)}',
    }
    if not decision.allowed:
        # Rounded up and at least 1: a client that waits exactly this long is allowed, not refused again.
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_s)))
    return headers


class RequestTooComplexError(ValueError):
    """A JSON document nested too deep or with too many items; the message says where and what is allowed."""

    def __init__(self, message: str, *, reason: str, limit: int, pointer: str) -> None:
        super().__init__(message)
        self.reason = reason  # "too_deep" or "too_many_items"
        self.limit = limit
        self.pointer = pointer  # RFC 6901 JSON Pointer to the offending array or object


_Container = dict[str, object] | list[object]


def _members(node: _Container) -> list[tuple[str | int, object]]:
    return list(node.items()) if isinstance(node, dict) else list(enumerate(node))


def _pointer_to(levels: list[list[_Container]], target: _Container) -> str:
    """The RFC 6901 JSON Pointer of `target`, a container on the last level: found by walking up through each level
    for the parent that holds it. Only a refusal pays for this, and at most one more pass over the document."""
    path: list[str | int] = []
    node = target
    for level in reversed(levels[:-1]):
        parent, key = next((p, k) for p in level for k, v in _members(p) if v is node)
        path.append(key)
        node = parent
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in reversed(path))


def check_json_shape(document: object, *, max_depth: int = MAX_JSON_DEPTH, max_items: int = MAX_JSON_ITEMS) -> None:
    """Refuse a parsed JSON document nested deeper than `max_depth` or with an array or object of more than
    `max_items` members; iterative, so a hostile 100,000-deep document cannot exhaust the stack.

    Depth counts containers: a scalar is 0, `[]` is 1, `{"a": [1]}` is 2. Parse with orjson, which itself refuses
    documents deeper than 1024, where the standard library's json recurses and can raise RecursionError.
    """
    # Level by level, holding only references to the containers of each level: no path is built per container,
    # which keeps a 1 MiB body of 300,000 empty arrays to tens of milliseconds (the pointer for an error message
    # is worked out afterwards, from the levels).
    if not isinstance(document, dict | list):
        return
    levels: list[list[_Container]] = []
    level: list[_Container] = [document]
    while level:
        levels.append(level)
        if len(levels) > max_depth:
            pointer = _pointer_to(levels, level[0])
            raise RequestTooComplexError(
                f"the JSON document is nested deeper than {max_depth} levels at {pointer}; send a flatter document",
                reason="too_deep",
                limit=max_depth,
                pointer=pointer,
            )
        deeper: list[_Container] = []
        for node in level:
            size = len(node)
            if not size:
                continue
            if size > max_items:
                pointer = _pointer_to(levels, node)
                kind = "object" if isinstance(node, dict) else "array"
                raise RequestTooComplexError(
                    f"the {kind} at {pointer or 'the top level'} has {size} members, more than the {max_items} "
                    "allowed; split it over several requests",
                    reason="too_many_items",
                    limit=max_items,
                    pointer=pointer,
                )
            deeper += [v for v in (node.values() if isinstance(node, dict) else node) if isinstance(v, dict | list)]
        level = deeper
