"""When a failed webhook delivery is tried again: a schedule over hours, with jitter, that a receiver's
`Retry-After` may lengthen but never shorten.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# After the immediate first attempt, like Svix and the Standard Webhooks example: 8 attempts over about 28 hours.
DEFAULT_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delays after each failed attempt; `jitter` spreads retries by up to that fraction either way so that a
    receiver coming back up is not hit by every retry at the same second."""

    delays: tuple[timedelta, ...] = DEFAULT_DELAYS
    jitter: float = 0.1
    # A receiver's Retry-After is honoured up to this; beyond, the next attempt comes anyway.
    max_retry_after: timedelta = timedelta(hours=6)
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    @property
    def max_attempts(self) -> int:
        """Attempts in all, the first included."""
        return len(self.delays) + 1

    def next_delay(self, attempts: int, *, retry_after: timedelta | None = None) -> timedelta | None:
        """The wait after `attempts` failed attempts, or None when that was the last one."""
        if attempts < 1 or attempts > len(self.delays):
            return None
        delay = self.delays[attempts - 1]
        if self.jitter:
            delay *= 1 + self.rng.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a wait from `now`; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return timedelta(seconds=int(value) if len(value) <= 9 else 10**9)  # capped by the schedule anyway
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
