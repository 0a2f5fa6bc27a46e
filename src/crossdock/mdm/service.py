"""Master data as the composition root wires it, and the worker service that finishes decisions a crash cut short."""

from __future__ import annotations

import time
from dataclasses import dataclass

from crossdock.mdm.edi_buyers import BuyerScreen
from crossdock.mdm.golden import GoldenKeeper
from crossdock.mdm.online import CustomerGate
from crossdock.mdm.release import EventsRelease
from crossdock.mdm.stewardship import StewardshipService
from crossdock.mdm.store_index import MatchKeys

RESUME_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class MasterData:
    """The customer master-data parts, wired: index, golden records, gate, stewardship, EDI buyers."""

    keys: MatchKeys
    keeper: GoldenKeeper
    gate: CustomerGate
    stewardship: StewardshipService
    release: EventsRelease
    buyers: BuyerScreen


class MdmService:
    """A worker service: every minute, lets through what decided cases still hold and carries merges not carried
    yet (both normally happen at once, when a steward decides; this catches a crash in between)."""

    name = "mdm"

    def __init__(self, stewardship: StewardshipService, *, every_s: float = RESUME_EVERY_S) -> None:
        self._stewardship = stewardship
        self._every_s = every_s
        self._next = 0.0

    async def run_once(self) -> int:
        """Resume what is due; 0 when idle (so the worker pauses)."""
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + self._every_s
        await self._stewardship.resume()
        return 0  # resumed work is retried on the next round, never in a tight loop
