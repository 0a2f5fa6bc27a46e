"""Properties: compiled code equals the reference interpreter; garbage gives MappingError; inbound∘outbound = id."""

from __future__ import annotations

import contextlib
import string
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crossdock.bench.mapping import SPEC_PATH
from crossdock.mapping import MappingError, MappingSpec, SpecError, compile_spec

from .conftest import SPECS, both, compiled

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RICH = compiled(
    r"""
    id: Id
    omit_nulls: true
    value_maps:
      channel: {Direct: field_sales, Web: ecommerce, 1: edi}
    units: {EA: 1, DZ: 12, CS: {from: Pack}}
    fields:
      ref: {from: Id, required: true, type: str}
      name: {from: Name, transform: [trim, upper], default: UNNAMED}
      full: {from: [First, Last], transform: {join: " "}}
      first_word: {from: Name, transform: {split: {sep: " ", index: 0}}}
      channel: {from: Type, map: channel, map_default: inside_sales}
      strict: {from: Status, map: {A: active, I: inactive}, omit_null: false}
      amount: {from: Amount, type: decimal, places: 2}
      amount_currency: {from: Address.city, when: Amount, transform: upper}
      shared_after_when: Address.city
      count: {from: Count, type: int}
      ratio: {from: Ratio, type: float}
      flag: {from: Flag, type: bool}
      day: {from: Day, type: date}
      stamp: {from: Stamp, type: datetime}
      qty: {from: Qty, uom: {from_unit: {from: Unit}, to_unit: EA}}
      city: Address.city
      first_line: Lines[0].text
      bill: "Addresses[kind=bill_to].city"
      "points[channel=phone].value": Phone
      "points[channel=email].value": {from: Email, transform: lower}
      refs[0].id: Id
      label: {expr: "$string(Count) & '-' & Name"}
      source: {const: test}
      tax_id: "Ids[scheme in (ein, vat, 1, true)].value"
      terms: {from: Terms, map: {Net 30: NET30, 1: one}, map_passthrough: true}
      terms_upper: {from: Terms, map: {Net 30: NET30}, map_passthrough: upper}
      net_days: {from: Terms, transform: {match: '([0-9]+)$'}, type: int, default: 0}
      discount: {from: Terms, transform: {match: {pattern: '^([0-9.]+)/([0-9]+) ', group: 1}}, type: decimal}
      scheme: {from: Terms, map_patterns: {'^[0-9]{2}-': ein, '^[A-Z]{2}': {vat: true}}, map_default: tax_id}
      owner: {from: Owner, when_matches: '^005[0-9A-Za-z]{3}$', else: none, transform: lower}
      "owners[kind=rep].id": {from: Owner, when_matches: '^005', when: Flag}
      family: {from: Name, transform: [{split: {sep: ' ', index: 0}}, upper_first], when: Name}
      standard: {const: false, when: Group, else: true}
      taxes:
        each: "Ids[scheme in (ein, vat)]"
        fields:
          value: {from: value, map_patterns: {'^[A-Z]': vat}, map_passthrough: true}
      items:
        each: "Items[kind=line]"
        fields:
          sku: {from: Sku, required: true, transform: trim}
          qty: {from: Qty, type: decimal}
      strict_scheme: {from: Terms, map_patterns: {'^N': net}, omit_null: false}
    """
)

json_scalars = (
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)
words = st.sampled_from(["Acme", " acme co ", "Direct", "Web", "line", "bill_to", "ship_to", "x y z"])
units = st.sampled_from(["CS", "DZ", "EA"])
numbers = st.sampled_from(["12.5", "1e3", "-0", "7"]) | st.integers(-100, 100) | st.floats(-1e6, 1e6)
dates = st.sampled_from(["2026-11-22", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.000+0000", "2026-11-22 08:00:00"])
terms = st.sampled_from(["Net 30", "2/10 Net 30", "1..5/3 Net 9", "12-34", "DE12", "Net 30\n", "Due", "n"])
odd = st.sampled_from(["", " ", "abc", "NaN", "2026-02-30", "11/22/2026", "PAL", "maybe", 0, True]) | json_values


def records_with(odd_values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Records with the spec's source fields; `odd_values` mixes in wrong or missing ones."""

    def field(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return typed | odd_values

    element = st.fixed_dictionaries(
        {"kind": field(st.sampled_from(["line", "note"])), "Sku": field(words), "Qty": field(numbers)}
    )
    identifier = st.fixed_dictionaries(
        {"scheme": field(st.sampled_from(["ein", "vat", "duns", 1, True])), "value": field(words | terms)}
    )
    return st.fixed_dictionaries(
        {
            "Id": field(words | st.integers()),
            "Name": field(words),
            "First": field(words | st.none()),
            "Last": field(words),
            "Type": field(words | st.just(1) | st.none()),
            "Status": field(st.sampled_from(["A", "I"])),
            "Amount": field(numbers),
            "Count": field(st.integers(-5, 5)),
            "Ratio": field(numbers),
            "Flag": field(st.sampled_from([True, False, "yes", "no", 0, 1])),
            "Day": field(dates),
            "Stamp": field(dates),
            "Qty": field(numbers),
            "Unit": field(units),
            "Pack": field(st.integers(1, 48)),
            "Address": field(st.fixed_dictionaries({"city": field(words)})),
            "Lines": field(st.lists(st.fixed_dictionaries({"text": field(words)}), max_size=2)),
            "Addresses": field(st.lists(st.fixed_dictionaries({"kind": words, "city": words}), max_size=3)),
            "Phone": field(words | st.none()),
            "Email": field(words),
            "Items": field(st.lists(element, max_size=3)),
            "Ids": field(st.lists(identifier, max_size=3)),
            "Terms": field(terms | words),
            "Owner": field(st.sampled_from(["005Abc", "005ab", "005abcd", "REP7", "005Abc\n"])),
            "Group": field(words | st.none()),
        }
    )


# Half the records are clean, so the success paths are exercised as much as the failures.
records = records_with(st.nothing()) | records_with(st.nothing() | odd | odd)


@FAST
@given(records)
def test_compiled_code_equals_the_interpreter(record: dict[str, Any]) -> None:
    # `both` checks a compiled error equals the interpreter's before raising it.
    with contextlib.suppress(MappingError):
        both(RICH, record)


GARBAGE_SPECS = [
    RICH,
    compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.inbound.yaml")),
    compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.outbound.yaml")),
    compile_spec(MappingSpec.load(SPECS / "tryton" / "sale_line.inbound.yaml")),
    compile_spec(MappingSpec.load(SPEC_PATH)),
]


@FAST
@given(
    st.sampled_from(GARBAGE_SPECS),
    json_values | st.dictionaries(st.sampled_from(["Id", "Name", "Contacts"]), json_values),
)
def test_garbage_gives_mapping_error_never_a_crash(mapping: Any, record: Any) -> None:
    try:
        result = mapping.apply(record)
    except MappingError as error:
        result = error
    if isinstance(result, MappingError):
        assert result.location
        assert result.hint
    else:
        assert isinstance(result, dict)


text = (
    st.text(alphabet=string.ascii_letters + string.digits + " -'", min_size=1, max_size=12).map(str.strip).filter(bool)
)
codes = st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=10)
amounts = st.decimals(min_value=0, max_value=10**9, places=2).map(lambda d: str(d.quantize(Decimal("0.01"))))
stamps = st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
)


def _without_nulls(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@st.composite
def canonical_customers(draw: st.DrawFn) -> dict[str, Any]:
    """Canonical customers in the domain the Salesforce spec pair covers."""
    currency = draw(st.sampled_from(["USD", "CAD"]))
    customer: dict[str, Any] = {
        "external_refs": [{"system": "salesforce", "local_id": draw(codes)}],
        "number": draw(codes),
        "name": draw(text),
        "roles": ["sold_to", "bill_to"],
        "currency": currency,
        "credit_limit": draw(st.none() | amounts.map(lambda amount: {"amount": amount, "currency": currency})),
        "channel": draw(st.none() | st.sampled_from(["field_sales", "inside_sales", "ecommerce", "edi"])),
        "updated_at": draw(st.none() | stamps),
        "contacts": [],
    }
    if draw(st.booleans()):
        address = {"kind": "bill_to", "lines": draw(st.lists(text, min_size=1, max_size=3)), "city": draw(text)}
        address.update(_without_nulls({"region": draw(st.none() | codes), "country": draw(st.none() | codes)}))
        customer["addresses"] = [address]
    if draw(st.booleans()):
        customer["contact_points"] = [{"channel": "phone", "value": draw(text)}]
    for _ in range(draw(st.integers(0, 2))):
        contact: dict[str, Any] = {"external_refs": [{"system": "salesforce", "local_id": draw(codes)}]}
        contact.update(_without_nulls({"given_name": draw(st.none() | text), "family_name": draw(st.none() | text)}))
        email = draw(st.none() | text.map(lambda value: value.lower().replace(" ", ".") + "@example.com"))
        if email is not None:
            contact["contact_points"] = [{"channel": "email", "value": email}]
        customer["contacts"].append(contact)
    return _without_nulls(customer)


INBOUND = compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.inbound.yaml"))
OUTBOUND = compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.outbound.yaml"))


@FAST
@given(canonical_customers())
def test_inbound_after_outbound_is_identity(customer: dict[str, Any]) -> None:
    account = both(OUTBOUND, customer)
    assert isinstance(account.get("Credit_Limit__c", 0.0), float)
    assert both(INBOUND, account) == customer


def test_round_trip_example() -> None:
    customer = {
        "external_refs": [{"system": "salesforce", "local_id": "001A"}],
        "number": "C-1",
        "name": "Acme Supply",
        "roles": ["sold_to", "bill_to"],
        "currency": "USD",
        "credit_limit": {"amount": "1250.50", "currency": "USD"},
        "channel": "ecommerce",
        "updated_at": "2026-11-22T10:00:00Z",
        "addresses": [{"kind": "bill_to", "lines": ["1 Main St", "Dock 4"], "city": "Reno", "country": "US"}],
        "contacts": [{"external_refs": [{"system": "salesforce", "local_id": "003A"}], "given_name": "Ada"}],
    }
    account = OUTBOUND.apply(customer)
    assert account == {
        "Id": "001A",
        "AccountNumber": "C-1",
        "Name": "Acme Supply",
        "Type": "Web",
        "CurrencyIsoCode": "USD",
        "Credit_Limit__c": 1250.5,
        "SystemModstamp": "2026-11-22T10:00:00.000+0000",
        "BillingAddress": {"street": "1 Main St\nDock 4", "city": "Reno", "countryCode": "US"},
        "Contacts": {"records": [{"Id": "003A", "FirstName": "Ada"}]},
    }
    assert INBOUND.apply(account) == customer


target_steps = st.sampled_from(["a", "b", "c[k=x]", "c[k=y]", "d[0]", "d[1]", "e[0]"])


@st.composite
def target_layouts(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A spec with random nested targets (objects, selected and indexed elements) and a record for it."""
    targets = draw(
        st.lists(st.lists(target_steps, min_size=1, max_size=3).map(".".join), min_size=1, max_size=5, unique=True)
    )
    lines, record = [], {}
    for position, target in enumerate(targets):
        omit = draw(st.booleans())
        lines.append(f"  '{target}': {{from: f{position}, omit_null: {str(omit).lower()}}}")
        record[f"f{position}"] = draw(st.none() | st.integers(0, 3))
    return "fields:\n" + "\n".join(lines) + "\n", record


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(target_layouts())
def test_generated_target_writes_equal_the_interpreter(layout: tuple[str, dict[str, Any]]) -> None:
    body, record = layout
    try:
        mapping = compiled(body)
    except SpecError:
        assume(False)  # colliding targets are rejected at load; nothing to compare
        return
    both(mapping, record)
