"""Normalisation: the spellings distributors' systems use for one customer come out as one."""

from __future__ import annotations

import phonenumbers
import pytest

from crossdock.mdm.model import CustomerRecord
from crossdock.mdm.normalize import company_words, email_parts, normalise, phone_e164, tax_key


def record(**fields: str | None) -> CustomerRecord:
    values: dict[str, str | None] = {"record_id": "erp:1", "system": "erp", "name": "Acme Supply"}
    values.update(fields)
    return CustomerRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("ACME Supply, Inc.", "acme supply"),
        ("Acme Supply Co., Inc.", "Acme Supply"),
        ("Müller Sanitär GmbH & Co. KG", "Muller Sanitar"),
        ("Smith & Jones Distributors", "Smith and Jones Distribution"),
        ("Midwest Plbg. Sply", "Midwest Plumbing Supply"),
        ("Great Lakes Intl Mfg", "Great Lakes International Manufacturing"),
        ("Green Bros. Svcs LLC", "Green Brothers Services"),
        ("A.B.C. Wholesale", "ABC Whse"),
        ("The Ace Hardware Company", "Ace Hdwe"),
    ],
)
def test_company_name_spellings_normalise_alike(left: str, right: str) -> None:
    assert normalise(record(name=left)).name == normalise(record(name=right)).name


def test_swapped_words_share_the_sorted_name() -> None:
    a = normalise(record(name="Jones & Smith Supply"))
    b = normalise(record(name="Smith & Jones Supply"))
    assert a.name != b.name
    assert a.name_sorted == b.name_sorted


def test_a_legal_suffix_alone_is_kept_as_the_name() -> None:
    assert company_words("Inc") == ["inc"]
    assert company_words("") == []


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("123 North Main Street, Suite 200", "123 N MAIN ST STE 200"),
        ("123 N. Main St. #200", "123 North Main Street Unit 200"),
        ("4500 W Industrial Parkway", "4500 WEST INDUSTRIAL PKWY"),
        ("P.O. Box 77", "PO BOX 77"),
    ],
)
def test_us_street_spellings_normalise_alike(left: str, right: str) -> None:
    assert normalise(record(street=left, country="US")).street == normalise(record(street=right)).street


def test_street_keeps_its_house_number() -> None:
    customer = normalise(record(street="4500 W Industrial Pkwy Ste 12", country="US"))
    assert (customer.street, customer.house_number) == ("4500 W INDUSTRIAL PKWY 12", "4500")
    assert normalise(record(street="PO Box 77")).house_number == ""


def test_german_street_types_glued_to_the_name() -> None:
    a = normalise(record(street="Hauptstraße 5", country="DE"))
    b = normalise(record(street="Hauptstr. 5", country="DE"))
    assert a.street == b.street == "HAUPTSTR 5"
    assert a.house_number == "5"


@pytest.mark.parametrize(
    ("country", "raw", "expected"),
    [
        ("US", "60601-1234", "60601"),
        (None, "60601", "60601"),
        ("CA", "m5v 2t6", "M5V2T6"),
        ("GB", "EC1A 1BB", "EC1A1BB"),
        ("DE", "10115", "10115"),
    ],
)
def test_postal_codes(country: str | None, raw: str, expected: str) -> None:
    assert normalise(record(postal_code=raw, country=country)).postal_code == expected


def test_city_spellings() -> None:
    assert normalise(record(city="St. Louis")).city == normalise(record(city="SAINT LOUIS")).city == "ST LOUIS"


@pytest.mark.parametrize(
    "raw",
    ["(312) 555-0134", "312.555.0134", "+1 312 555 0134", "1-312-555-0134", "3125550134", "312-555-0134 ext. 12"],
)
def test_north_american_phone_formats_give_one_e164(raw: str) -> None:
    assert phone_e164(raw, "US") == "+13125550134"


@pytest.mark.parametrize(
    ("raw", "country"),
    [("(312) 555-0134", "US"), ("416 555 0199", "CA"), ("+49 30 1234567", "DE"), ("020 7946 0958", "GB")],
)
def test_phones_agree_with_phonenumbers(raw: str, country: str) -> None:
    """The North American fast path must give exactly what phonenumbers gives."""
    expected = phonenumbers.format_number(phonenumbers.parse(raw, country), phonenumbers.PhoneNumberFormat.E164)
    assert phone_e164(raw, country) == expected


def test_what_cannot_be_a_phone_number_is_missing() -> None:
    assert phone_e164("n/a", "US") == ""
    assert phone_e164("12", "US") == ""


def test_email_syntax_and_company_domain() -> None:
    assert email_parts(" Orders@MidwestPlumbing.com ") == ("orders@midwestplumbing.com", "midwestplumbing.com")
    assert email_parts("orders at midwest") == ("", "")
    # A free-mail domain is no sign of one company; the address itself still is.
    assert email_parts("greenvalve77@gmail.com") == ("greenvalve77@gmail.com", "")


def test_tax_ids_without_separators() -> None:
    assert tax_key("12-3456789", "US") == "123456789"
    assert tax_key("DE 123 456 789", "DE") == "123456789"
    assert tax_key("123456789 RT 0001", "CA") == "123456789RT0001"


def test_missing_fields_are_empty() -> None:
    customer = normalise(CustomerRecord(record_id="erp:1", system="erp", name="Acme"))
    assert customer.tax_id == customer.street == customer.city == customer.phone == customer.email == ""
