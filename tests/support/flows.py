"""Flows run by hand in tests: capture every source once, then deliver until the log is drained."""

from __future__ import annotations

from collections.abc import Sequence

from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryRunner


async def capture_and_deliver(captures: Sequence[CaptureRunner], deliveries: Sequence[DeliveryRunner]) -> int:
    """Poll each capture once, run each delivery until it fetches nothing; how many records were delivered."""
    for capture in captures:
        await capture.poll_once()
    written = 0
    for delivery in deliveries:
        while (report := await delivery.run_once(wait_s=0.05)).fetched:
            written += report.delivered
    return written
