"""Salesforce record ids: 15-character case-sensitive ids, their 18-character checksummed form, and new ids."""

from __future__ import annotations

import secrets

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The 4th to 6th characters of a real id name the pod and a reserved digit; any fixed value will do here.
_POD = "5g0"


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitive (one bit per upper-case letter)."""
    suffix = []
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to18(value: object) -> str | None:
    """The canonical 18-character id for a 15- or 18-character id, or None when the value is not a well-formed id."""
    if not isinstance(value, str) or not value.isascii() or not value.isalnum():
        return None
    if len(value) == 15:
        return value + checksum(value)
    if len(value) != 18:
        return None
    # An 18-character id may arrive in any case: its suffix says which of the first 15 characters are upper case.
    chars = list(value[:15])
    for chunk, code in enumerate(value[15:].upper()):
        bits = _SUFFIX_ALPHABET.find(code)
        if bits < 0:
            return None
        for position in range(5):
            index = chunk * 5 + position
            if bits >> position & 1:
                if not chars[index].isalpha():
                    return None
                chars[index] = chars[index].upper()
            else:
                chars[index] = chars[index].lower()
    id15 = "".join(chars)
    return id15 + checksum(id15)


def base62(number: int, width: int) -> str:
    """`number` in Salesforce's base-62 digits, left-padded with zeros to `width`."""
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def make_id(key_prefix: str, sequence: int) -> str:
    """The 18-character id of the `sequence`-th record with this key prefix (001 Account, 003 Contact, ...)."""
    return to18(f"{key_prefix}{_POD}{base62(sequence, 9)}") or ""


def random_id(key_prefix: str) -> str:
    """A random 18-character id, for things that are not records (query locators, org ids)."""
    return to18(key_prefix + "".join(secrets.choice(_BASE62) for _ in range(12))) or ""
