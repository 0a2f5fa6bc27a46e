"""Units of work run off the event loop: the Store port is synchronous, so async callers hand it a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from crossdock.ports.store import Store, UnitOfWork

T = TypeVar("T")


async def read_off_loop(store: Store, fn: Callable[[UnitOfWork], T]) -> T:
    """Run `fn` in a read-only unit of work of `store` on a worker thread."""

    def run() -> T:
        with store.unit_of_work(read_only=True) as uow:
            return fn(uow)

    return await asyncio.to_thread(run)


async def write_off_loop(store: Store, fn: Callable[[UnitOfWork], T]) -> T:
    """Run `fn` in a unit of work of `store` on a worker thread and commit it."""

    def run() -> T:
        with store.unit_of_work() as uow:
            outcome = fn(uow)
            uow.commit()
            return outcome

    return await asyncio.to_thread(run)
