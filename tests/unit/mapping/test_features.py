"""Every mapping feature, each checked through the compiled code and the reference interpreter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from crossdock.mapping import MappingError, MappingSpec, compile_spec

from .conftest import SPECS, both, compiled


def test_nested_paths_and_shorthand(map_one: Any) -> None:
    body = """
    fields:
      name: Name
      bill_to.street: BillingAddress.street
      bill_to.city: {from: BillingAddress.city}
    """
    record = {"Name": "Acme", "BillingAddress": {"street": "1 Main St", "city": "Springfield"}}
    assert map_one(body, record) == {"name": "Acme", "bill_to": {"street": "1 Main St", "city": "Springfield"}}
    assert map_one(body, {"Name": "Acme", "BillingAddress": None}) == {
        "name": "Acme",
        "bill_to": {"street": None, "city": None},
    }


def test_index_and_selector_paths(map_one: Any) -> None:
    body = """
    fields:
      first_city: addresses[0].city
      last_city: addresses[-1].city
      bill_city: "addresses[kind=bill_to].city"
      quoted: "addresses[kind='ship_to'].city"
      missing: "addresses[kind=remit_to].city"
      far: addresses[9].city
    """
    record = {"addresses": [{"kind": "ship_to", "city": "Reno"}, {"kind": "bill_to", "city": "Tulsa"}]}
    assert map_one(body, record) == {
        "first_city": "Reno",
        "last_city": "Tulsa",
        "bill_city": "Tulsa",
        "quoted": "Reno",
        "missing": None,
        "far": None,
    }


def test_selector_compares_numbers_and_booleans_as_text(map_one: Any) -> None:
    body = """
    fields:
      by_number: "lines[sequence=2].sku"
      by_flag: "lines[invoice=true].sku"
    """
    record = {"lines": [{"sequence": 1, "sku": "A"}, {"sequence": 2, "sku": "B", "invoice": True}]}
    assert map_one(body, record) == {"by_number": "B", "by_flag": "B"}


def test_list_mapping_maps_each_element() -> None:
    mapping = compiled(
        """
        fields:
          number: OrderNumber
          lines:
            each: Lines.records
            fields:
              sku: {from: Sku, transform: upper}
              quantity: {from: Qty, type: decimal}
              notes:
                each: Notes
                fields:
                  text: Text
        """
    )
    record = {
        "OrderNumber": "SO-1",
        "Lines": {
            "records": [{"Sku": "ab-1", "Qty": 2, "Notes": [{"Text": "fragile"}]}, {"Sku": "cd-2", "Qty": "1.5"}]
        },
    }
    assert both(mapping, record) == {
        "number": "SO-1",
        "lines": [
            {"sku": "AB-1", "quantity": "2", "notes": [{"text": "fragile"}]},
            {"sku": "CD-2", "quantity": "1.5", "notes": []},
        ],
    }
    assert both(mapping, {"OrderNumber": "SO-2"}) == {"number": "SO-2", "lines": []}


def test_list_mapping_with_a_selector_keeps_every_match(map_one: Any) -> None:
    body = """
    fields:
      ship_tos:
        each: "addresses[kind=ship_to]"
        fields:
          city: city
    """
    record = {
        "addresses": [
            {"kind": "ship_to", "city": "A"},
            {"kind": "bill_to", "city": "B"},
            {"kind": "ship_to", "city": "C"},
        ]
    }
    assert map_one(body, record) == {"ship_tos": [{"city": "A"}, {"city": "C"}]}


def test_list_mapping_default_and_required() -> None:
    optional = compiled(
        "fields:\n  tags: {each: Tags, default: [], fields: {name: Name}}\n  none: {each: X, fields: {a: a}}\n"
    )
    assert both(optional, {}) == {"tags": [], "none": []}
    required = compiled("fields:\n  lines: {each: Lines, required: true, fields: {sku: Sku}}\n")
    with pytest.raises(MappingError, match="required value is missing"):
        both(required, {})


def test_value_map_with_default_and_error(map_one: Any) -> None:
    body = """
    value_maps:
      channel: {Customer - Direct: field_sales, Web: ecommerce}
    fields:
      channel: {from: Type, map: channel, map_default: inside_sales}
      status: {from: Status, map: {Active: active, 1: active, Closed: closed}}
    """
    assert map_one(body, {"Type": "Web", "Status": "Active"}) == {"channel": "ecommerce", "status": "active"}
    assert map_one(body, {"Type": "Partner", "Status": 1}) == {"channel": "inside_sales", "status": "active"}
    assert map_one(body, {"Type": None, "Status": None}) == {"channel": None, "status": None}
    with pytest.raises(MappingError, match=r"'Pending' is not in the value map; add it under `map:`"):
        map_one(body, {"Type": "Web", "Status": "Pending"})


def test_uom_conversion_with_declared_and_field_factors() -> None:
    mapping = compile_spec(MappingSpec.load(SPECS / "tryton" / "sale_line.inbound.yaml"))
    line = {
        "id": 7,
        "sequence": "10",
        "product": {"code": "BOLT-10", "pack_size": 24},
        "quantity": 3,
        "unit": {"symbol": "CS"},
        "unit_price": {"__class__": "Decimal", "decimal": "19.99"},
        "currency": None,
        "shipping_date": "2026-11-22",
    }
    assert both(mapping, line) == {
        "line_number": 10,
        "sku": "BOLT-10",
        "quantity": {"value": "72", "uom": "EA"},
        "unit_price": {"amount": "19.99", "currency": "USD"},
        "requested_date": "2026-11-22",
    }
    assert both(mapping, {**line, "unit": {"symbol": "DZ"}, "quantity": "1.5"})["quantity"]["value"] == "18.0"
    with pytest.raises(MappingError, match=r"unknown unit of measure 'PAL'; declare its factor under `factors:`"):
        both(mapping, {**line, "unit": {"symbol": "PAL"}})
    with pytest.raises(MappingError, match=r"the factor for CS at 'product\.pack_size' must be a positive number"):
        both(mapping, {**line, "product": {"code": "X", "pack_size": 0}})
    with pytest.raises(MappingError, match=r"the record has no unit of measure at 'unit\.symbol'"):
        both(mapping, {**line, "unit": None})


def test_uom_outbound_from_eaches_with_spec_wide_units(map_one: Any) -> None:
    body = """
    units: {EA: 1, DZ: 12, CS: {from: pack_size}}
    fields:
      qty: {from: quantity, uom: {from_unit: EA, to_unit: {from: order_unit}}, type: decimal, places: 3}
    """
    assert map_one(body, {"quantity": "48", "order_unit": "CS", "pack_size": "24"}) == {"qty": "2.000"}
    assert map_one(body, {"quantity": 10, "order_unit": "DZ"}) == {"qty": "0.833"}
    assert map_one(body, {"quantity": 10, "order_unit": "EA"}) == {"qty": "10.000"}


def test_constants_defaults_and_required(map_one: Any) -> None:
    body = """
    fields:
      source: {const: salesforce}
      roles: {const: [sold_to, bill_to]}
      currency: {from: Currency, default: USD}
      number: {from: Number, required: true, transform: trim}
    """
    assert map_one(body, {"Number": " C-1 ", "Currency": ""}) == {
        "source": "salesforce",
        "roles": ["sold_to", "bill_to"],
        "currency": "USD",
        "number": "C-1",
    }
    with pytest.raises(MappingError, match="required value is missing"):
        map_one(body, {"Number": "   "})


def test_constant_lists_are_fresh_per_record() -> None:
    mapping = compiled("fields:\n  roles: {const: [sold_to]}\n  nested: {const: {a: [1]}}\n")
    first = mapping.apply({})
    first["roles"].append("payer")
    first["nested"]["a"].append(2)
    assert mapping.apply({}) == {"roles": ["sold_to"], "nested": {"a": [1]}}


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("{type: decimal}", "12.50", "12.50"),
        ("{type: decimal}", 12.5, "12.5"),
        ("{type: decimal}", 1e20, "1E+20"),
        ("{type: decimal}", 7, "7"),
        ("{type: decimal, places: 2}", 7, "7.00"),
        ("{type: decimal, places: 2}", "2.345", "2.35"),
        ("{type: decimal, places: 0}", 2.5, "3"),
        ("{type: decimal}", "", None),
        ("{type: int}", "42", 42),
        ("{type: int}", 42.0, 42),
        ("{type: float}", "1.25", 1.25),
        ("{type: str}", 42, "42"),
        ("{type: str}", 2.5, "2.5"),
        ("{type: str}", True, "true"),
        ("{type: bool}", "Yes", True),
        ("{type: bool}", "0", False),
        ("{type: bool}", 1, True),
        ("{type: date}", "2026-11-22", "2026-11-22"),
        ("{type: date}", "2026-11-22T23:30:00-05:00", "2026-11-22"),
        ("{type: date, format: '%m/%d/%Y'}", "11/22/2026", "2026-11-22"),
        ("{type: date, output_format: '%d.%m.%Y'}", "2026-11-22", "22.11.2026"),
        ("{type: datetime}", "2026-11-22T10:00:00.000+0000", "2026-11-22T10:00:00Z"),
        ("{type: datetime}", "2026-11-22T05:00:00-05:00", "2026-11-22T10:00:00Z"),
        ("{type: datetime}", "2026-11-22 10:00:00", "2026-11-22T10:00:00Z"),
        ("{type: datetime}", "2026-11-22T10:00:00.250Z", "2026-11-22T10:00:00.250000Z"),
        ("{type: datetime, output_format: '%Y-%m-%d %H:%M:%S'}", "2026-11-22T11:00:00+01:00", "2026-11-22 10:00:00"),
    ],
)
def test_type_coercions(map_one: Any, rule: str, value: Any, expected: Any) -> None:
    body = f"fields:\n  out: {rule[:-1]}, from: value}}\n"
    assert map_one(body, {"value": value}) == {"out": expected}


@pytest.mark.parametrize(
    ("rule", "value", "message"),
    [
        ("{type: decimal}", "abc", "'abc' is not a number"),
        ("{type: decimal}", True, "expected a number, got True"),
        ("{type: int}", "1.5", "'1.5' is not a whole number"),
        ("{type: bool}", "maybe", "'maybe' is not a boolean"),
        ("{type: date}", "22/11/2026", "is not a date in ISO 8601"),
        ("{type: date}", "2026-02-30", "is not a date in ISO 8601"),
        ("{type: datetime}", "2026-13-01T00:00:00Z", "is not a date in ISO 8601"),
        ("{type: str}", {"a": 1}, "expected text"),
    ],
)
def test_coercion_errors(map_one: Any, rule: str, value: Any, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        map_one(f"fields:\n  out: {rule[:-1]}, from: value}}\n", {"value": value})


def test_transforms(map_one: Any) -> None:
    body = r"""
    fields:
      name: {from: [FirstName, MiddleName, LastName], transform: {join: " "}}
      lines: {from: Street, transform: {split: "\n"}}
      first_word: {from: Name, transform: {split: {sep: " ", index: 0}}}
      last_words: {from: Name, transform: {split: {sep: " ", max: 1, index: 1}}}
      sku: {from: Sku, transform: [trim, upper, {prefix: "SF-"}]}
      email: {from: Email, transform: [trim, lower]}
      local: {from: Ref, transform: [{strip_prefix: "SF-"}, {suffix: "-X"}]}
    """
    record = {
        "FirstName": "Ada",
        "MiddleName": None,
        "LastName": "Lovelace",
        "Street": "1 Main St\nDock 4",
        "Name": "Acme Supply Co",
        "Sku": " ab-1 ",
        "Email": " Orders@Acme.COM",
        "Ref": "SF-42",
    }
    assert map_one(body, record) == {
        "name": "Ada Lovelace",
        "lines": ["1 Main St", "Dock 4"],
        "first_word": "Acme",
        "last_words": "Supply Co",
        "sku": "SF-AB-1",
        "email": "orders@acme.com",
        "local": "42-X",
    }
    with pytest.raises(MappingError, match="trim needs text, got 42"):
        map_one(body, {**record, "Sku": 42})


def test_jsonata_expressions(map_one: Any) -> None:
    body = """
    fields:
      total: {expr: "$sum(lines.(qty * price))", type: decimal}
      label: {expr: "number & ' / ' & $uppercase(name)"}
      skus: {expr: "lines.sku"}
      none: {expr: "nothing.here", default: n/a}
    """
    record = {
        "number": "SO-1",
        "name": "acme",
        "lines": [{"sku": "A", "qty": 2, "price": 1.5}, {"sku": "B", "qty": 1, "price": 4}],
    }
    assert map_one(body, record) == {"total": "7", "label": "SO-1 / ACME", "skus": ["A", "B"], "none": "n/a"}


def test_omit_nulls_and_list_targets(map_one: Any) -> None:
    body = """
    omit_nulls: true
    fields:
      name: Name
      fax: Fax
      keep_null: {from: Fax, omit_null: false}
      credit.amount: Amount
      refs[0].system: {const: salesforce}
      refs[0].local_id: Id
      "points[channel=phone].value": Phone
      "points[channel=fax].value": Fax
      "points[channel=email].value": Email
      tags[1]: Tag
    """
    record = {"Name": "Acme", "Fax": None, "Id": "001", "Phone": "555", "Email": "a@b.c", "Tag": "vip"}
    assert map_one(body, record) == {
        "name": "Acme",
        "keep_null": None,
        "refs": [{"system": "salesforce", "local_id": "001"}],
        "points": [{"channel": "phone", "value": "555"}, {"channel": "email", "value": "a@b.c"}],
        "tags": [None, "vip"],
    }
    assert map_one(body, {"Name": None, "Fax": None}) == {"keep_null": None, "refs": [{"system": "salesforce"}]}


def test_nested_selected_elements(map_one: Any) -> None:
    body = """
    omit_nulls: true
    fields:
      "parties[role=buyer].addresses[kind=bill_to].city": BuyerCity
      "parties[role=buyer].name": BuyerName
      "parties[role=seller].addresses[kind=ship_from].city": SellerCity
    """
    assert map_one(body, {"BuyerCity": "Reno", "BuyerName": "Acme", "SellerCity": "Tulsa"}) == {
        "parties": [
            {"role": "buyer", "addresses": [{"kind": "bill_to", "city": "Reno"}], "name": "Acme"},
            {"role": "seller", "addresses": [{"kind": "ship_from", "city": "Tulsa"}]},
        ]
    }
    assert map_one(body, {"BuyerName": "Acme"}) == {"parties": [{"role": "buyer", "name": "Acme"}]}


def test_list_items_and_fields_of_one_selected_element(map_one: Any) -> None:
    body = """
    fields:
      "parties[role=buyer].tags[1]": Tag
      "parties[role=buyer].name": Name
      "parties[role=buyer].codes[0]": {const: A}
    """
    assert map_one(body, {"Tag": "vip", "Name": "Acme"}) == {
        "parties": [{"role": "buyer", "tags": [None, "vip"], "name": "Acme", "codes": ["A"]}]
    }


def test_shared_source_prefixes_are_read_once_but_fail_in_the_first_rule() -> None:
    mapping = compiled("fields:\n  a: Owner.Name\n  b: Owner.Email\n  c: {from: Owner.Name, transform: upper}\n")
    assert mapping.source.count("r.get('Owner')") == 1
    assert both(mapping, {"Owner": {"Name": "Ada", "Email": "a@x"}}) == {"a": "Ada", "b": "a@x", "c": "ADA"}
    with pytest.raises(MappingError) as caught:
        both(mapping, {"Owner": "Ada"})
    assert caught.value.field == "a"


def test_apply_many_and_apply_batch() -> None:
    mapping = compiled("id: Id\nfields:\n  number: {from: Number, required: true}\n")
    records = [{"Id": "1", "Number": "C-1"}, {"Id": "2"}, "garbage", {"Id": "4", "Number": "C-4"}]
    assert mapping.apply_many([records[0], records[3]]) == [{"number": "C-1"}, {"number": "C-4"}]
    with pytest.raises(MappingError):
        mapping.apply_many(records)
    batch = mapping.apply_batch(records)
    assert batch.mapped == [(0, {"number": "C-1"}), (3, {"number": "C-4"})]
    assert [(index, error.record_id) for index, error in batch.failed] == [(1, "2"), (2, None)]


def test_compiled_mapping_exposes_its_source_and_key() -> None:
    mapping = compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.inbound.yaml"))
    assert mapping.key == ("salesforce", "customer", "inbound")
    assert "def _map" in mapping.source
    assert "salesforce/customer/inbound" in repr(mapping)


def test_when_sets_a_field_only_beside_a_value(map_one: Any) -> None:
    body = """
    omit_nulls: true
    fields:
      credit_limit.amount: {from: Limit, type: decimal}
      credit_limit.currency: {from: Currency, when: Limit, required: true}
      owner: {from: Owner.Name, when: HasOwner}
      owner_email: Owner.Email
    """
    assert map_one(body, {"Limit": 10, "Currency": "USD"}) == {"credit_limit": {"amount": "10", "currency": "USD"}}
    assert map_one(body, {"Limit": None, "Currency": None, "Owner": {"Email": "a@b"}}) == {"owner_email": "a@b"}
    assert map_one(body, {"Limit": "", "HasOwner": True, "Owner": {"Name": "Ada"}}) == {"owner": "Ada"}
    with pytest.raises(MappingError, match="required value is missing"):
        map_one(body, {"Limit": 5})


def test_compiled_mappings_are_safe_to_share_between_threads() -> None:
    mapping = compiled("fields:\n  number: Number\n  label: {expr: \"'#' & Number\"}\n")
    records = [{"Number": str(n)} for n in range(400)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(mapping.apply, records))
    assert results == [{"number": str(n), "label": f"#{n}"} for n in range(400)]
