"""The retry schedule: over hours, jittered, lengthened (never shortened) by a receiver's Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from crossdock.webhooks.schedule import DEFAULT_DELAYS, RetrySchedule, parse_retry_after

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_the_default_schedule_spans_more_than_a_day_in_eight_attempts() -> None:
    schedule = RetrySchedule(jitter=0)
    delays = [schedule.next_delay(attempt) for attempt in range(1, schedule.max_attempts)]
    assert delays == list(DEFAULT_DELAYS)
    assert schedule.max_attempts == 8
    assert timedelta(hours=27) < sum(DEFAULT_DELAYS, timedelta()) < timedelta(hours=28)
    assert schedule.next_delay(schedule.max_attempts) is None


def test_jitter_stays_within_its_fraction() -> None:
    schedule = RetrySchedule(jitter=0.1, rng=random.Random(7))
    for _ in range(200):
        delay = schedule.next_delay(4)
        assert delay is not None
        assert timedelta(hours=1.8) <= delay <= timedelta(hours=2.2)


def test_retry_after_lengthens_the_wait_up_to_a_bound_but_never_shortens_it() -> None:
    schedule = RetrySchedule(jitter=0, max_retry_after=timedelta(hours=1))
    assert schedule.next_delay(1, retry_after=timedelta(seconds=120)) == timedelta(seconds=120)
    assert schedule.next_delay(3, retry_after=timedelta(seconds=1)) == timedelta(minutes=30)
    assert schedule.next_delay(1, retry_after=timedelta(days=3)) == timedelta(hours=1)
    assert schedule.next_delay(8, retry_after=timedelta(seconds=1)) is None


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("120", now=NOW) == timedelta(seconds=120)
    assert parse_retry_after(" 7 ", now=NOW) == timedelta(seconds=7)
    assert parse_retry_after("Sat, 01 Mar 2025 12:10:00 GMT", now=NOW) == timedelta(minutes=10)
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=NOW) == timedelta(0)
    assert parse_retry_after("99999999999999", now=NOW) is not None
    for unreadable in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(unreadable, now=NOW) is None
