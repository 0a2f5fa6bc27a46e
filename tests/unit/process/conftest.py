"""Fixtures for the process engine: a store per backend (memory, SQLite file), a clock the test moves, engines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crossdock.ports.store import Store
from crossdock.process import ProcessDefinition, ProcessEngine, RetryPolicy
from crossdock.store import MemoryStore, SqlStore

FAST = RetryPolicy(max_attempts=3, initial_s=1.0, max_s=10.0)


class Clock:
    """A clock that moves only when told to: leases, timers and backoffs expire on the test's command."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on."""
        self.now += timedelta(seconds=seconds)


class Crash(BaseException):
    """Raised inside a step to stop the worker dead, as a SIGKILL would: nothing after it runs."""


EngineFactory = Callable[..., ProcessEngine]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store."""
    if request.param == "memory":
        yield MemoryStore()
        return
    sql_store = SqlStore(f"sqlite:///{tmp_path / 'processes.db'}")
    sql_store.migrate()
    yield sql_store
    sql_store.dispose()


@pytest.fixture
def clock() -> Clock:
    """The engines' clock."""
    return Clock()


@pytest.fixture
def make_engine(store: Store, clock: Clock) -> Iterator[EngineFactory]:
    """Engines (workers) on the shared store and clock; each is closed after the test."""
    engines: list[ProcessEngine] = []

    def make(definitions: Iterable[ProcessDefinition], owner: str = "worker-1", lease_s: float = 30.0) -> ProcessEngine:
        engine = ProcessEngine(store, definitions, owner=owner, lease_s=lease_s, clock=clock)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
