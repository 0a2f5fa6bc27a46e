"""Customer fields put into one spelling before they are compared: "ACME Plbg. Sply, Inc." is `acme plumbing supply`.

Every rule here is a plain string rule, so a million records normalise in about 25 s of CPU. US addresses use our
own USPS Publication 28 style rules (street types, directions, unit designators, ZIP+4) rather than
usaddress-scourgify: scourgify parses with a CRF model at about 185 µs an address here, three minutes for a
million records, against a two-minute budget for the whole dedupe. Phones go through `phonenumbers` (about 18 µs a
number), cached by raw string; North American numbers, most of a US distributor's, take a shortcut that gives the
same E.164 string (the tests hold it to phonenumbers' answer).

An empty string means "no usable value": the matcher treats it as missing, never as a disagreement.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from crossdock.mdm.model import CustomerRecord

# Words that say what kind of company it is, not which one: "Acme Supply LLC" and "ACME SUPPLY" are one company.
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated", "kg", "lc",
        "lp", "llc", "llp", "ltd", "ltee", "limited", "nv", "oy", "pc", "plc", "pllc", "pty", "sa", "sarl", "spa",
        "srl", "ulc", "ug",
    }
)  # fmt: skip
# Abbreviations distributors' systems use for the same word; both sides are expanded before comparing.
NAME_ABBREVIATIONS = {
    "intl": "international", "mfg": "manufacturing", "mfrs": "manufacturers",
    "mfr": "manufacturer", "dist": "distribution", "distr": "distribution", "distrib": "distribution",
    "distributors": "distribution", "distributor": "distribution", "distributing": "distribution",
    "svc": "services", "svcs": "services", "serv": "services", "service": "services", "bros": "brothers",
    "sply": "supply", "sup": "supply", "supp": "supply", "supplies": "supply", "whse": "wholesale",
    "whsl": "wholesale", "whsle": "wholesale", "wholesalers": "wholesale", "elec": "electrical",
    "electric": "electrical", "plbg": "plumbing", "plmb": "plumbing", "htg": "heating", "equip": "equipment",
    "eqpt": "equipment",
    "indl": "industrial", "ind": "industrial", "inds": "industries", "prods": "products", "prod": "products",
    "hdwe": "hardware", "hdw": "hardware", "natl": "national", "amer": "american", "assoc": "associates",
    "assocs": "associates", "grp": "group", "ctr": "center", "centre": "center", "mech": "mechanical",
    "mtl": "metal", "mtls": "metals", "sys": "systems", "tech": "technologies", "chem": "chemical",
    "pkg": "packaging", "mkt": "market", "st": "saint", "mt": "mount", "ft": "fort", "n": "north", "s": "south",
    "e": "east", "w": "west",
}  # fmt: skip
# Leading words that never tell companies apart.
_NAME_STOPWORDS = frozenset({"the"})

# USPS Publication 28 street suffixes and directionals most used in distributors' ship-to data.
_US_STREET_WORDS = {
    "STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVN": "AVE", "ROAD": "RD", "BOULEVARD": "BLVD",
    "BOUL": "BLVD", "DRIVE": "DR", "DRV": "DR", "LANE": "LN", "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY",
    "PKY": "PKWY", "HIGHWAY": "HWY", "CIRCLE": "CIR", "TERRACE": "TER", "TRAIL": "TRL", "SQUARE": "SQ",
    "EXPRESSWAY": "EXPY", "FREEWAY": "FWY", "CENTER": "CTR", "CENTRE": "CTR", "PLAZA": "PLZ", "POINT": "PT",
    "CROSSING": "XING", "TURNPIKE": "TPKE", "ALLEY": "ALY", "LOOP": "LOOP", "PIKE": "PIKE", "ROUTE": "RTE",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW",
    "SOUTHEAST": "SE", "SOUTHWEST": "SW", "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH",
    "FIFTH": "5TH", "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "MOUNT": "MT", "FORT": "FT", "SAINT": "ST",
}  # fmt: skip
# Unit designators are dropped and the unit number kept: "Suite 200", "Ste 200" and "#200" are one unit.
_UNIT_WORDS = frozenset(
    {"SUITE", "STE", "UNIT", "APT", "APARTMENT", "FL", "FLOOR", "BLDG", "BUILDING", "RM", "ROOM", "DEPT", "NO"}
)
_DE_STREET_ENDINGS = (("STRASSE", "STR"), ("PLATZ", "PL"), ("WEG", "WEG"))
_CITY_WORDS = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT", "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W"}
# Mailbox providers anyone can use: sharing one says nothing about being the same company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.ca", "yahoo.co.uk", "yahoo.de", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
        "mail.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "btinternet.com", "comcast.net", "att.net",
        "sbcglobal.net", "verizon.net", "bellsouth.net", "shaw.ca", "rogers.com", "sympatico.ca", "protonmail.com",
        "proton.me",
    }
)  # fmt: skip
_EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@((?:[a-z0-9-]+\.)+[a-z]{2,})$")
# str.translate tables: one pass per string, several times faster than a regular expression here.
_NAME_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation, " ") | {"&": " and ", "'": ""})
_ADDRESS_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation, " "))
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")
_PHONE_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_PHONE_KEEP = re.compile(r"[^0-9+]+")
_HOUSE_NUMBER = re.compile(r"^\d+[A-Z]?$")
_NANP_REGIONS = frozenset({"US", "CA"})


@dataclass(frozen=True, slots=True)
class NormalisedCustomer:
    """A customer record's identifying fields in one spelling each; "" where there is no usable value."""

    record_id: str
    name: str  # company key in written order: "midwest plumbing supply"
    name_sorted: str  # the same words sorted, so swapped words compare equal: "midwest plumbing supply"
    tax_id: str  # separators dropped, upper case: "123456789"
    street: str  # "123 N MAIN ST 200"
    house_number: str  # the street's leading number, "123"; "" for a PO box or no number
    city: str  # "ST LOUIS"
    postal_code: str  # US: the five-digit ZIP; CA and GB: no spaces; "M5V2T6"
    country: str  # ISO 3166-1 alpha-2; "" when unknown
    phone: str  # E.164: "+13125550134"
    email: str  # lower case, syntax-checked: "orders@midwestplumbing.com"
    email_domain: str  # the company's mail domain; "" for free-mail domains such as gmail.com


def _ascii(text: str) -> str:
    """Accents dropped and ß spelled out, so "Müller Straße" and "Mueller Strasse" come close."""
    if text.isascii():
        return text
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters become one word: "a b c supply" (from "A.B.C. Supply") is "abc supply"."""
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    return joined


def company_words(name: str) -> list[str]:
    """A company name as comparable words: ascii, lower case, `&` as "and", abbreviations expanded, suffixes off."""
    words = _join_initials(_ascii(name).lower().translate(_NAME_PUNCTUATION).split())
    words = [NAME_ABBREVIATIONS.get(word, word) for word in words]
    # Legal suffixes trail the name ("Midwest Supply Co., Inc.", "Müller GmbH & Co. KG"); strip them from the end.
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):
        words.pop()
    while len(words) > 1 and words[0] in _NAME_STOPWORDS:
        words.pop(0)
    return words


@lru_cache(maxsize=262_144)
def _company_keys(name: str) -> tuple[str, str]:
    """The company key in written order and with its words sorted."""
    words = company_words(name)
    return " ".join(words), " ".join(sorted(words))


@lru_cache(maxsize=262_144)
def _street(street: str, country: str) -> tuple[str, str]:
    """A street line in one spelling, and its house number."""
    words = _ascii(street).upper().translate(_ADDRESS_PUNCTUATION).split()
    if country == "DE":
        # German streets glue the type on: "Hauptstraße 5" and "Hauptstr. 5" are one street.
        words = [_de_street_word(word) for word in words]
    else:
        words = [_US_STREET_WORDS.get(word, word) for word in words]
    kept = [word for word in words if word not in _UNIT_WORDS]
    if len(kept) >= 3 and kept[0] == "P" and kept[1] == "O" and kept[2] == "BOX":
        kept = ["PO", *kept[2:]]
    house = ""
    if kept and _HOUSE_NUMBER.match(kept[0]):
        house = kept[0]
    elif country == "DE" and kept and _HOUSE_NUMBER.match(kept[-1]):
        house = kept[-1]
    return " ".join(kept), house


def _de_street_word(word: str) -> str:
    for ending, short in _DE_STREET_ENDINGS:
        if word.endswith(ending):
            return word[: -len(ending)] + short
    return word


@lru_cache(maxsize=65_536)
def _city(city: str) -> str:
    words = _NOT_ALNUM.sub(" ", _ascii(city).upper()).split()
    return " ".join(_CITY_WORDS.get(word, word) for word in words)


@lru_cache(maxsize=65_536)
def _postal_code(postal_code: str, country: str) -> str:
    code = _NOT_ALNUM.sub("", _ascii(postal_code).upper())
    if country in {"US", ""} and len(code) >= 5 and code[:5].isdigit():
        # ZIP+4 narrows the delivery point within a ZIP; one system keeps it and another does not.
        return code[:5]
    return code


@lru_cache(maxsize=1_048_576)
def _e164(cleaned: str, region: str) -> str:
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=262_144)
def phone_e164(phone: str, country: str) -> str:
    """The number in E.164 ("+13125550134"), extensions dropped; "" when it cannot be a phone number."""
    cleaned = _PHONE_KEEP.sub("", _PHONE_EXTENSION.sub("", phone))
    if len(cleaned) < 7:
        return ""
    region = country or "US"
    if region in _NANP_REGIONS:
        # Most numbers are North American; their E.164 form is +1 and the ten digits, exactly what phonenumbers
        # returns, at a twentieth of the cost. Anything not shaped like one goes to phonenumbers.
        digits = cleaned.removeprefix("+1") if cleaned.startswith("+1") else cleaned.removeprefix("1")
        if len(digits) == 10 and digits.isdigit() and digits[0] >= "2" and digits[3] >= "2":
            return "+1" + digits
    return _e164(cleaned, region)


@lru_cache(maxsize=65_536)
def _email_domain(domain: str) -> str:
    return "" if domain in FREE_MAIL_DOMAINS else domain


def email_parts(email: str) -> tuple[str, str]:
    """The address lower-cased if its syntax is valid, and its company domain ("" for free mail); else ("", "")."""
    address = email.strip().lower()
    found = _EMAIL.match(address)
    if found is None:
        return "", ""
    return address, _email_domain(found.group(1))


def tax_key(tax_id: str, country: str) -> str:
    """A tax id with separators dropped; a VAT number's country prefix ("DE", "GB") is dropped too."""
    key = _NOT_ALNUM.sub("", tax_id.upper())
    if country and key.startswith(country) and key[len(country) :].isdigit():
        key = key[len(country) :]
    return key


@lru_cache(maxsize=1_024)
def _country(country: str | None) -> str:
    code = (country or "").strip().upper()
    return {"USA": "US", "CAN": "CA", "UK": "GB", "DEU": "DE", "GER": "DE"}.get(code, code)


def normalise(record: CustomerRecord) -> NormalisedCustomer:
    """One record's identifying fields in one spelling each."""
    country = _country(record.country)
    name, name_sorted = _company_keys(record.name or record.legal_name or "")
    street, house = _street(record.street, country) if record.street else ("", "")
    email, domain = email_parts(record.email) if record.email else ("", "")
    return NormalisedCustomer(
        record_id=record.record_id,
        name=name,
        name_sorted=name_sorted,
        tax_id=tax_key(record.tax_id, country) if record.tax_id else "",
        street=street,
        house_number=house,
        city=_city(record.city) if record.city else "",
        postal_code=_postal_code(record.postal_code, country) if record.postal_code else "",
        country=country,
        phone=phone_e164(record.phone, country) if record.phone else "",
        email=email,
        email_domain=domain,
    )
