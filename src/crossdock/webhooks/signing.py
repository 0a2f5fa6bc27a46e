"""Standard Webhooks signatures: `whsec_` secrets, `v1` HMAC-SHA256 over `{id}.{timestamp}.{payload}`, and the
three `webhook-*` headers, for the webhooks we send and the ones we receive.

The signature header is a space-separated list, so a secret can be rotated without downtime: the sender signs with
the old and the new secret for a while, and the receiver accepts a message when any signature matches any of its
secrets.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets as _random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105  the marker every Standard Webhooks secret starts with, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300.0
MIN_SECRET_BYTES = 24  # the spec's minimum; we generate 32
MAX_SECRET_BYTES = 64

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


class FailureReason(enum.StrEnum):
    """Why a webhook was not accepted."""

    MISSING_HEADER = "missing_header"
    INVALID_TIMESTAMP = "invalid_timestamp"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_TOO_NEW = "timestamp_too_new"
    NO_MATCHING_SIGNATURE = "no_matching_signature"


class WebhookVerificationError(ValueError):
    """A received webhook whose headers or signature do not check out; `reason` says which check failed."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """The id and timestamp of a webhook whose signature matched."""

    id: str
    timestamp: int


def new_secret(n_bytes: int = 32) -> str:
    """A fresh signing secret, `whsec_` and base64 of `n_bytes` random bytes (24 to 64)."""
    if not MIN_SECRET_BYTES <= n_bytes <= MAX_SECRET_BYTES:
        raise ValueError(f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes, not {n_bytes}")
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(n_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret, with or without its `whsec_` prefix (partners paste both)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError(
            "a webhook secret is `whsec_` followed by base64; copy it again from where it was shown"
        ) from None
    if not key:
        raise ValueError("the webhook secret is empty; configure the `whsec_...` secret the sender gave you")
    return key


def sign(secret: str, msg_id: str, timestamp: int | datetime, payload: bytes) -> str:
    """The `v1,<base64>` signature of one message."""
    # The signed content is dot-delimited; an id with a dot could be shifted into the timestamp by an attacker.
    if "." in msg_id:
        raise ValueError(f"webhook id {msg_id!r} contains '.'; message ids must not (they are part of what is signed)")
    return f"{SIGNATURE_VERSION},{_signature(secret_key(secret), msg_id, _seconds(timestamp), payload)}"


def headers_for(secrets: str | Sequence[str], msg_id: str, timestamp: int | datetime, payload: bytes) -> dict[str, str]:
    """The three `webhook-*` headers; with several secrets (a rotation), one signature each, space-separated."""
    seconds = _seconds(timestamp)
    signatures = " ".join(sign(secret, msg_id, seconds, payload) for secret in _as_list(secrets))
    return {HEADER_ID: msg_id, HEADER_TIMESTAMP: str(seconds), HEADER_SIGNATURE: signatures}


def verify(
    secrets: str | Sequence[str],
    headers: Mapping[str, str],
    payload: bytes,
    *,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> VerifiedMessage:
    """Check a received webhook's headers and signature; raise WebhookVerificationError saying what is wrong.

    Any `v1` signature in the header may match any of `secrets`; other signature versions are ignored.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE) if not lowered.get(name)]
    if missing:
        raise WebhookVerificationError(
            FailureReason.MISSING_HEADER,
            f"the request has no {', '.join(missing)} header; the sender must sign it as Standard Webhooks describe",
        )
    msg_id, raw_timestamp = lowered[HEADER_ID], lowered[HEADER_TIMESTAMP].strip()
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit() or len(raw_timestamp) > 12:
        raise WebhookVerificationError(
            FailureReason.INVALID_TIMESTAMP, f"{HEADER_TIMESTAMP} {raw_timestamp!r} is not a Unix time in seconds"
        )
    timestamp = int(raw_timestamp)
    age = now.timestamp() - timestamp
    if age > tolerance_s:
        raise WebhookVerificationError(
            FailureReason.TIMESTAMP_TOO_OLD,
            f"{HEADER_TIMESTAMP} is {age:.0f} s old (at most {tolerance_s:.0f} s allowed): a replay, or the "
            "sender's clock is behind; it must sign each attempt afresh and keep its clock in sync (NTP)",
        )
    if -age > tolerance_s:
        raise WebhookVerificationError(
            FailureReason.TIMESTAMP_TOO_NEW,
            f"{HEADER_TIMESTAMP} is {-age:.0f} s in the future (at most {tolerance_s:.0f} s allowed); "
            "the sender's clock is ahead, it must keep it in sync (NTP)",
        )
    offered = list(_offered_signatures(lowered[HEADER_SIGNATURE]))
    for secret in _as_list(secrets):
        expected = base64.b64decode(_signature(secret_key(secret), msg_id, timestamp, payload))
        # Every offered signature is compared in constant time; stopping at a match reveals only that one matched.
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return VerifiedMessage(msg_id, timestamp)
    raise WebhookVerificationError(
        FailureReason.NO_MATCHING_SIGNATURE,
        "no webhook-signature matches the payload with our secret(s): the body was changed on the way, or the "
        "secret configured here is not the sender's current one",
    )


def _signature(key: bytes, msg_id: str, timestamp: int, payload: bytes) -> str:
    content = b"%s.%d.%s" % (msg_id.encode(), timestamp, payload)
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def _offered_signatures(header: str) -> Iterable[bytes]:
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != SIGNATURE_VERSION or not value:
            continue
        try:
            yield base64.b64decode(value, validate=True)
        except binascii.Error:
            continue  # a malformed entry cannot match; another entry still may


def _seconds(timestamp: int | datetime) -> int:
    return int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)


def _as_list(secrets: str | Sequence[str]) -> list[str]:
    listed = [secrets] if isinstance(secrets, str) else list(secrets)
    if not listed:
        raise ValueError("no webhook secret given; configure at least one `whsec_...` secret")
    return listed
