"""How a party is reached: postal addresses by role (bill-to, ship-to, remit-to) and contact points."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

import phonenumbers
from pydantic import Field, ValidationInfo, field_validator, model_validator

from crossdock.model.common import CanonicalModel
from crossdock.model.scalars import CanonicalId, Code, CountryCode, Text

# Carriers and tax engines refuse these shipments; other countries' formats vary too much to check here.
_POSTAL_CODES: dict[str, tuple[re.Pattern[str], str]] = {
    "US": (re.compile(r"[0-9]{5}(-[0-9]{4})?"), "a ZIP code such as 30301 or 30301-1234"),
    "CA": (re.compile(r"[A-Z][0-9][A-Z] [0-9][A-Z][0-9]"), "a postal code such as K1A 0B1"),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ().\-/]{2,30}(\s*(x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)


class AddressKind(StrEnum):
    """What an address is used for."""

    BILL_TO = "bill_to"
    SHIP_TO = "ship_to"
    REMIT_TO = "remit_to"
    """Where a supplier wants payments sent."""
    SHIP_FROM = "ship_from"
    MAILING = "mailing"
    REGISTERED = "registered"
    """The legal entity's registered office."""


class Address(CanonicalModel):
    """A postal address with its role; the country decides which postal code layout is checked."""

    kind: AddressKind
    country: CountryCode
    lines: list[Text] = Field(min_length=1, max_length=5)
    """Street lines, first to last (building, street, suite, dock door)."""
    city: Text
    region: Code | None = None
    """State, province or county; for US and CA the two-letter postal abbreviation."""
    postal_code: Code | None = None
    name: Text | None = None
    """The name on the label when it differs from the account's (a branch, a warehouse, an end customer)."""
    attention: Text | None = None
    id: CanonicalId | None = None
    """A stable id for the address within its account, so an edit is not seen as a delete and an add."""
    is_default: bool = False
    """The account's default address of this kind."""

    @field_validator("postal_code")
    @classmethod
    def check_postal_code(cls, code: str | None, info: ValidationInfo) -> str | None:
        """US and Canadian postal codes are well formed (carriers refuse others), in one spelling (no echo)."""
        rule = _POSTAL_CODES.get(info.data.get("country", ""))
        if rule is None or code is None:
            return code
        pattern, example = rule
        normal = code.upper()
        if info.data["country"] == "CA" and len(normal) == 6:
            normal = f"{normal[:3]} {normal[3:]}"
        if not pattern.fullmatch(normal):
            raise ValueError(f"postal code {code!r} is not {example}")
        return normal

    @model_validator(mode="after")
    def check_required_parts(self) -> Self:
        """US and Canadian addresses name their state or province and postal code."""
        if self.country in _POSTAL_CODES and (self.region is None or self.postal_code is None):
            raise ValueError(f"{self.country} addresses need a region (state or province) and a postal code")
        return self


def ensure_one_default_per_kind(addresses: list[Address], owner: str) -> None:
    """Raise ValueError if two addresses of the same kind are both marked default."""
    defaults = [a.kind for a in addresses if a.is_default]
    for kind in set(defaults):
        if defaults.count(kind) > 1:
            raise ValueError(f"{owner} has {defaults.count(kind)} default {kind.value} addresses; mark one default")


class ContactChannel(StrEnum):
    """How a contact point is used."""

    EMAIL = "email"
    PHONE = "phone"
    MOBILE = "mobile"
    FAX = "fax"
    WEB = "web"


class ContactPoint(CanonicalModel):
    """An e-mail address, phone number or web address, with a label saying what it is for."""

    channel: ContactChannel
    value: Text
    label: Text | None = None
    """What the point is for: "order desk", "accounts payable", "receiving dock"."""
    preferred: bool = False
    """The one to use first on this channel."""

    @field_validator("value")
    @classmethod
    def check_value(cls, value: str, info: ValidationInfo) -> str:
        """E-mail addresses and phone numbers have a plausible shape (no full RFC 5322 parse: systems disagree)."""
        channel = info.data.get("channel")
        if channel == ContactChannel.EMAIL and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        if channel in (ContactChannel.PHONE, ContactChannel.MOBILE, ContactChannel.FAX):
            if not _PHONE.fullmatch(value):
                raise ValueError(
                    f"{value!r} is not a phone number; use digits, spaces, + ( ) - . / and an optional 'ext 123'"
                )
            return e164(value)
        return value


def e164(value: str) -> str:
    """An international number (one that starts with +) in E.164, its extension kept as ` ext N`; other numbers
    as given (without a country their digits mean nothing certain).

    Systems write one number their own way: Tryton formats it ("+1 404-555-0147"), a CRM keeps what a person typed
    ("+1 (404) 555 0147"). In canonical terms they must be one value, or every system's formatting would read as
    a change to the number and travel back to the others.
    """
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted} ext {number.extension}" if number.extension else formatted


def emails(points: list[ContactPoint]) -> list[str]:
    """The e-mail addresses among `points`, preferred first."""
    return [p.value for p in sorted(points, key=lambda p: not p.preferred) if p.channel == ContactChannel.EMAIL]


def phones(points: list[ContactPoint]) -> list[str]:
    """The phone, mobile and fax numbers among `points`, preferred first."""
    voice = (ContactChannel.PHONE, ContactChannel.MOBILE, ContactChannel.FAX)
    return [p.value for p in sorted(points, key=lambda p: not p.preferred) if p.channel in voice]


def ensure_one_preferred_per_channel(points: list[ContactPoint], owner: str) -> None:
    """Raise ValueError if two contact points of one channel are both preferred."""
    preferred = [p.channel for p in points if p.preferred]
    for channel in set(preferred):
        if preferred.count(channel) > 1:
            raise ValueError(f"{owner} has {preferred.count(channel)} preferred {channel.value} contact points")
