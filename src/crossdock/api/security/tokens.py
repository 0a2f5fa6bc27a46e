"""Short-lived access tokens for the OAuth 2.0 client-credentials grant: signed JWTs (HS256, RFC 9068 `at+jwt`).

Keys are identified by `kid` in a `Keyring`: one active key signs, older keys still verify, so a key rotates without
a flag day (add the new key everywhere, promote it, drop the old one once the longest token it signed has expired).

PyJWT issues the tokens. Verification is our own, on purpose: it accepts exactly the tokens this module issues
(header `{"alg": "HS256", "kid": ..., "typ": "at+jwt"}`, signature compared before the payload is even decoded),
which pins the algorithm by construction: `none`, RS/HS confusion and header-borne keys (`jwk`, `jku`) have no path
in. It runs on every request, and PyJWT 2.15 takes about three times as long per decode (a per-character alphabet
check in Python); a verified token is then cached, so a client reusing its token costs a dictionary lookup and an
expiry check. The tests check the format against PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson

from crossdock.api.security.scopes import (
    GRANTABLE,
    ClientKind,
    InsufficientScopeError,
    InvalidScopeError,
    Scope,
    check_grantable,
    format_scope,
    parse_scope,
)

__all__ = [
    "DEFAULT_TTL_S",
    "LEEWAY_S",
    "MAX_TOKEN_CHARS",
    "MAX_TTL_S",
    "IssuedToken",
    "Keyring",
    "Principal",
    "RefusalReason",
    "SigningKey",
    "TokenIssuer",
    "TokenRefusedError",
]

DEFAULT_TTL_S = 300
MAX_TTL_S = 3600
LEEWAY_S = 5  # clock skew between API instances; small, because it lengthens every token's life
MAX_TOKEN_CHARS = 4096  # ours are about 400; refusing longer ones first bounds the work an unauthenticated caller buys
MIN_KEY_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash output

_ALGORITHM = "HS256"
# RFC 9068: keeps any other JWT signed with the same key from passing as an access token.
_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a password)
_HEADER_FIELDS = frozenset({"alg", "kid", "typ"})
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "scope", "kind")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RefusalReason(enum.StrEnum):
    """Why a token was refused: safe to show a client, and nothing more specific than it needs."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"
    MISSING_CLAIM = "missing_claim"


_MESSAGES: Mapping[RefusalReason, str] = {
    RefusalReason.EXPIRED: "the access token has expired; request a new one",
    RefusalReason.NOT_YET_VALID: "the access token is not valid yet; check the client's clock",
    RefusalReason.BAD_SIGNATURE: "the access token's signature is not valid",
    RefusalReason.UNKNOWN_KEY: "the access token was signed with a key this API no longer accepts; request a new one",
    RefusalReason.MALFORMED: "the access token is malformed",
    RefusalReason.WRONG_AUDIENCE: "the access token was issued for another audience",
    RefusalReason.WRONG_ISSUER: "the access token was issued by another issuer",
    RefusalReason.MISSING_CLAIM: "the access token lacks a required claim",
}


class TokenRefusedError(Exception):
    """An access token that must not be honoured; `reason` and the message are safe for a problem+json body."""

    error = "invalid_token"  # the bearer-token error code (RFC 6750 §3.1), answered with 401

    def __init__(self, reason: RefusalReason) -> None:
        self.reason = reason
        super().__init__(_MESSAGES[reason])


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(segment: str) -> Any:
    """A base64url segment holding JSON, decoded; raises MALFORMED for anything else."""
    if not _SEGMENT.fullmatch(segment):
        raise TokenRefusedError(RefusalReason.MALFORMED)
    try:
        return orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        raise TokenRefusedError(RefusalReason.MALFORMED) from None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An HS256 key and the `kid` tokens name it by."""

    kid: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KID.fullmatch(self.kid):
            raise ValueError(f"key id {self.kid!r} must be 1 to 64 letters, digits, '.', '_' or '-'")
        if len(self.secret) < MIN_KEY_BYTES:
            raise ValueError(f"an HS256 key needs at least {MIN_KEY_BYTES} random bytes, not {len(self.secret)}")

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        """A fresh 256-bit key; its kid defaults to a random one."""
        return cls(kid=kid or f"k-{secrets.token_hex(6)}", secret=secrets.token_bytes(32))

    @classmethod
    def from_b64url(cls, kid: str, text: str) -> SigningKey:
        """A key from its base64url text, as kept in configuration or a secret store."""
        try:
            secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except binascii.Error:
            raise ValueError(f"key {kid!r} is not valid base64url text") from None
        return cls(kid=kid, secret=secret)

    def to_b64url(self) -> str:
        """The key as base64url text, for configuration or a secret store."""
        return _b64url(self.secret)


@dataclass(frozen=True, slots=True)
class Keyring:
    """The active signing key and the older keys still accepted when verifying."""

    active: SigningKey
    accepted: tuple[SigningKey, ...] = ()
    _by_kid: Mapping[str, SigningKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kid: dict[str, SigningKey] = {}
        for key in (self.active, *self.accepted):
            if key.kid in by_kid:
                raise ValueError(f"key id {key.kid!r} appears twice in the keyring; give each key its own kid")
            by_kid[key.kid] = key
        object.__setattr__(self, "_by_kid", by_kid)

    def get(self, kid: str) -> SigningKey | None:
        """The key with this kid, if tokens signed with it are still accepted."""
        return self._by_kid.get(kid)

    def add(self, key: SigningKey) -> Keyring:
        """Accept tokens signed with `key` without signing with it yet: step one of a rotation across instances."""
        return Keyring(self.active, (*self.accepted, key))

    def promote(self, kid: str) -> Keyring:
        """Sign with the accepted key `kid` from now on; the former active key stays accepted."""
        key = self.get(kid)
        if key is None:
            raise ValueError(f"no key {kid!r} in the keyring; add it before promoting it")
        return Keyring(key, tuple(k for k in (self.active, *self.accepted) if k.kid != kid))

    def rotate(self, key: SigningKey | None = None) -> Keyring:
        """Sign with a new key at once (one instance, or all reloaded together); the old one stays accepted."""
        key = key or SigningKey.generate()
        return self.add(key).promote(key.kid)

    def drop(self, kid: str) -> Keyring:
        """Stop accepting tokens signed with `kid` (after the longest token it signed expired, or at once if leaked)."""
        if kid == self.active.kid:
            raise ValueError(f"key {kid!r} is the active signing key; promote another key before dropping it")
        if self.get(kid) is None:
            raise ValueError(f"no key {kid!r} in the keyring")
        return Keyring(self.active, tuple(k for k in self.accepted if k.kid != kid))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as a verified access token says."""

    client_id: str
    kind: ClientKind
    partner_id: str | None
    scopes: frozenset[Scope]
    token_id: str
    expires_at: datetime

    def has(self, scope: Scope | str) -> bool:
        """Whether the token carries `scope`."""
        return scope in self.scopes

    def require(self, *scopes: Scope) -> None:
        """Raise `InsufficientScopeError` unless the token carries every one of `scopes`."""
        missing = frozenset(scopes) - self.scopes
        if missing:
            raise InsufficientScopeError(missing)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued access token and what the token endpoint answers about it."""

    access_token: str = field(repr=False)
    expires_in: int
    scope: str
    principal: Principal
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 token type, not a password)

    def to_response(self) -> dict[str, str | int]:
        """The successful token response body (RFC 6749 §5.1)."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


class TokenIssuer:
    """Issues and verifies the API's access tokens with one keyring, issuer and audience."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        issuer: str,
        audience: str,
        default_ttl_s: int = DEFAULT_TTL_S,
        leeway_s: int = LEEWAY_S,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        if not 1 <= default_ttl_s <= MAX_TTL_S:
            raise ValueError(f"default_ttl_s must be between 1 and {MAX_TTL_S} seconds, not {default_ttl_s}")
        if not issuer or not audience:
            raise ValueError("a token issuer needs a non-empty issuer and audience")
        self._keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.default_ttl_s = default_ttl_s
        self.leeway_s = leeway_s
        self._clock = clock
        self._cache_size = cache_size
        # token text -> (principal, exp). Only tokens that passed every check get in, so a caller cannot fill it
        # with garbage; the lock makes the LRU safe to share between threads.
        self._cache: OrderedDict[str, tuple[Principal, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0  # bumped on every keyring switch, so a verify that raced the switch is not cached

    @property
    def keyring(self) -> Keyring:
        """The keys this issuer signs and verifies with."""
        return self._keyring

    def use_keyring(self, keyring: Keyring) -> None:
        """Switch keys, e.g. after a rotation; forgets cached tokens so a dropped key stops working at once."""
        with self._lock:
            self._keyring = keyring
            self._generation += 1
            self._cache.clear()

    def issue(
        self,
        *,
        client_id: str,
        kind: ClientKind,
        scopes: Iterable[Scope],
        partner_id: str | None = None,
        ttl_s: int | None = None,
    ) -> IssuedToken:
        """A signed access token for a client that has proved its credentials and may hold `scopes`."""
        granted = frozenset(scopes)
        ttl = self.default_ttl_s if ttl_s is None else ttl_s
        if not 1 <= ttl <= MAX_TTL_S:
            raise ValueError(f"a token lives between 1 and {MAX_TTL_S} seconds, not {ttl}")
        if not client_id:
            raise ValueError("a token needs the client id it is issued to")
        if not granted:
            raise InvalidScopeError("a token needs at least one scope")
        check_grantable(kind, granted)
        if (kind is ClientKind.PARTNER) != (partner_id is not None):
            raise ValueError("a partner client's token needs its partner_id, and only a partner client's token has one")
        now = int(self._clock())
        scope = format_scope(granted)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
            "kind": str(kind),
        }
        if partner_id is not None:
            claims["partner"] = partner_id
        key = self._keyring.active
        token = jwt.encode(claims, key.secret, algorithm=_ALGORITHM, headers={"kid": key.kid, "typ": _TOKEN_TYPE})
        principal = Principal(
            client_id=client_id,
            kind=kind,
            partner_id=partner_id,
            scopes=granted,
            token_id=claims["jti"],
            expires_at=datetime.fromtimestamp(now + ttl, UTC),
        )
        return IssuedToken(access_token=token, expires_in=ttl, scope=scope, principal=principal)

    def verify(self, token: str) -> Principal:
        """The principal a bearer token stands for; raises `TokenRefusedError` with the reason otherwise."""
        now = self._clock()
        with self._lock:
            generation, keyring = self._generation, self._keyring
            hit = self._cache.get(token)
            if hit is not None:
                self._cache.move_to_end(token)
        if hit is not None:
            principal, exp = hit
            # Identical text verified before, so only time can have changed its answer (nbf only ever passes).
            if now > exp + self.leeway_s:
                with self._lock:
                    self._cache.pop(token, None)
                raise TokenRefusedError(RefusalReason.EXPIRED)
            return principal
        principal, exp = self._verify(token, keyring, now)
        with self._lock:
            if generation == self._generation:
                self._cache[token] = (principal, exp)
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return principal

    def _verify(self, token: str, keyring: Keyring, now: float) -> tuple[Principal, int]:
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise TokenRefusedError(RefusalReason.MALFORMED)
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRefusedError(RefusalReason.MALFORMED)
        header_segment, payload_segment, signature_segment = parts
        header = _b64url_json(header_segment)
        if not isinstance(header, dict):
            raise TokenRefusedError(RefusalReason.MALFORMED)
        if header.get("alg") != _ALGORITHM:
            # `none`, RS256 and the rest: we never sign that way, so the signature cannot be ours.
            raise TokenRefusedError(RefusalReason.BAD_SIGNATURE)
        kid = header.get("kid")
        if header.keys() != _HEADER_FIELDS or header["typ"] != _TOKEN_TYPE or not isinstance(kid, str):
            raise TokenRefusedError(RefusalReason.MALFORMED)
        key = keyring.get(kid)
        if key is None:
            raise TokenRefusedError(RefusalReason.UNKNOWN_KEY)
        signing_input = token[: len(header_segment) + 1 + len(payload_segment)].encode("ascii")
        # Compare in encoded form: only the canonical base64url of the MAC matches, so no other spelling of a
        # signature (spare low bits in the last character) makes a second valid text of the same token.
        expected = _b64url(hmac.digest(key.secret, signing_input, "sha256"))
        if not hmac.compare_digest(expected, signature_segment):
            raise TokenRefusedError(RefusalReason.BAD_SIGNATURE)
        claims = _b64url_json(payload_segment)
        if not isinstance(claims, dict):
            raise TokenRefusedError(RefusalReason.MALFORMED)
        exp = self._check_claims(claims, now)
        return _principal(claims, exp), exp

    def _check_claims(self, claims: dict[str, Any], now: float) -> int:
        """Check presence, issuer, audience and time; return `exp`."""
        for name in _REQUIRED_CLAIMS:
            if name not in claims:
                raise TokenRefusedError(RefusalReason.MISSING_CLAIM)
        if claims["iss"] != self.issuer:
            raise TokenRefusedError(RefusalReason.WRONG_ISSUER)
        aud = claims["aud"]
        if not (aud == self.audience or (isinstance(aud, list) and self.audience in aud)):
            raise TokenRefusedError(RefusalReason.WRONG_AUDIENCE)
        iat, nbf, exp = claims["iat"], claims["nbf"], claims["exp"]
        if not all(type(t) is int for t in (iat, nbf, exp)) or not 0 < exp - iat <= MAX_TTL_S:
            # A lifetime we never grant means the token is not one of ours, whatever its signature.
            raise TokenRefusedError(RefusalReason.MALFORMED)
        if now > exp + self.leeway_s:
            raise TokenRefusedError(RefusalReason.EXPIRED)
        if now + self.leeway_s < max(nbf, iat):
            raise TokenRefusedError(RefusalReason.NOT_YET_VALID)
        return int(exp)


def _principal(claims: dict[str, Any], exp: int) -> Principal:
    """The principal of claims whose signature, issuer, audience and times have been checked."""
    sub, jti, scope = claims["sub"], claims["jti"], claims["scope"]
    if not (isinstance(sub, str) and sub and isinstance(jti, str) and jti and isinstance(scope, str)):
        raise TokenRefusedError(RefusalReason.MALFORMED)
    try:
        kind = ClientKind(claims["kind"])
        scopes = parse_scope(scope)
    except (ValueError, TypeError):
        raise TokenRefusedError(RefusalReason.MALFORMED) from None
    if not scopes <= GRANTABLE[kind]:
        raise TokenRefusedError(RefusalReason.MALFORMED)
    partner = claims.get("partner")
    if kind is ClientKind.PARTNER:
        if partner is None:
            raise TokenRefusedError(RefusalReason.MISSING_CLAIM)
        if not isinstance(partner, str) or not partner:
            raise TokenRefusedError(RefusalReason.MALFORMED)
    elif partner is not None:
        raise TokenRefusedError(RefusalReason.MALFORMED)
    return Principal(
        client_id=sub,
        kind=kind,
        partner_id=partner,
        scopes=scopes,
        token_id=jti,
        expires_at=datetime.fromtimestamp(exp, UTC),
    )
