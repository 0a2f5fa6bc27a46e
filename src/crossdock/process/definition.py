"""What a process is: a named, versioned async function, how its steps retry, and what happens when one fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from crossdock.process.context import ProcessContext

ProcessFunction = Callable[["ProcessContext", dict[str, Any]], Awaitable[Any]]
OnFailure = Literal["compensate", "hold"]


class ProcessError(RuntimeError):
    """The engine cannot do what was asked; the message says what to do instead."""


class UnknownDefinitionError(ProcessError, LookupError):
    """No registered definition has that name."""


class UnknownInstanceError(ProcessError, LookupError):
    """No process instance has that id."""


class OperatorActionError(ProcessError):
    """An operator action does not fit the instance's state (retrying a completed process, skipping a running one)."""


class StepFailedError(Exception):
    """Raise from a step to fail it for good, without retries: the process then compensates (or holds)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NonDeterminismError(ProcessError):
    """A replay called a different step at a journaled position: the code changed under a pinned version."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing step is tried, and how long to wait between tries (exponential, capped)."""

    max_attempts: int = 5
    initial_s: float = 1.0
    max_s: float = 300.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_s < 0 or self.max_s < self.initial_s:
            raise ValueError(f"need 0 <= initial_s <= max_s, got initial_s={self.initial_s}, max_s={self.max_s}")

    def backoff_s(self, failures: int) -> float:
        """The wait after the `failures`-th failure (1 for the first)."""
        return float(min(self.max_s, self.initial_s * self.multiplier ** max(failures - 1, 0)))


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """A process: `run(ctx, input)` is called from the top on every (re)run; journaled steps replay.

    `on_failure="compensate"` (the default) undoes the started steps in reverse when one fails for good;
    `"hold"` leaves the instance `failed` for an operator to retry, skip or cancel.
    """

    name: str
    version: int
    run: ProcessFunction
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_failure: OnFailure = "compensate"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a process definition needs a name")
        if self.version < 1:
            raise ValueError(f"{self.name}: version must be 1 or more, got {self.version}")
        if self.on_failure not in ("compensate", "hold"):
            raise ValueError(f"{self.name}: on_failure must be 'compensate' or 'hold', got {self.on_failure!r}")


class Definitions:
    """The definitions an engine runs, by name and version; new instances pin the highest version."""

    def __init__(self, definitions: Iterable[ProcessDefinition]) -> None:
        self._by_key: dict[tuple[str, int], ProcessDefinition] = {}
        for definition in definitions:
            key = (definition.name, definition.version)
            if key in self._by_key:
                raise ValueError(f"{definition.name} version {definition.version} is registered twice")
            self._by_key[key] = definition

    def latest(self, name: str) -> ProcessDefinition:
        """The highest registered version of `name`."""
        versions = [d for (n, _), d in self._by_key.items() if n == name]
        if not versions:
            known = ", ".join(sorted({n for n, _ in self._by_key})) or "none"
            raise UnknownDefinitionError(f"no process definition named {name!r} is registered (registered: {known})")
        return max(versions, key=lambda d: d.version)

    def get(self, name: str, version: int) -> ProcessDefinition | None:
        """That exact version, if registered."""
        return self._by_key.get((name, version))

    def versions(self) -> list[tuple[str, int]]:
        """Every registered (name, version)."""
        return sorted(self._by_key)

    def missing_note(self, name: str, version: int) -> str | None:
        """Why an instance pinned to (name, version) will not run here, or None when it will."""
        if (name, version) in self._by_key or not self._by_key:
            return None
        registered = sorted(v for n, v in self._by_key if n == name)
        if not registered:
            return f"no definition named {name!r} is registered in this engine; the instance is left alone"
        listed = ", ".join(str(v) for v in registered)
        return (
            f"{name} version {version} is no longer registered (registered: {listed}); the instance is left "
            f"alone until a worker registers version {version} again, or an operator cancels it"
        )
