"""A clock the API tests move by hand."""

from __future__ import annotations

import pytest


class FakeClock:
    """Seconds that pass only when a test says so; callable like `time.time` or `time.monotonic`."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass (negative: the clock steps back)."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock per test."""
    return FakeClock()
