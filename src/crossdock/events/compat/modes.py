"""What a compatibility check is asked and answers: the registry's modes, the directions each checks, one
incompatibility found, and the error for a schema the checker cannot read."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class InvalidSchemaError(ValueError):
    """A schema the checker cannot read (for example a $ref that points nowhere)."""


class CompatibilityMode(enum.StrEnum):
    """Which evolution a subject allows, as in Confluent's schema registry."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        """Whether a new version is checked against every earlier version, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The directions this mode checks."""
        base = self.value.removesuffix("_TRANSITIVE")
        if base == "BACKWARD":
            return (Direction.BACKWARD,)
        if base == "FORWARD":
            return (Direction.FORWARD,)
        if base == "FULL":
            return (Direction.BACKWARD, Direction.FORWARD)
        return ()


class Direction(enum.StrEnum):
    """BACKWARD: old data, new reader. FORWARD: new data, old reader."""

    BACKWARD = "backward"
    FORWARD = "forward"


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a schema change breaks readers, at a path into the schema's instance structure."""

    path: str
    message: str
    direction: Direction

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
