"""Sandbox-only endpoints under `/sandbox/`: health, faults, token expiry, statistics, limits, undelete, and the
change event feed.

Admin endpoints need `Authorization: Bearer <admin token>`. The change event feed stands in for CometD and the
Pub/Sub API and takes an org access token, like a streaming client:

    GET /sandbox/cdc/data/AccountChangeEvent?replayId=-1&wait=20&limit=100
    -> {"channel": "/data/AccountChangeEvent", "events": [<CometD message>...], "latestReplayId": 42}

`replayId` -1 means only events after this call, -2 every retained event (72 hours), N every event after N. With
`wait`, the call holds until an event arrives or `wait` seconds pass (at most 60). Resume with `latestReplayId`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from crossdock.sandbox.salesforce.cdc import channel_entities
from crossdock.sandbox.salesforce.dml import Actor
from crossdock.sandbox.salesforce.errors import RecordError, SalesforceError, invalid_session, not_found
from crossdock.sandbox.salesforce.faults import Fault
from crossdock.sandbox.salesforce.org import Org
from crossdock.sandbox.salesforce.store import Store
from crossdock.sandbox.salesforce.web import org_of, read_json, sf_json

router = APIRouter(prefix="/sandbox")
MAX_WAIT_S = 60.0
MAX_EVENTS = 1000


def _admin(request: Request) -> Org:
    org = org_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), org.admin_token):
        raise SalesforceError(
            401,
            "INVALID_SESSION_ID",
            "The sandbox admin API needs the admin token: send "
            "Authorization: Bearer <admin_token> (see salesforce.json)",
        )
    return org


@router.get("/health")
async def health() -> Response:
    """Liveness, without authentication (the runner polls it)."""
    return sf_json({"status": "ok"})


@router.get("/info")
async def info(request: Request) -> Response:
    """The org's ids and record counts."""
    org = _admin(request)
    counts = {
        name: sum(1 for record in records.values() if not record.get("IsDeleted"))
        for name, records in org.store.records.items()
    }
    return sf_json(
        {
            "organizationId": org.org_id,
            "userId": org.user_id,
            "username": org.auth.config.username,
            "standardPricebookId": org.standard_pricebook_id,
            "records": counts,
            "latestReplayId": org.store.latest_replay_id,
        }
    )


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    """The active faults."""
    return sf_json([fault.to_json() for fault in _admin(request).faults.faults])


@router.post("/faults")
async def add_fault(request: Request) -> Response:
    """Activate a fault: `{"kind", "endpoint", "method", "rate", "times", "latency_ms", "retry_after_s"}`."""
    org = _admin(request)
    try:
        fault = Fault.from_json(await read_json(request))
    except ValueError as error:
        raise SalesforceError(400, "INVALID_FAULT", str(error)) from None
    return sf_json(org.faults.add(fault).to_json(), 201)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    """Deactivate every fault."""
    return sf_json({"removed": _admin(request).faults.remove()})


@router.delete("/faults/{fault_id}")
async def remove_fault(request: Request, fault_id: int) -> Response:
    """Deactivate one fault."""
    if not _admin(request).faults.remove(fault_id):
        raise not_found(f"no active fault {fault_id}")
    return Response(status_code=204)


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> Response:
    """Expire every access token now; the next API call with one answers 401 INVALID_SESSION_ID."""
    return sf_json({"revoked": _admin(request).store.revoke_tokens()})


@router.get("/stats")
async def stats(request: Request) -> Response:
    """Calls by endpoint (`METHOD /route`) and by status since the start or the last reset, and API usage."""
    org = _admin(request)
    return sf_json(
        {
            "calls": sum(org.calls.values()),
            "byEndpoint": dict(org.calls.most_common()),
            "byStatus": {str(status): count for status, count in sorted(org.statuses.items())},
            "apiUsage": org.api_usage(),
            "dailyApiLimit": org.daily_api_limit,
        }
    )


@router.post("/stats/reset")
async def reset_stats(request: Request) -> Response:
    """Zero the call counters (not the API usage; set that with /sandbox/limits)."""
    org = _admin(request)
    org.calls.clear()
    org.statuses.clear()
    return Response(status_code=204)


@router.post("/limits")
async def set_limits(request: Request) -> Response:
    """Change the daily API limit and/or the calls already used: `{"daily_api_limit": N, "api_usage": M}`."""
    org = _admin(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise SalesforceError(400, "INVALID_INPUT", 'send {"daily_api_limit": N} and/or {"api_usage": M}')
    if body.get("daily_api_limit") is not None:
        org.daily_api_limit = int(body["daily_api_limit"])
    if body.get("api_usage") is not None:
        org.store.set_usage(org.clock(), int(body["api_usage"]))
    return sf_json({"apiUsage": org.api_usage(), "dailyApiLimit": org.daily_api_limit})


@router.post("/undelete/{record_id}")
async def undelete(request: Request, record_id: str) -> Response:
    """Restore a deleted record from the recycle bin, as a user would in the UI (empty `changeOrigin`)."""
    org = _admin(request)
    transaction = org.transaction(Actor(org.user_id, ""))
    try:
        restored = transaction.writer.undelete(record_id)
    except RecordError as error:
        transaction.discard()
        raise error.as_request_error() from None
    transaction.commit()
    return sf_json({"id": restored, "success": True, "errors": []})


@router.post("/cdc/prune")
async def prune_events(request: Request) -> Response:
    """Drop change events older than the 72-hour retention now (the org also does it as it goes)."""
    org = _admin(request)
    org.store.prune_events_now()
    return sf_json({"prunedThrough": org.store.pruned_through})


async def _wait_for_events(
    store: Store, entities: list[str] | None, after: int, limit: int, deadline: float
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    committed = asyncio.Event()

    def wake() -> None:
        # Commits may happen on another thread (a thread-mode server and its test); hop onto our loop.
        loop.call_soon_threadsafe(committed.set)

    store.listeners.add(wake)
    try:
        events: list[dict[str, Any]] = []
        while not events and (remaining := deadline - time.monotonic()) > 0:
            committed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(committed.wait(), remaining)
            events = store.read_events(entities, after, limit)
        return events
    finally:
        store.listeners.discard(wake)


@router.get("/cdc/{channel:path}")
async def change_events(request: Request, channel: str) -> Response:
    """Long-poll a change event channel from a replay id."""
    org = org_of(request)
    authorization = request.headers.get("authorization")
    if org.auth.session(authorization, org.clock()) is None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), org.admin_token):
            raise invalid_session()
    try:
        entities = channel_entities(channel, org.schema)
    except KeyError:
        raise not_found(
            f"Unknown channel /{channel.strip('/')}: use /data/ChangeEvents or /data/<Object>ChangeEvent"
        ) from None
    params = request.query_params
    try:
        replay_id = int(params.get("replayId", "-1"))
        wait = min(float(params.get("wait", "0")), MAX_WAIT_S)
        limit = min(int(params.get("limit", "100")), MAX_EVENTS)
    except ValueError:
        raise SalesforceError(400, "INVALID_INPUT", "replayId and limit are integers, wait is seconds") from None
    store = org.store
    if replay_id >= 0 and replay_id < store.pruned_through:
        raise SalesforceError(
            400,
            "INVALID_REPLAY_ID",
            f"The replayId {{{replay_id}}} you provided was invalid. "
            "Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.",
        )
    after = store.latest_replay_id if replay_id == -1 else (0 if replay_id < -1 else replay_id)
    deadline = time.monotonic() + max(wait, 0.0)
    events = store.read_events(entities, after, limit)
    if not events and wait > 0:
        events = await _wait_for_events(store, entities, after, limit, deadline)
    name = "/" + channel.strip("/")
    latest = events[-1]["event"]["replayId"] if events else max(after, 0)
    body: dict[str, Any] = {
        "channel": name,
        "events": [{"data": event, "channel": name} for event in events],
        "latestReplayId": latest,
    }
    return sf_json(body)
