"""Failed attempts at a partner's files, kept in the store (the `FileAttempts` a mailbox poller counts with), so a
restart does not give a file that always fails a fresh set of attempts, and a file is given up on after the
configured number however many workers and restarts it took."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import datetime

from crossdock.ports.partners import FileKey
from crossdock.ports.store import Store


class StoreFileAttempts:
    """One partner's attempt counts in `uow.partners`; read once per poll pass, counted in the store."""

    def __init__(self, store: Store, partner: str, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._partner = partner
        self._clock = clock
        self._known: dict[FileKey, tuple[int, str]] = {}  # as of this pass's `keep_only`, plus what it counted

    async def attempts(self, file: FileKey) -> tuple[int, str]:
        """Failed attempts at the file so far, and the last reason."""
        return self._known.get(file, (0, ""))

    async def failed(self, file: FileKey, reason: str) -> int:
        """Count a failed attempt in the store (atomically: another worker may count the same file)."""

        def count() -> int:
            with self._store.unit_of_work() as uow:
                attempts = uow.partners.count_file_attempt(self._partner, file, error=reason, at=self._clock())
                uow.commit()
            return attempts

        attempts = await asyncio.to_thread(count)
        self._known[file] = (attempts, reason)
        return attempts

    async def forget(self, file: FileKey) -> None:
        """The file was filed: drop its count."""
        self._known.pop(file, None)
        await asyncio.to_thread(self._forget, [file])

    async def keep_only(self, present: Collection[FileKey]) -> None:
        """Load the counts of the files in the mailbox; drop those of files that are gone."""

        def load() -> list[FileKey]:
            with self._store.unit_of_work(read_only=True) as uow:
                rows = uow.partners.file_attempts(self._partner)
            self._known = {(r.name, r.size, r.mtime): (r.attempts, r.last_error) for r in rows}
            return [key for key in self._known if key not in present]

        gone = await asyncio.to_thread(load)
        if gone:
            for key in gone:
                self._known.pop(key, None)
            await asyncio.to_thread(self._forget, gone)

    def _forget(self, files: list[FileKey]) -> None:
        with self._store.unit_of_work() as uow:
            uow.partners.forget_file_attempts(self._partner, files)
            uow.commit()
