"""Change Data Capture as a capture mode: change events read from a replay id, turned into complete records.

An event names the records it changed (`recordIds`) and, for updates, only the changed fields, in CDC's own
spelling (compound fields nested). So every created, updated or undeleted record is read again by id in one SOQL
query per 300 ids, which gives the same REST shape the poll mode and the inbound mapping use; a record that is gone
by then is skipped (its DELETE event follows). The cursor is the replay id of the last event handled.

`changeOrigin` (which names the client that made the change, `client=crossdock` for Crossdock's own writes) is
kept with the event header under `attributes.changeEvent` in each payload, for echo checks.

Transports: CometD long polling (`/cometd/<version>`, the public Streaming API: handshake, subscribe with the replay
extension, connect) and the project sandbox's long-poll endpoint (`/sandbox/cdc/<channel>`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from crossdock.connectors.salesforce.capture import soql_string
from crossdock.connectors.salesforce.client import SalesforceClient
from crossdock.connectors.salesforce.config import CaptureSettings
from crossdock.connectors.salesforce.errors import SalesforceApiError
from crossdock.ports.connector import ChangeBatch, ErrorKind, SourceRecord

logger = logging.getLogger(__name__)

FETCH_CHUNK = 300  # ids per `WHERE Id IN (...)`: 18-character ids keep the query URL well under 16 KB
_HEADER_KEYS = ("changeType", "changeOrigin", "transactionKey", "sequenceNumber", "commitTimestamp", "commitUser")


def channel_for(sobject: str) -> str:
    """The CDC channel of an object: `/data/AccountChangeEvent`, `/data/Region__ChangeEvent`."""
    base = sobject[:-3] + "__" if sobject.endswith("__c") else sobject
    return f"/data/{base}ChangeEvent"


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events read from a channel, and the replay id to resume from (None: keep the one asked for)."""

    events: list[dict[str, Any]]
    resume_from: int | None = None


class ChangeEventSource(Protocol):
    """Where change events come from: events of one channel after a replay id, waiting up to `wait_s` for some."""

    async def fetch(self, channel: str, replay_id: int, wait_s: float, limit: int) -> EventBatch:
        """CometD-shaped events (`{"channel", "data": {"schema", "payload", "event": {"replayId"}}}`), oldest first."""
        ...

    async def close(self) -> None:
        """End any open session."""
        ...


class SandboxEventSource:
    """The sandbox's long-poll endpoint: `GET /sandbox/cdc/<channel>?replayId=N&wait=S`."""

    def __init__(self, client: SalesforceClient) -> None:
        self._client = client

    async def fetch(self, channel: str, replay_id: int, wait_s: float, limit: int) -> EventBatch:
        """Events after `replay_id` (-1: none of the past, -2: all retained)."""
        params = {"replayId": str(replay_id), "wait": f"{wait_s:g}", "limit": str(limit)}
        answer = await self._client.stream(f"/sandbox/cdc{channel}", params=params, wait_s=wait_s)
        events = [event for event in answer.get("events") or [] if isinstance(event, dict)]
        # With no events, `latestReplayId` is where the channel stands: resuming there (not from -1 again) keeps
        # the events committed between two reads.
        latest = answer.get("latestReplayId")
        return EventBatch(events, int(latest) if isinstance(latest, int) else None)

    async def close(self) -> None:
        """Nothing to end: every fetch stands alone."""


class CometdEventSource:
    """CometD (Bayeux 1.0) long polling with Salesforce's replay extension; one session per channel."""

    def __init__(self, client: SalesforceClient) -> None:
        self._client = client
        self._path = f"/cometd/{client.settings.api_version}"
        # channel -> (clientId, replay id the session has delivered up to)
        self._sessions: dict[str, tuple[str, int]] = {}

    async def fetch(self, channel: str, replay_id: int, wait_s: float, limit: int) -> EventBatch:
        """Events after `replay_id`; a session already there just connects again, any other (re)subscribes."""
        session = self._sessions.get(channel)
        if session is None or session[1] != replay_id:
            client_id = await self._handshake(wait_s)
            await self._subscribe(client_id, channel, replay_id, wait_s)
            session = (client_id, replay_id)
            self._sessions[channel] = session
        client_id = session[0]
        connect = {
            "channel": "/meta/connect",
            "clientId": client_id,
            "connectionType": "long-polling",
            "advice": {"timeout": int(wait_s * 1000)},
        }
        messages = await self._client.stream(self._path + "/connect", [connect], wait_s=wait_s)
        events: list[dict[str, Any]] = []
        for message in messages or []:
            if message.get("channel") == "/meta/connect":
                if not message.get("successful", False):
                    # `403::Unknown client` and friends: the server dropped the session; start over next time.
                    self._sessions.pop(channel, None)
                    raise SalesforceApiError(
                        ErrorKind.TRANSIENT,
                        f"{self._client.system}: CometD connect failed ({message.get('error')}); reconnecting",
                        retry_after_s=1.0,
                    )
            elif message.get("channel") == channel and isinstance(message.get("data"), dict):
                events.append(message)
        if events:
            self._sessions[channel] = (client_id, _replay_id(events[-1]))
            return EventBatch(events, _replay_id(events[-1]))
        # The session, not a replay id, holds the position until an event arrives (-1 has no number yet).
        return EventBatch([])

    async def _handshake(self, wait_s: float) -> str:
        message = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "ext": {"replay": True},
        }
        reply = _meta_reply(await self._client.stream(self._path + "/handshake", [message], wait_s=wait_s))
        if not reply.get("successful") or not reply.get("clientId"):
            raise SalesforceApiError(
                ErrorKind.CONFIGURATION,
                f"{self._client.system}: CometD handshake refused ({reply.get('error')}); check that the "
                f"integration user has the API Enabled and View All Data (or CDC entity) permissions",
            )
        return str(reply["clientId"])

    async def _subscribe(self, client_id: str, channel: str, replay_id: int, wait_s: float) -> None:
        message = {
            "channel": "/meta/subscribe",
            "clientId": client_id,
            "subscription": channel,
            "ext": {"replay": {channel: replay_id}},
        }
        reply = _meta_reply(await self._client.stream(self._path + "/subscribe", [message], wait_s=wait_s))
        if not reply.get("successful"):
            error = str(reply.get("error", ""))
            # 400::The replayId {N} you provided was invalid: the event aged out of the 72-hour retention.
            raise SalesforceApiError(
                ErrorKind.CONFIGURATION,
                f"{self._client.system}: cannot subscribe to {channel} from replay id {replay_id} ({error}); select "
                f"the object for Change Data Capture, or reset the cursor and reconcile if events aged out",
            )

    async def close(self) -> None:
        """Disconnect every session (best effort: the server drops idle sessions anyway)."""
        for channel, (client_id, _) in list(self._sessions.items()):
            message = {"channel": "/meta/disconnect", "clientId": client_id}
            try:
                await self._client.stream(self._path + "/disconnect", [message], wait_s=0)
            except SalesforceApiError:
                logger.debug("CometD disconnect of %s failed; the server will drop the session", channel)
        self._sessions.clear()


class CdcCapture:
    """Reads change events of one object and turns them into complete source records."""

    def __init__(self, client: SalesforceClient, source: ChangeEventSource, settings: CaptureSettings) -> None:
        self._client = client
        self._source = source
        self._settings = settings

    async def read(self, sobject: str, fields: list[str], cursor: str | None, limit: int) -> ChangeBatch:
        """Changes after the cursor (a replay id), at most `limit` events' worth."""
        replay_id = int(cursor) if cursor else self._settings.cdc_initial_replay
        batch = await self._source.fetch(channel_for(sobject), replay_id, self._settings.cdc_wait_s, limit)
        events = batch.events
        resume = str(batch.resume_from) if batch.resume_from is not None and batch.resume_from >= 0 else cursor
        if not events:
            return ChangeBatch(records=[], next_cursor=resume, more=False)
        # The last event about a record decides what is emitted for it; the record is read as it is now.
        latest: dict[str, tuple[int, dict[str, Any]]] = {}
        for position, event in enumerate(events):
            payload = event["data"].get("payload", {})
            header = payload.get("ChangeEventHeader", {})
            change_type = str(header.get("changeType", ""))
            if change_type == "GAP_OVERFLOW":
                logger.warning(
                    "%s: CDC overflow on %s at replay id %s; the nightly reconciliation must catch these changes",
                    self._client.system,
                    sobject,
                    _replay_id(event),
                )
                continue
            meta = {key: header.get(key) for key in _HEADER_KEYS}
            meta["changedFields"] = list(header.get("changedFields") or [])
            meta["replayId"] = _replay_id(event)
            for record_id in header.get("recordIds") or []:
                latest.pop(str(record_id), None)  # keep dict order = order of each record's last event
                latest[str(record_id)] = (position, meta)
        current = await self._fetch(sobject, fields, [i for i, (_, m) in latest.items() if not _is_delete(m)])
        records: list[SourceRecord] = []
        for record_id, (_, meta) in latest.items():
            if _is_delete(meta):
                payload = {"attributes": {"type": sobject, "changeEvent": meta}, "Id": record_id}
                records.append(SourceRecord(record_id, payload, changed_at=_commit_time(meta), deleted=True))
                continue
            row = current.get(record_id)
            if row is None:
                continue  # deleted since the event; its DELETE event follows
            row["attributes"] = {**row.get("attributes", {}), "changeEvent": meta}
            records.append(SourceRecord(record_id, row, changed_at=str(row.get("SystemModstamp") or "") or None))
        return ChangeBatch(records=records, next_cursor=str(_replay_id(events[-1])), more=len(events) >= limit)

    async def _fetch(self, sobject: str, fields: list[str], ids: list[str]) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = ids[start : start + FETCH_CHUNK]
            ids_in = ", ".join(map(soql_string, chunk))  # quoted and escaped literals
            soql = f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id IN ({ids_in})"  # noqa: S608
            for row in await self._client.query_all(soql, batch_size=self._settings.page_size):
                rows[str(row["Id"])] = row
        # Ids in events are 18 characters, like those SOQL returns; a 15-character one is matched by its prefix.
        return rows | {key[:15]: row for key, row in rows.items()}

    async def close(self) -> None:
        """End the event source's session."""
        await self._source.close()


def _replay_id(event: dict[str, Any]) -> int:
    return int(event["data"]["event"]["replayId"])


def _is_delete(meta: dict[str, Any]) -> bool:
    return str(meta.get("changeType", "")).endswith("DELETE") and not str(meta.get("changeType")).endswith("UNDELETE")


def _commit_time(meta: dict[str, Any]) -> str | None:
    stamp = meta.get("commitTimestamp")
    if not isinstance(stamp, int | float):
        return None
    return datetime.fromtimestamp(stamp / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meta_reply(messages: Any) -> dict[str, Any]:
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return messages[0]
    return {}
