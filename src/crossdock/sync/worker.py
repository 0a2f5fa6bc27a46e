"""The worker: runs every flow's capture loop and every (flow, target) delivery loop until told to stop.

Any worker may die at any time (kill -9 included): everything it did is either journaled and acked, or comes
again to whichever worker holds the partition next.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from crossdock.observability.meters import DELIVERY_OUTCOMES, Meters
from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryReport, DeliveryRunner

logger = logging.getLogger(__name__)


class BackgroundService(Protocol):
    """Other work a worker drives beside flows (order intake, the process engine): one pass at a time."""

    @property
    def name(self) -> str:
        """What the logs call it."""
        ...

    async def run_once(self) -> int:
        """Do what is due now; how many things it did (0: idle, the worker pauses before the next pass)."""
        ...


@dataclass(slots=True)
class WorkerStats:
    """Running totals, for status output and tests."""

    captured: int = 0
    delivered: int = 0
    unchanged: int = 0
    quarantined: int = 0
    retried: int = 0
    dead_lettered: int = 0
    delivered_by_flow: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, report: DeliveryReport, flow: str = "") -> None:
        """Fold one delivery pass into the totals."""
        self.delivered += report.delivered
        if report.delivered:
            self.delivered_by_flow[flow] += report.delivered
        self.unchanged += report.unchanged
        self.quarantined += report.quarantined
        self.retried += report.retried
        self.dead_lettered += report.dead_lettered
        self.errors.extend(report.errors[-5:])
        del self.errors[:-50]


class Worker:
    """Drives capture and delivery runners concurrently; `stop()` lets each finish its current pass."""

    def __init__(
        self,
        captures: Sequence[CaptureRunner],
        deliveries: Sequence[DeliveryRunner],
        *,
        services: Sequence[BackgroundService] = (),
        poll_interval_s: float = 1.0,
        meters: Meters | None = None,
    ) -> None:
        self._meters = meters
        self._captures = list(captures)
        self._deliveries = list(deliveries)
        self._services = list(services)
        self._poll_interval_s = poll_interval_s
        self._stopping = asyncio.Event()
        self.stats = WorkerStats()

    @property
    def captures(self) -> list[CaptureRunner]:
        """The capture runners, one per flow with a connected source."""
        return list(self._captures)

    @property
    def deliveries(self) -> list[DeliveryRunner]:
        """The delivery runners, one per (flow, target)."""
        return list(self._deliveries)

    def stop(self) -> None:
        """Ask every loop to end after its current pass."""
        self._stopping.set()

    async def run(self) -> WorkerStats:
        """Run until `stop()`; a loop that fails is logged and restarted after a pause, never left dead."""
        loops = [self._capture_loop(runner) for runner in self._captures]
        loops += [self._delivery_loop(runner) for runner in self._deliveries]
        loops += [self._service_loop(service) for service in self._services]
        if not loops:
            logger.warning("no flows configured: nothing to capture or deliver")
        await asyncio.gather(*loops)
        return self.stats

    async def run_once(self) -> WorkerStats:
        """One pass, for scripts, demos and tests: every capture until its source has nothing more, then every
        delivery until its group has nothing ready. Returns what this pass did."""
        stats = WorkerStats()
        for capture in self._captures:
            while True:
                report = await capture.poll_once()
                stats.captured += report.published
                if not report.more:
                    break
        for delivery in self._deliveries:
            while True:
                delivered = await delivery.run_once(wait_s=0.05)
                stats.add(delivered, delivery.flow.name)
                self._count(delivery, delivered)
                if delivered.fetched == 0:
                    break
        for service in self._services:
            while await service.run_once():
                pass
        return stats

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return

    async def _capture_loop(self, runner: CaptureRunner) -> None:
        while not self._stopping.is_set():
            try:
                report = await runner.poll_once()
            except Exception:  # a source outage must not stop the other flows
                logger.exception("capture for flow %s failed; retrying", runner.flow.name)
                await self._pause(self._poll_interval_s * 5)
                continue
            self.stats.captured += report.published
            if not report.more:
                await self._pause(self._poll_interval_s)

    async def _delivery_loop(self, runner: DeliveryRunner) -> None:
        while not self._stopping.is_set():
            try:
                report = await runner.run_once(wait_s=min(self._poll_interval_s, 1.0))
            except Exception:  # a target outage must not stop the other flows
                logger.exception("delivery %s → %s failed; retrying", runner.flow.name, runner.target.system)
                await self._pause(self._poll_interval_s * 5)
                continue
            self.stats.add(report, runner.flow.name)
            self._count(runner, report)

    def _count(self, runner: DeliveryRunner, report: DeliveryReport) -> None:
        if self._meters is not None:
            self._meters.delivered(
                runner.flow.name,
                runner.target.system,
                {outcome: getattr(report, outcome) for outcome in DELIVERY_OUTCOMES},
            )

    async def _service_loop(self, service: BackgroundService) -> None:
        while not self._stopping.is_set():
            try:
                done = await service.run_once()
            except Exception:  # an ERP outage inside a process must not stop the flows
                logger.exception("%s failed; retrying", service.name)
                await self._pause(self._poll_interval_s * 5)
                continue
            if not done:
                await self._pause(min(self._poll_interval_s, 0.5))
