"""Injectable faults, per endpoint pattern: latency, 429 and 503 answers, UNABLE_TO_LOCK_ROW per record, and
token expiry. Each fault fires with a probability (`rate`) for at most `times` times, drawn from a seeded random
generator so that a test run is repeatable.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "http_429", "http_503", "unable_to_lock_row", "expire_token")


@dataclass
class Fault:
    """One fault rule.

    `endpoint` is a glob matched against the path after `/services/data/vXX.X/` (`composite/sobjects*`,
    `query*`, `sobjects/Account/*`) and against the whole path (`/services/oauth2/token`); `method` narrows it.
    """

    kind: str
    endpoint: str = "*"
    method: str | None = None
    rate: float = 1.0
    times: int | None = None
    latency_ms: int = 0
    retry_after_s: int = 1
    id: int = 0
    fired: int = field(default=0)

    @classmethod
    def from_json(cls, body: Any) -> Fault:
        """A fault from the admin API's JSON; raises ValueError naming what is wrong."""
        if not isinstance(body, dict):
            raise ValueError('a fault is a JSON object, e.g. {"kind": "http_503", "endpoint": "query*"}')
        unknown = set(body) - {"kind", "endpoint", "method", "rate", "times", "latency_ms", "retry_after_s"}
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        if body.get("kind") not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}")
        fault = cls(
            kind=body["kind"],
            endpoint=str(body.get("endpoint", "*")),
            method=str(body["method"]).upper() if body.get("method") else None,
            rate=float(body.get("rate", 1.0)),
            times=int(body["times"]) if body.get("times") is not None else None,
            latency_ms=int(body.get("latency_ms", 0)),
            retry_after_s=int(body.get("retry_after_s", 1)),
        )
        if not 0.0 <= fault.rate <= 1.0:
            raise ValueError("rate is a probability between 0 and 1")
        if fault.kind == "latency" and fault.latency_ms <= 0:
            raise ValueError("a latency fault needs latency_ms > 0")
        return fault

    def to_json(self) -> dict[str, Any]:
        """The fault as the admin API lists it."""
        return asdict(self)

    def matches(self, method: str, path: str, relative: str) -> bool:
        """True when this fault applies to a request."""
        if self.method and self.method != method:
            return False
        return fnmatch.fnmatchcase(relative, self.endpoint) or fnmatch.fnmatchcase(path, self.endpoint)


class FaultInjector:
    """The active faults of one sandbox."""

    def __init__(self, faults: list[Fault] | None = None, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 -- repeatable test faults, not security
        self._next_id = 1
        self.faults: list[Fault] = []
        for fault in faults or []:
            self.add(fault)

    def add(self, fault: Fault) -> Fault:
        """Activate a fault; returns it with its id."""
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self.faults.append(fault)
            return fault

    def remove(self, fault_id: int | None = None) -> int:
        """Deactivate one fault, or all; returns how many were removed."""
        with self._lock:
            before = len(self.faults)
            self.faults = [fault for fault in self.faults if fault_id is not None and fault.id != fault_id]
            return before - len(self.faults)

    def matching(self, method: str, path: str, relative: str) -> list[Fault]:
        """Faults that apply to a request, in the order they were added."""
        with self._lock:
            return [fault for fault in self.faults if fault.matches(method, path, relative)]

    def fire(self, fault: Fault) -> bool:
        """Roll the dice for one fault; True means it happens now (and counts against `times`)."""
        with self._lock:
            if fault not in self.faults:
                return False
            if fault.rate < 1.0 and self._random.random() >= fault.rate:
                return False
            fault.fired += 1
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return True
