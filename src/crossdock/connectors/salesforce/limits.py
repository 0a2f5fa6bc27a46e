"""How many calls Crossdock may still make: the org's 24-hour usage (`Sforce-Limit-Info`) and our own budget.

An org shares one rolling 24-hour allocation between every user and integration, so Crossdock (a) keeps a budget of
its own, counted in minute buckets over the last 24 hours, (b) slows down as the org's usage nears its limit and
(c) stops short of it, leaving the rest to people. A refusal is a transient `ConnectorError` with a retry hint.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from crossdock.connectors.salesforce.config import PacingSettings
from crossdock.ports.connector import ConnectorError, ErrorKind

DAY_S = 86_400.0
_BUCKET_S = 60.0
# `per-app-api-usage=...` may follow on the same header; only the org-wide figure counts here.
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """(used, limit) from `Sforce-Limit-Info: api-usage=123/15000`, or None."""
    if not header:
        return None
    match = _API_USAGE.search(header)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """The org's API usage as last reported, and Crossdock's own calls."""

    used: int | None
    limit: int | None
    calls_24h: int
    budget: int | None
    calls: int
    token_requests: int

    @property
    def share(self) -> float | None:
        """Used share of the org's allocation (0..1), if known."""
        return self.used / self.limit if self.used is not None and self.limit else None


class CallBudget:
    """Crossdock's calls to one org over the last 24 hours, against a fixed budget or a share of the org's limit."""

    def __init__(
        self, system: str, pacing: PacingSettings, *, calls: int | None, share: float | None, clock: Callable[[], float]
    ) -> None:
        self._system = system
        self._pacing = pacing
        self._fixed = calls
        self._share = share
        self._clock = clock
        self._buckets: deque[tuple[int, int]] = deque()  # (minute number, calls in it)
        self.used: int | None = None
        self.limit: int | None = None
        self._usage_at = 0.0
        self.calls = 0
        self.token_requests = 0

    @property
    def budget(self) -> int | None:
        """Calls allowed in 24 hours, if any limit applies (a share needs the org's limit reported first)."""
        if self._fixed is not None:
            return self._fixed
        if self._share is not None and self.limit:
            return max(1, int(self.limit * self._share))
        return None

    def calls_24h(self) -> int:
        """Crossdock's calls in the last 24 hours."""
        self._expire(self._clock())
        return sum(count for _, count in self._buckets)

    def admit(self) -> float:
        """Record one call about to be made and return how long to wait first; raise when none may be made."""
        now = self._clock()
        self._expire(now)
        budget = self.budget
        if budget is not None and sum(count for _, count in self._buckets) >= budget:
            oldest = self._buckets[0][0] if self._buckets else int(now // _BUCKET_S)
            wait = max(1.0, (oldest + 1) * _BUCKET_S + DAY_S - now)
            raise ConnectorError(
                ErrorKind.TRANSIENT,
                f"{self._system}: Crossdock's Salesforce call budget ({budget} calls in 24 hours) is used up; "
                f"the next call is possible in {wait:.0f} s. Raise daily_call_budget or budget_share if the org "
                f"can spare more",
                retry_after_s=wait,
            )
        share = self._org_share(now)
        if share is not None and share >= self._pacing.stop_at:
            wait = self._usage_at + self._pacing.limit_retry_s - now
            if wait > 0:
                raise ConnectorError(
                    ErrorKind.TRANSIENT,
                    f"{self._system}: the org has used {self.used} of its {self.limit} API calls for 24 hours "
                    f"({share:.0%}); Crossdock stops at {self._pacing.stop_at:.0%} to leave the rest to people",
                    retry_after_s=wait,
                )
        minute = int(now // _BUCKET_S)
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1] = (minute, self._buckets[-1][1] + 1)
        else:
            self._buckets.append((minute, 1))
        self.calls += 1
        return self._delay(share)

    def report(self, used: int, limit: int) -> None:
        """Take the org's usage from a response's `Sforce-Limit-Info`."""
        self.used, self.limit, self._usage_at = used, limit, self._clock()

    def snapshot(self) -> ApiUsage:
        """The figures for status pages and metrics."""
        return ApiUsage(self.used, self.limit, self.calls_24h(), self.budget, self.calls, self.token_requests)

    def _org_share(self, now: float) -> float | None:
        if self.used is None or not self.limit:
            return None
        # A reading older than the retry interval is stale: let one call through to learn the current usage.
        if now - self._usage_at > self._pacing.limit_retry_s:
            return None
        return self.used / self.limit

    def _delay(self, share: float | None) -> float:
        slow, stop = self._pacing.slow_down_at, self._pacing.stop_at
        if share is None or share < slow:
            return 0.0
        if stop <= slow:
            return self._pacing.max_delay_s
        return self._pacing.max_delay_s * min(1.0, (share - slow) / (stop - slow))

    def _expire(self, now: float) -> None:
        horizon = int((now - DAY_S) // _BUCKET_S)
        while self._buckets and self._buckets[0][0] <= horizon:
            self._buckets.popleft()
