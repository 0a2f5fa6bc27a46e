"""Passwords (scrypt from the standard library: no native dependency to build) and random tokens."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# 32 MiB of memory per hash, about 0.1 s on a server core: OWASP's floor for scrypt is N=2^17 with r=8 at p=1 or
# N=2^15 at p=3; a console login is rare enough to afford the second.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 3
_KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_LENGTH = 12


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_KEY_BYTES)


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$key`, with a fresh salt; the parameters travel with the hash so they can be raised."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, _unb64(key))


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_time(password: str) -> None:
    """Spend what a verification would, and fail: an unknown username costs as long as a wrong password."""
    verify_password(password, _dummy_hash())


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters (a few words make a good one)"
    if password.strip() != password:
        return "do not start or end the password with spaces"
    return None


def new_token() -> str:
    """A random token for a cookie or a form (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
