"""Retry policy per flow target: exponential backoff with full jitter, then dead-letter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried before it goes to the dead-letter queue."""

    max_attempts: int = 8
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    multiplier: float = 2.0
    jitter: float = 1.0  # 0: exact exponential delays; 1: "full jitter", anywhere from 0 to the exponential delay

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`, after attempt `attempt` failed."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** max(attempt - 1, 0))
        # Full jitter spreads retries of many failed deliveries so they do not hit a recovering system together.
        low = ceiling * (1.0 - self.jitter)
        return low + (rng or random).random() * (ceiling - low)
