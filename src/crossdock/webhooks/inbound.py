"""Inbound webhooks: a partner system's signed request, verified and de-duplicated by its `webhook-id`.

Nothing here may lose a webhook: a sender that got no 2xx sends again with the same id, and the retry must still
reach the log even if the first request was marked received and then crashed before its append. So each webhook
gets an event id derived from (source, webhook-id): append with it whether or not `new` is set, and the log drops
the copy (`AppendResult.duplicate`). `new` only says whether this is the first time the id was seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from crossdock.ports.store import Store
from crossdock.webhooks.signing import DEFAULT_TOLERANCE_S, verify

MAX_ID_LENGTH = 256
_EVENT_NAMESPACE = uuid.UUID("5b0f6c1e-4d1a-4f0e-9a57-7c2d1e3b8a90")  # fixed forever: event ids depend on it


class InboundPayloadError(ValueError):
    """A correctly signed webhook whose body or id Crossdock cannot take; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class InboundResult:
    """A verified inbound webhook: whether its id is new, the event id to log it under, and its parsed JSON."""

    new: bool
    webhook_id: str
    event_id: str
    payload: Any


def inbound_event_id(source: str, webhook_id: str) -> str:
    """The event id an inbound webhook is logged under: the same for every retry of it."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{source}\x00{webhook_id}"))


def receive(
    store: Store,
    secrets: str | Sequence[str],
    source: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> InboundResult:
    """Verify a webhook from `source` and remember its id; raise WebhookVerificationError (answer 401) or
    InboundPayloadError (answer 400). With several `secrets`, any may have signed it (a rotation in progress)."""
    verified = verify(secrets, headers, body, now=now, tolerance_s=tolerance_s)
    if len(verified.id) > MAX_ID_LENGTH:
        raise InboundPayloadError(
            f"webhook-id is {len(verified.id)} characters long; the sender must keep ids to {MAX_ID_LENGTH}"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InboundPayloadError(
            f"the webhook body is not JSON ({exc}); the sender must send application/json"
        ) from exc
    event_id = inbound_event_id(source, verified.id)
    with store.unit_of_work() as uow:
        new = uow.webhooks.mark_received(source, verified.id, event_id=event_id, now=now)
        uow.commit()
    return InboundResult(new=new, webhook_id=verified.id, event_id=event_id, payload=payload)
