"""Change capture from a recording file: its history sequence is the cursor."""

from __future__ import annotations

from crossdock.connectors.recording.client import RecordingFile
from crossdock.ports.connector import ChangeBatch, SourceRecord


def read_changes(file: RecordingFile, entity: str, cursor: str | None, limit: int) -> ChangeBatch:
    """Changes after the cursor (a history sequence number), oldest first."""
    after = int(cursor) if cursor else 0
    rows = file.changed_since(entity, after, limit)
    records = [SourceRecord(local_id=local, payload=payload, changed_at=str(seq)) for seq, _, local, payload in rows]
    next_cursor = str(rows[-1][0]) if rows else cursor
    return ChangeBatch(records=records, next_cursor=next_cursor, more=len(rows) == limit)
