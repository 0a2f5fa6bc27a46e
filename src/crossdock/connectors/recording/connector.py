"""RecordingConnector: the Connector port over a recording file."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crossdock.connectors.recording.capture import read_changes
from crossdock.connectors.recording.client import RecordingFile
from crossdock.connectors.recording.config import RecordingSettings
from crossdock.ports.connector import (
    ChangeBatch,
    ConnectorError,
    ErrorKind,
    UpsertRequest,
    UpsertResult,
)


class RecordingConnector:
    """A system that keeps what it is sent, upserting by canonical id; it can also be read as a source."""

    def __init__(self, system: str, settings: RecordingSettings) -> None:
        self._system = system
        self._settings = settings
        self._file = RecordingFile(settings.path)
        self._calls = 0

    @property
    def system(self) -> str:
        """The configured system name."""
        return self._system

    @property
    def file(self) -> RecordingFile:
        """The recording file, for inspection."""
        return self._file

    async def read_changes(self, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
        """Changes recorded after the cursor."""
        return await asyncio.to_thread(read_changes, self._file, entity, cursor, limit)

    async def upsert(self, entity: str, requests: Sequence[UpsertRequest]) -> list[UpsertResult]:
        """Apply the records in order; an injected failure fails the whole call as a transient error."""
        self._calls += 1
        if self._settings.fail_every and self._calls % self._settings.fail_every == 0:
            raise ConnectorError(ErrorKind.TRANSIENT, f"{self._system}: injected failure on call {self._calls}")
        applied = await asyncio.to_thread(
            self._file.upsert, entity, [(r.canonical_id, r.local_id, r.event_id, r.payload) for r in requests]
        )
        return [
            UpsertResult(r.canonical_id, local_id=a.local_id, created=a.created, details={"changed": a.changed})
            for r, a in zip(requests, applied, strict=True)
        ]

    async def close(self) -> None:
        """Close the file."""
        self._file.close()
