"""API clients and their secrets: client secrets for the client-credentials grant, API keys for operators.

A secret is 256 random bits with a recognisable prefix (`cdsk_` client secret, `cdk_` operator key) and a CRC32
checksum, like GitHub's token format: secret scanners can find a leaked one by its prefix and tell a real one from
a look-alike offline, and we can refuse a mistyped one without looking anything up. Only a hash of it is kept; the
clear text is returned once, when it is made, and never stored.

No storage here: `to_record`/`from_record` convert to and from the store's `ApiClientRecord`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from crossdock.api.security.scopes import ClientKind, Scope, check_grantable, parse_scope
from crossdock.ports.api import ApiClientRecord

__all__ = [
    "CLIENT_SECRET_PREFIX",
    "DEFAULT_ROTATION_GRACE",
    "MAX_ROTATION_GRACE",
    "OPERATOR_KEY_PREFIX",
    "ApiClient",
    "check_secret",
    "from_record",
    "generate_secret",
    "hash_secret",
    "looks_like_secret",
    "new_client",
    "revoke",
    "rotate",
    "to_record",
]

CLIENT_SECRET_PREFIX = "cdsk_"  # noqa: S105 (a public prefix, not a secret)
OPERATOR_KEY_PREFIX = "cdk_"
CLIENT_ID_PREFIX = "cl_"
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=7)  # longer, and a rotation meant to shut a leaked secret out would not

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_CHARS = 43  # 62**43 > 2**256: 32 random bytes always fit
_CHECK_CHARS = 6  # 62**6 > 2**32: a CRC32 always fits
_SECRET = re.compile(rf"(?:{CLIENT_SECRET_PREFIX}|{OPERATOR_KEY_PREFIX})([0-9A-Za-z]{{{_BODY_CHARS + _CHECK_CHARS}}})")
_HASH_SCHEME = "sha256:"  # kept with each hash, so another scheme can be introduced beside this one


def _base62(number: int, width: int) -> str:
    """Base62, fixed width: only letters and digits, so a double-click selects the whole secret."""
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    if number:
        raise ValueError(f"the number does not fit in {width} base62 digits")
    return "".join(reversed(digits))


def _checksum(prefix_and_body: str) -> str:
    return _base62(zlib.crc32(prefix_and_body.encode("ascii")), _CHECK_CHARS)


def _secret_prefix(kind: ClientKind) -> str:
    return OPERATOR_KEY_PREFIX if kind is ClientKind.OPERATOR else CLIENT_SECRET_PREFIX


def generate_secret(prefix: str) -> str:
    """A new secret: the prefix, 256 random bits in base62, and a CRC32 checksum of both."""
    if prefix not in {CLIENT_SECRET_PREFIX, OPERATOR_KEY_PREFIX}:
        raise ValueError(f"unknown secret prefix {prefix!r}; use {CLIENT_SECRET_PREFIX!r} or {OPERATOR_KEY_PREFIX!r}")
    head = prefix + _base62(int.from_bytes(secrets.token_bytes(32), "big"), _BODY_CHARS)
    return head + _checksum(head)


def looks_like_secret(text: str) -> bool:
    """Whether `text` has the shape and checksum of one of our secrets (says nothing about whether it is valid)."""
    match = _SECRET.fullmatch(text)
    if match is None:
        return False
    head, check = text[:-_CHECK_CHARS], text[-_CHECK_CHARS:]
    return hmac.compare_digest(_checksum(head), check)


def hash_secret(secret: str) -> str:
    """The hash stored in place of a secret.

    One SHA-256 is enough, and a slow password hash (bcrypt, scrypt, Argon2) would be wrong here: slow hashes exist
    to make guessing a low-entropy, human-chosen password expensive, but a 256-bit random secret cannot be guessed
    at any speed. A slow hash would only make each token request cost tens of milliseconds of CPU, a lever for
    anyone who wants to exhaust the token endpoint. Unsalted, so an operator key presented on its own can be
    looked up by its hash.
    """
    return _HASH_SCHEME + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_client_id() -> str:
    return CLIENT_ID_PREFIX + _base62(int.from_bytes(secrets.token_bytes(16), "big"), 22)


def _require_aware(moment: datetime, name: str = "now") -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (use datetime.now(UTC))")


@dataclass(frozen=True, slots=True)
class ApiClient:
    """An API client: who it is, what it may do, how fast, and the hashes of its current and previous secret."""

    client_id: str
    name: str
    kind: ClientKind
    partner_id: str | None
    scopes: frozenset[Scope]
    rate_plan: str
    secret_hash: str = field(repr=False)
    created_at: datetime
    # After a rotation the previous secret keeps working until `previous_valid_until`, so a partner can roll its
    # deployment over to the new one without an outage.
    previous_secret_hash: str | None = field(default=None, repr=False)
    previous_valid_until: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.client_id or not self.name.strip():
            raise ValueError("an API client needs a client id and a name")
        if not self.rate_plan:
            raise ValueError(f"API client {self.client_id} needs a rate plan")
        if not self.scopes:
            raise ValueError(f"API client {self.client_id} needs at least one scope")
        check_grantable(self.kind, self.scopes)
        if self.kind is ClientKind.PARTNER and not self.partner_id:
            raise ValueError(f"partner client {self.client_id} needs the partner_id it acts for")
        if self.kind is not ClientKind.PARTNER and self.partner_id is not None:
            raise ValueError(f"{self.kind} client {self.client_id} acts for no partner; leave partner_id unset")
        if (self.previous_secret_hash is None) != (self.previous_valid_until is None):
            raise ValueError("previous_secret_hash and previous_valid_until go together")
        for name in ("created_at", "previous_valid_until", "rotated_at", "revoked_at"):
            moment = getattr(self, name)
            if moment is not None:
                _require_aware(moment, name)

    def is_revoked(self, now: datetime) -> bool:
        """Whether the client has been revoked by `now`."""
        return self.revoked_at is not None and self.revoked_at <= now


def new_client(
    *,
    name: str,
    kind: ClientKind,
    scopes: Iterable[Scope],
    rate_plan: str,
    now: datetime,
    partner_id: str | None = None,
    client_id: str | None = None,
) -> tuple[ApiClient, str]:
    """A new client and its secret in clear text: show it once, it cannot be recovered."""
    _require_aware(now)
    secret = generate_secret(_secret_prefix(kind))
    client = ApiClient(
        client_id=client_id or _new_client_id(),
        name=name,
        kind=kind,
        partner_id=partner_id,
        scopes=frozenset(scopes),
        rate_plan=rate_plan,
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    return client, secret


def rotate(client: ApiClient, now: datetime, grace: timedelta = DEFAULT_ROTATION_GRACE) -> tuple[ApiClient, str]:
    """A new secret for `client`; the current one keeps working for `grace` (zero shuts it out at once).

    Only one previous secret is kept: rotating again within the grace period ends the older secret's grace.
    """
    _require_aware(now)
    if client.is_revoked(now):
        raise ValueError(f"API client {client.client_id} is revoked; create a new client instead of rotating")
    if not timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        raise ValueError(f"the rotation grace period must be between 0 and {MAX_ROTATION_GRACE}, not {grace}")
    secret = generate_secret(_secret_prefix(client.kind))
    keep_previous = grace > timedelta(0)
    rotated = replace(
        client,
        secret_hash=hash_secret(secret),
        previous_secret_hash=client.secret_hash if keep_previous else None,
        previous_valid_until=now + grace if keep_previous else None,
        rotated_at=now,
    )
    return rotated, secret


def revoke(client: ApiClient, now: datetime) -> ApiClient:
    """The client, revoked: none of its secrets works from `now` on. Revoking again keeps the first time."""
    _require_aware(now)
    if client.revoked_at is not None:
        return client
    return replace(client, revoked_at=now, previous_secret_hash=None, previous_valid_until=None)


def check_secret(client: ApiClient, presented: str, now: datetime) -> bool:
    """Whether `presented` is the client's secret, or its previous one still in its grace period, at `now`."""
    if client.is_revoked(now) or not looks_like_secret(presented):
        return False
    digest = hash_secret(presented)
    # Constant-time comparisons, though the hashes are of 256-bit secrets: cheap, and no reviewer has to wonder.
    if hmac.compare_digest(digest, client.secret_hash):
        return True
    return (
        client.previous_secret_hash is not None
        and client.previous_valid_until is not None
        and now < client.previous_valid_until
        and hmac.compare_digest(digest, client.previous_secret_hash)
    )


def to_record(client: ApiClient) -> ApiClientRecord:
    """The store's record of `client`."""
    return ApiClientRecord(
        client_id=client.client_id,
        name=client.name,
        kind=client.kind,
        scopes=frozenset(str(scope) for scope in client.scopes),
        secret_hash=client.secret_hash,
        partner_id=client.partner_id,
        rate_plan=client.rate_plan,
        previous_secret_hash=client.previous_secret_hash,
        previous_valid_until=client.previous_valid_until,
        created_at=client.created_at,
        rotated_at=client.rotated_at,
        revoked_at=client.revoked_at,
    )


def from_record(record: ApiClientRecord) -> ApiClient:
    """The client a store record holds; raises ValueError if the record names an unknown scope or lacks created_at."""
    if record.created_at is None:
        raise ValueError(f"API client record {record.client_id} has no created_at")
    return ApiClient(
        client_id=record.client_id,
        name=record.name,
        kind=record.kind,
        partner_id=record.partner_id,
        scopes=parse_scope(" ".join(record.scopes)) if record.scopes else frozenset(),
        rate_plan=record.rate_plan,
        secret_hash=record.secret_hash,
        created_at=record.created_at,
        previous_secret_hash=record.previous_secret_hash,
        previous_valid_until=record.previous_valid_until,
        rotated_at=record.rotated_at,
        revoked_at=record.revoked_at,
    )
