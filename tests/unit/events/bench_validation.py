"""Micro-benchmark: per-event cost of `SchemaRegistry.validate` on ~1 KiB canonical events (not a timed test).

Run: `.venv/bin/python -m tests.unit.events.bench_validation` (prints JSON). Shaped like `crossdock.bench`
modules (`run(...)` returns a JSON-ready dict) so it can move there once it no longer needs the model examples.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson

from crossdock.events.envelope import CloudEvent
from crossdock.events.registry import SchemaRegistry
from tests.unit.model import examples

# Types whose example data is about 1 KiB as JSON (customer ~1.1 KiB, sales order ~1.2 KiB, invoice ~1.0 KiB).
_CASES = {
    "crossdock.customer.updated.v1": examples.customer,
    "crossdock.order.accepted.v1": examples.sales_order,
    "crossdock.invoice.posted.v1": examples.invoice,
}


def _best_of(repeats: int, events: int, body: Callable[[], object]) -> float:
    """The fastest of several timed loops, in µs per call: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(events):
            body()
        best = min(best, time.perf_counter() - start)
    return best / events * 1e6


def run(events: int = 50_000, repeats: int = 5) -> dict[str, Any]:
    """Time `validate` per event for each case, next to the bare compiled validator and a dict lookup."""
    registry = SchemaRegistry.default()
    results: dict[str, Any] = {}
    for type_, build in _CASES.items():
        data = build().model_dump(mode="json")
        event = CloudEvent(type=type_, source="bench", subject="x", data=data, dataschema=registry.dataschema(type_))
        bare = registry._validators[type_][0]  # the same compiled validator, to show what the registry adds
        validate_us = _best_of(repeats, events, functools.partial(registry.validate, event))
        bare_us = _best_of(repeats, events, functools.partial(bare.is_valid, data))
        results[type_] = {
            "data_bytes": len(orjson.dumps(data)),
            "validate_us_per_event": round(validate_us, 3),
            "bare_is_valid_us": round(bare_us, 3),
            "registry_overhead_us": round(validate_us - bare_us, 3),
            "events_per_s_one_core": int(1e6 / validate_us),
        }
    return {"benchmark": "schema_validation", "events": events, "repeats": repeats, "cases": results}


if __name__ == "__main__":
    print(orjson.dumps(run(), option=orjson.OPT_INDENT_2).decode())
