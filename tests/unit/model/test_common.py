"""Value types: exact decimals, Money and Quantity arithmetic, codes, identifiers, addresses, timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crossdock.model import (
    Address,
    ContactPoint,
    CurrencyMismatchError,
    Customer,
    Entity,
    ExternalRef,
    Identifier,
    Money,
    Quantity,
    UomMismatchError,
    Weight,
)
from crossdock.model.scalars import gs1_check_digit_ok


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


class TestMoney:
    def test_amount_keeps_at_least_the_currency_minor_unit(self) -> None:
        assert usd("10.5").model_dump(mode="json") == {"currency": "USD", "amount": "10.50"}
        assert Money.of(100, "JPY").model_dump(mode="json")["amount"] == "100"
        assert Money.of("1E+1", "KWD").model_dump(mode="json")["amount"] == "10.000"
        assert usd("0.0125").model_dump(mode="json")["amount"] == "0.0125"  # unit prices keep their precision
        assert usd("10.5") == usd("10.50000")

    def test_currency_is_upper_cased_and_checked(self) -> None:
        assert Money.of(1, "eur").currency == "EUR"
        with pytest.raises(ValidationError, match="'EURO' is not an ISO 4217 currency code; use a code such as USD"):
            Money.of(1, "EURO")

    @pytest.mark.parametrize("bad", [0.1, 19.99, True])
    def test_floats_and_bools_are_refused(self, bad: object) -> None:
        with pytest.raises(ValidationError, match=r"got the (float|bool)"):
            Money(currency="USD", amount=bad)

    def test_float_message_says_what_to_pass_instead(self) -> None:
        with pytest.raises(ValidationError, match=re.escape("pass a Decimal, an int or a string such as '19.99'")):
            Money(currency="USD", amount=19.99)

    def test_json_numbers_with_fractions_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="got the float"):
            Money.model_validate_json('{"currency": "USD", "amount": 19.99}')
        assert Money.model_validate_json('{"currency": "USD", "amount": 20}') == usd("20")

    @pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", "1E+30"])
    def test_non_finite_and_huge_amounts_are_refused(self, bad: str) -> None:
        with pytest.raises(ValidationError):
            usd(bad)

    def test_arithmetic_in_one_currency(self) -> None:
        assert usd("10.10") + usd("0.90") == usd("11")
        assert usd("10") - usd("12.5") == usd("-2.50")
        assert -usd("3") == usd("-3")
        assert usd("4.25") * 3 == usd("12.75")
        assert Decimal("1.5") * usd("2") == usd("3")
        assert usd("1") < usd("2") <= usd("2")
        assert usd("3") > usd("2") >= usd("2")
        assert Money.total([usd("1"), usd("2.5")], "USD") == usd("3.50")
        assert Money.total([], "EUR") == Money.zero("EUR")

    def test_mixing_currencies_is_a_clear_error(self) -> None:
        with pytest.raises(
            CurrencyMismatchError, match=re.escape("cannot add EUR 5.00 and USD 10.00: the currencies differ")
        ):
            usd("10") + Money.of(5, "EUR")
        with pytest.raises(CurrencyMismatchError):
            _ = usd("10") < Money.of(5, "EUR")
        with pytest.raises(CurrencyMismatchError):
            Money.total([usd("1"), Money.of(1, "EUR")], "USD")

    def test_multiplying_by_a_float_or_adding_a_number_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="multiply by a Decimal or an int, not float"):
            usd("1") * 1.5  # type: ignore[operator]
        with pytest.raises(TypeError, match="wrap the amount in Money first"):
            usd("1") + 1  # type: ignore[operator]

    def test_rounding_is_half_up_to_the_minor_unit(self) -> None:
        assert usd("0.125").rounded() == usd("0.13")
        assert usd("-0.125").rounded() == usd("-0.13")
        assert Money.of("99.5", "JPY").rounded() == Money.of(100, "JPY")
        assert str(usd("7")) == "USD 7.00"


class TestQuantity:
    def test_one_spelling_per_value(self) -> None:
        assert Quantity.of("12.000", "cs").model_dump(mode="json") == {"value": "12", "uom": "CS"}
        assert Quantity.of("1E+2", "EA").model_dump(mode="json")["value"] == "100"
        assert Quantity.of("0.0000001", "KG").model_dump(mode="json")["value"] == "0.0000001"
        assert Quantity.of("-0.00", "EA").model_dump(mode="json")["value"] == "0"

    def test_arithmetic_in_one_uom(self) -> None:
        assert Quantity.of(12, "EA") + Quantity.of(6, "EA") == Quantity.of(18, "EA")
        assert Quantity.of(12, "EA") - Quantity.of(20, "EA") == Quantity.of(-8, "EA")
        assert Quantity.of(2, "CS") * 3 == Quantity.of(6, "CS")
        assert Quantity.zero("PL").is_zero()
        assert str(Quantity.of("2.5", "KG")) == "2.5 KG"

    def test_mixing_uoms_is_a_clear_error(self) -> None:
        with pytest.raises(UomMismatchError, match=r"cannot add 2 CS and 12 EA: the units differ; convert one with"):
            Quantity.of(12, "EA") + Quantity.of(2, "CS")

    def test_uom_codes_are_free_but_well_formed(self) -> None:
        assert Quantity.of(1, "c62").uom == "C62"
        with pytest.raises(ValidationError, match="'EACH UNIT' is not a unit of measure code; use a code such as EA"):
            Quantity.of(1, "each unit")


class TestCodesAndIdentifiers:
    def test_countries_are_iso_alpha2_and_uk_gets_a_hint(self) -> None:
        with pytest.raises(
            ValidationError,
            match=re.escape("'UK' is not an ISO 3166-1 alpha-2 country code (the United Kingdom is GB)"),
        ):
            Address(kind="mailing", country="uk", lines=["1 High St"], city="London")
        assert Address(kind="mailing", country="gb", lines=["1 High St"], city="London").country == "GB"

    @pytest.mark.parametrize(
        ("scheme", "given", "stored"),
        [
            ("duns", "15-048-3782", "150483782"),
            ("ein", "123456789", "12-3456789"),
            ("gln", "0614141 000005", "0614141000005"),
            ("vat", "de 123456789", "DE123456789"),
            ("lei", "5493001KJTIIGC8Y1R12", "5493001KJTIIGC8Y1R12"),
            ("tax_id", "  12.345.678/0001-90 ", "12.345.678/0001-90"),
        ],
    )
    def test_identifiers_are_stored_in_one_spelling(self, scheme: str, given: str, stored: str) -> None:
        assert Identifier(scheme=scheme, value=given).value == stored

    @pytest.mark.parametrize(
        ("scheme", "value", "message"),
        [
            ("duns", "1234", "duns identifier '1234' must be 9 digits"),
            ("gln", "0614141000006", "GLN '0614141000006' must be 13 digits ending in a valid GS1 check digit"),
            ("lei", "5493001KJTIIGC8Y1R13", "LEI '5493001KJTIIGC8Y1R13' has wrong check digits"),
        ],
    )
    def test_malformed_identifiers_say_what_the_scheme_expects(self, scheme: str, value: str, message: str) -> None:
        with pytest.raises(ValidationError, match=re.escape(message)):
            Identifier(scheme=scheme, value=value)

    def test_gs1_check_digits(self) -> None:
        assert gs1_check_digit_ok("036000291452")
        assert gs1_check_digit_ok("000123456789012343")
        assert not gs1_check_digit_ok("036000291453")
        assert not gs1_check_digit_ok("03600029145x")


class TestAddressesAndContactPoints:
    def test_us_and_canadian_postal_codes_are_checked_and_normalised(self) -> None:
        ca = Address(
            kind="ship_to", country="CA", lines=["24 Sussex Dr"], city="Ottawa", region="ON", postal_code="k1a0b1"
        )
        assert ca.postal_code == "K1A 0B1"
        with pytest.raises(ValidationError, match="postal code '3030' is not a ZIP code such as 30301"):
            Address(kind="ship_to", country="US", lines=["1 Main St"], city="Atlanta", region="GA", postal_code="3030")
        with pytest.raises(ValidationError, match="US addresses need a region"):
            Address(kind="ship_to", country="US", lines=["1 Main St"], city="Atlanta", postal_code="30301")

    def test_an_address_has_at_least_one_line(self) -> None:
        with pytest.raises(ValidationError, match="lines"):
            Address(kind="ship_to", country="DE", lines=[], city="Berlin")

    def test_email_and_phone_shapes(self) -> None:
        assert ContactPoint(channel="phone", value="+1 (404) 555-0100 ext. 12").value.endswith("12")
        with pytest.raises(ValidationError, match="'jane at acme' is not an e-mail address"):
            ContactPoint(channel="email", value="jane at acme")
        with pytest.raises(ValidationError, match="is not a phone number; use digits, spaces"):
            ContactPoint(channel="fax", value="call Jane")
        assert ContactPoint(channel="web", value="https://acme.example").value == "https://acme.example"


class TestEntitiesAndTimestamps:
    def test_timestamps_need_a_timezone_and_are_stored_in_utc(self) -> None:
        with pytest.raises(ValidationError, match="has no timezone; attach one"):
            Entity(id="x_1", updated_at=datetime(2026, 1, 1, 12, 0))
        east = Entity(id="x_1", updated_at=datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
        assert east.updated_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
        assert east.model_dump(mode="json")["updated_at"] == "2026-01-01T10:00:00Z"

    def test_canonical_ids_have_no_spaces(self) -> None:
        with pytest.raises(ValidationError, match=r"'cus 1' is not a canonical id \(1 to 200 characters, no spaces\)"):
            Entity(id="cus 1")

    def test_external_refs_are_unique_and_looked_up_by_system(self) -> None:
        entity = Entity(id="x_1", external_refs=[ExternalRef(system="erp", local_id="7")])
        assert entity.ref("erp") == "7"
        assert entity.ref("crm") is None
        with pytest.raises(ValidationError, match="external_refs names erp:7 twice"):
            Entity(id="x_1", external_refs=[{"system": "erp", "local_id": "7"}, {"system": "erp", "local_id": "7"}])
        with pytest.raises(ValidationError, match="'ERP' is not a configured system name"):
            ExternalRef(system="ERP", local_id="7")

    def test_unknown_fields_are_refused_by_name(self) -> None:
        with pytest.raises(ValidationError, match="favourite_colour\n  Extra inputs are not permitted"):
            Entity(id="x_1", favourite_colour="blue")  # type: ignore[call-arg]

    def test_objects_are_frozen_and_revised_copies_are_validated_again(self) -> None:
        money = usd("1")
        with pytest.raises(ValidationError, match="frozen"):
            money.amount = Decimal(2)  # type: ignore[misc]
        assert money.revised(amount="2") == usd("2")
        customer = Customer(id="cus_1", number="C1", name="Acme", roles=["bill_to"], currency="USD")
        with pytest.raises(ValidationError, match="credit_limit currency EUR differs from the account currency USD"):
            customer.revised(credit_limit=Money.of(10, "EUR"))


def test_weights_convert_exactly() -> None:
    assert Weight(value=1, unit="LB").to("KG") == Weight(value=Decimal("0.45359237"), unit="KG")
    assert Weight(value=1, unit="KG") + Weight(value=500, unit="G") == Weight(value="1.5", unit="KG")
    with pytest.raises(ValidationError, match="must be greater than zero"):
        Weight(value=0, unit="KG")
