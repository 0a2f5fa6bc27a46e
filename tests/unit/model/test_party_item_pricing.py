"""Customers, contacts and suppliers; items and their UOM conversions; price lists and contract prices."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crossdock.model import (
    AccountRole,
    AddressKind,
    Contact,
    Money,
    PaymentTerms,
    Quantity,
    UnknownUomError,
)

from . import examples


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


class TestCustomer:
    def test_typical_account(self) -> None:
        customer = examples.customer()
        assert customer.roles == [AccountRole.BILL_TO, AccountRole.SHIP_TO, AccountRole.SOLD_TO]  # sorted, unique
        assert customer.has_role(AccountRole.SHIP_TO)
        assert customer.address(AddressKind.SHIP_TO) is not None
        assert customer.address(AddressKind.BILL_TO) is None
        assert customer.ref("crm") == "001A000001"

    def test_credit_limit_is_in_the_account_currency(self) -> None:
        with pytest.raises(
            ValidationError, match="customer C-1001: credit_limit currency EUR differs from the account currency USD"
        ):
            examples.customer().revised(credit_limit=Money.of(1000, "EUR"))
        with pytest.raises(ValidationError, match=re.escape("credit_limit USD -1.00 is negative")):
            examples.customer().revised(credit_limit=usd("-1"))

    def test_an_account_is_not_its_own_parent(self) -> None:
        with pytest.raises(ValidationError, match="is its own parent"):
            examples.customer().revised(parent_id="cus_acme")

    def test_one_default_address_per_kind(self) -> None:
        address = examples.ship_to_address()
        with pytest.raises(ValidationError, match="customer C-1001 has 2 default ship_to addresses; mark one default"):
            examples.customer().revised(addresses=[address, address])

    def test_an_account_plays_at_least_one_role(self) -> None:
        with pytest.raises(ValidationError, match="roles"):
            examples.customer().revised(roles=[])

    def test_payment_terms_discount_needs_days_before_net(self) -> None:
        with pytest.raises(ValidationError, match="give discount_percent and discount_days together"):
            PaymentTerms(code="2-10", net_days=30, discount_percent="2")
        with pytest.raises(ValidationError, match="discount_days 40 is after net_days 30"):
            PaymentTerms(code="2-40", net_days=30, discount_percent="2", discount_days=40)
        with pytest.raises(ValidationError, match="a percentage lies between 0 and 100, got 120"):
            PaymentTerms(code="X", net_days=30, discount_percent="120", discount_days=10)


class TestContactAndSupplier:
    def test_contact_names_and_points(self) -> None:
        contact = examples.contact()
        assert contact.full_name == "Jane Smith"
        assert contact.emails == ["jane.smith@acme.example"]
        assert contact.phones == ["+14045550100 ext 12"]  # international numbers are kept in E.164

    def test_contact_needs_a_name_part(self) -> None:
        with pytest.raises(ValidationError, match="contact con_1 needs a given_name or a family_name"):
            Contact(id="con_1", account_id="cus_acme")

    def test_one_preferred_point_per_channel(self) -> None:
        contact = examples.contact()
        point = contact.contact_points[0]
        with pytest.raises(ValidationError, match="contact con_jane has 2 preferred email contact points"):
            contact.revised(contact_points=[point, point])

    def test_supplier_minimum_order_in_its_currency(self) -> None:
        with pytest.raises(ValidationError, match="minimum_order currency EUR differs from the supplier currency USD"):
            examples.supplier().revised(minimum_order=Money.of(100, "EUR"))


class TestItem:
    @pytest.mark.parametrize(
        ("value", "uom", "to", "expected"),
        [
            ("2", "CS", "EA", "24"),
            ("1", "PL", "CS", "40"),
            ("6", "EA", "CS", "0.5"),
            ("120", "CS", "PL", "3"),
            ("5", "EA", "EA", "5"),
        ],
    )
    def test_uom_conversion_goes_through_the_pack_sizes(self, value: str, uom: str, to: str, expected: str) -> None:
        assert examples.item().convert(Quantity.of(value, uom), to) == Quantity.of(expected, to)

    def test_units_per_pack_and_identifiers(self) -> None:
        item = examples.item()
        assert item.units_per("PL") == Decimal(480)
        assert item.uoms == ["EA", "CS", "PL"]
        assert item.gtin == "036000291452"
        assert item.customer_part_number("cus_acme") == "ACME-778"
        assert item.customer_part_number("cus_other") is None
        preferred = item.preferred_supplier()
        assert preferred is not None
        assert preferred.part_number == "FC-4X40-Z"

    def test_unknown_uom_names_the_known_ones(self) -> None:
        with pytest.raises(UnknownUomError, match="item SCR-100 has no pack size for UOM BX; known UOMs: EA, CS, PL"):
            examples.item().convert(Quantity.of(1, "BX"), "EA")

    def test_pack_sizes_are_consistent(self) -> None:
        item = examples.item()
        with pytest.raises(ValidationError, match="item SCR-100 lists pack size CS twice"):
            item.revised(packs=[{"uom": "CS", "units": 12}, {"uom": "CS", "units": 24}])
        with pytest.raises(ValidationError, match="the base UOM EA holds 1 base unit by definition, not 2"):
            item.revised(packs=[{"uom": "EA", "units": 2}])
        with pytest.raises(ValidationError, match="must be greater than zero, got 0"):
            item.revised(packs=[{"uom": "CS", "units": 0}])
        with pytest.raises(ValidationError, match="sales_uom BX has no pack size; known UOMs: EA, CS, PL"):
            item.revised(sales_uom="BX")
        with pytest.raises(ValidationError, match="GTIN '10036000291458' has a wrong check digit"):
            item.revised(
                packs=[{"uom": "CS", "units": 12, "gtin": "10036000291458"}], sales_uom=None, purchase_uom=None
            )

    def test_drop_ship_item_names_its_supplier(self) -> None:
        with pytest.raises(ValidationError, match="item SCR-100 is drop-shipped but names no supplier"):
            examples.item().revised(sourcing="drop_ship", vendor_part_numbers=[])


class TestInventoryPosition:
    def test_free_stock_and_one_uom(self) -> None:
        position = examples.inventory_position()
        assert position.free_stock == Quantity.of(960, "EA")
        with pytest.raises(
            ValidationError, match="allocated is in CS but on_hand is in EA; state every quantity in one UOM"
        ):
            position.revised(allocated=Quantity.of(2, "CS"))
        with pytest.raises(ValidationError, match="on_order must not be negative"):
            position.revised(on_order=Quantity.of(-1, "EA"))
        assert position.revised(on_hand=Quantity.of(-5, "EA")).on_hand.value == -5  # ERPs allow negative stock


class TestPricing:
    def test_price_list_picks_the_highest_break_reached(self) -> None:
        prices = examples.price_list()
        on = date(2026, 6, 1)
        assert prices.price_for("itm_screw", "CS", Decimal(10), on) == usd("4.80")
        assert prices.price_for("itm_screw", "CS", Decimal(50), on) == usd("4.50")
        assert prices.price_for("itm_screw", "EA", Decimal(10), on) is None
        assert prices.price_for("itm_screw", "CS", Decimal(10), date(2025, 12, 31)) is None

    def test_breaks_ascend_in_the_list_currency(self) -> None:
        entry = examples.price_list().entries[0].model_dump()
        with pytest.raises(ValidationError, match="price breaks must be in ascending min_quantity order"):
            examples.price_list().revised(entries=[{**entry, "breaks": entry["breaks"][::-1]}])
        eur_break = {"min_quantity": 1, "unit_price": Money.of(1, "EUR")}
        with pytest.raises(ValidationError, match=re.escape("break at 1 is priced in EUR, not the list currency USD")):
            examples.price_list().revised(entries=[{**entry, "breaks": [eur_break]}])
        with pytest.raises(ValidationError, match="prices SCR-100 per CS twice"):
            examples.price_list().revised(entries=[entry, entry])

    def test_contract_price_for_a_customer_or_a_group(self) -> None:
        contract = examples.contract_price()
        assert contract.price_for(Decimal(1), date(2026, 3, 1)) == usd("4.25")
        assert contract.price_for(Decimal(1), date(2027, 1, 1)) is None
        with pytest.raises(ValidationError, match="applies to a customer_id or a customer_group; give exactly one"):
            contract.revised(customer_group="CONTRACTORS")
        with pytest.raises(ValidationError, match="valid_to 2025-12-31 is before valid_from 2026-01-01"):
            contract.revised(valid_to=date(2025, 12, 31))
