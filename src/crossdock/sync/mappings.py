"""How flows reach the mapping engine: a record mapper per (system, entity, direction), or None for identity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

RecordMapper = Callable[[dict[str, Any]], dict[str, Any]]


class RecordMappingError(ValueError):
    """A record could not be mapped; the message names the spec location and the field."""


class Mappings(Protocol):
    """Looks up compiled mappings; a system that already speaks the canonical shape has none."""

    def inbound(self, system: str, entity: str) -> RecordMapper | None:
        """System shape → canonical, or None when the system's records are canonical already."""
        ...

    def outbound(self, system: str, entity: str) -> RecordMapper | None:
        """Canonical → system shape, or None when the system takes canonical records."""
        ...


class NoMappings:
    """Every system speaks the canonical shape (tests, and canonical feeds such as our own API)."""

    def inbound(self, system: str, entity: str) -> RecordMapper | None:
        """No mapping."""
        return None

    def outbound(self, system: str, entity: str) -> RecordMapper | None:
        """No mapping."""
        return None
