"""The native packaged specs map every record as their JSONata predecessors did (kept in fixtures/jsonata_mapping).

The JSONata versions cost ~1.6 ms per customer; the native rules replacing their `expr:` rules must not change a
single output. Both catalogs map the same records, from the fixtures, hand-picked edge cases and hypothesis: the
outputs are equal, or both refuse the record. Records keep the shapes the models give (objects where objects go);
a canonical record of the wrong shape is now refused where JSONata read past it.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossdock.connectors.salesforce.connector import mapping_catalog
from crossdock.mapping import MappingCatalog, MappingError

from .sf_support import FIXTURES, fixture

NATIVE = mapping_catalog("crm")
JSONATA = MappingCatalog.from_directory(FIXTURES / "jsonata_mapping", system="crm")
# The conftest's autouse secret fixture is function-scoped; these tests do not use it.
EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def same(entity: str, direction: str, record: Any) -> dict[str, Any] | None:
    """Map with both versions; the outputs must be equal or both a MappingError. Returns the output (None: refused)."""
    expected = _mapped(JSONATA, entity, direction, record)
    actual = _mapped(NATIVE, entity, direction, record)
    if isinstance(expected, MappingError) or isinstance(actual, MappingError):
        assert isinstance(expected, MappingError), f"the native spec refuses what JSONata maps to {expected}: {actual}"
        assert isinstance(actual, MappingError), f"the native spec maps what JSONata refuses ({expected}) to {actual}"
        return None
    assert actual == expected
    return actual


def _mapped(catalog: MappingCatalog, entity: str, direction: str, record: Any) -> dict[str, Any] | MappingError:
    try:
        return catalog.get("crm", entity, direction).apply(record)
    except MappingError as exc:
        return exc


def test_the_fixture_catalog_holds_the_replaced_specs() -> None:
    assert JSONATA.keys() == [
        ("crm", "customer", "inbound"),
        ("crm", "customer", "outbound"),
        ("crm", "item", "inbound"),
        ("crm", "item", "outbound"),
        ("crm", "price_list", "outbound"),
    ]
    for mapping in JSONATA:
        assert any(rule.expr for rule in mapping.spec.rules), f"{mapping.spec.origin} has no JSONata rule left"
    native_exprs = [rule.target.text for mapping in NATIVE for rule in mapping.spec.rules if rule.expr]
    assert native_exprs == []


@pytest.mark.parametrize("page", ["query_accounts_page1.json", "query_accounts_page2.json"])
def test_recorded_accounts(page: str) -> None:
    for account in fixture(page)["records"]:
        same("customer", "inbound", account)
        same("customer", "inbound", {**account, "CurrencyIsoCode": "USD"})


ACCOUNT = {"Id": "001A", "Name": "Acme", "AccountNumber": "C-1", "CurrencyIsoCode": "USD"}


@pytest.mark.parametrize(
    "terms",
    [None, "", " ", "Net 30", "Net 90", "Net 30\n", "Due on Receipt", "2/10 Net 30", "1.5/7 Net 45", "3/5 Net",
     "1..5/3 Net 9", "Net 1e2", "2/10Net 30", "x", 30, True],
)  # fmt: skip
def test_payment_terms_labels(terms: Any) -> None:
    same("customer", "inbound", {**ACCOUNT, "Payment_Terms__c": terms})


@pytest.mark.parametrize(
    "tax_id",
    [None, "", "  ", "12-3456789", "12-3456789\n", "123456789", "DE123456789", "DE1", "de123456789", "GB12+*.",
     "ATU12345678901234", 5, True],
)  # fmt: skip
def test_tax_ids(tax_id: Any) -> None:
    same("customer", "inbound", {**ACCOUNT, "Tax_Id__c": tax_id})


CUSTOMER = {"id": "cus_1", "number": "C-1", "name": "Acme", "currency": "USD"}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"sales_rep": "005B0000005Bk90IAC"},
        {"sales_rep": "005B0000005Bk90"},
        {"sales_rep": "005B0000005Bk90I"},
        {"sales_rep": "005B0000005Bk90IAC\n"},
        {"sales_rep": "REP7"},
        {"sales_rep": ""},
        {"sales_rep": None},
        {"sales_rep": 5},
        {"payment_terms": None},
        {"payment_terms": {"code": None}},
        {"payment_terms": {"code": ""}},
        {"payment_terms": {"code": "2-10-N30"}},
        {"payment_terms": {"code": "NET90"}},
        {"identifiers": []},
        {"identifiers": [{"scheme": "duns", "value": "1"}, {"scheme": "vat", "value": "DE1"}]},
        {"identifiers": [{"scheme": "ein"}, {"scheme": "vat", "value": "DE1"}]},
        {"identifiers": [{"scheme": 1, "value": "1"}, "ein", {"value": "2"}, {"scheme": "tax_id", "value": None}]},
    ],
)
def test_customer_edge_cases(changes: dict[str, Any]) -> None:
    written = same("customer", "outbound", {**CUSTOMER, **changes})
    if written is not None:
        same("customer", "inbound", written)


@pytest.mark.parametrize(
    "category", [None, "", "fasteners", "fasteners/screws", "/x", "x/", "ßand", "ǆa/b", "😀abc/d", "ŉx", 5]
)
def test_item_families(category: Any) -> None:
    written = same("item", "outbound", {"id": "itm_1", "sku": "S-1", "description": "d", "category": category})
    if written is not None:
        same("item", "inbound", written)


@pytest.mark.parametrize("unit", [None, "", "EA", "CS", "XX", "ea", "Each", "each", "box", "Kilogram", "ß", " "])
def test_units_of_measure(unit: Any) -> None:
    same("item", "outbound", {"id": "itm_1", "sku": "S-1", "description": "d", "base_uom": unit})
    same("item", "inbound", {"ProductCode": "S-1", "Name": "d", "QuantityUnitOfMeasure": unit})


@pytest.mark.parametrize("group", [None, "", "CONTRACTORS", "0", " "])
def test_price_books(group: Any) -> None:
    price_list = {"id": "prl_1", "name": "List", "code": "LIST", "currency": "USD", "customer_group": group}
    same("price_list", "outbound", {**price_list, "entries": [{"item_id": "itm_1", "breaks": []}]})
    same("price_list", "outbound", {**price_list, "entries": []})


def native_or_error(entity: str, direction: str, record: dict[str, Any]) -> Any:
    """The native output for a record, or "refused"."""
    try:
        return NATIVE.get("crm", entity, direction).apply(record)
    except MappingError:
        return "refused"


def test_differences_outside_the_models() -> None:
    """Where the versions part, the canonical models never go: a code that is not text, an object that is not one."""
    item = {"id": "itm_1", "sku": "S-1", "description": "d"}
    # A value map keeps any unknown code; JSONata's $lookup refused numbers.
    with pytest.raises(MappingError):
        JSONATA.get("crm", "item", "outbound").apply({**item, "base_uom": 5})
    assert native_or_error("item", "outbound", {**item, "base_uom": 5})["QuantityUnitOfMeasure"] == 5
    # `when:` asks for a value (not null, not ""); JSONata's `?` also took false and 0 for none.
    price_list = {"id": "prl_1", "name": "List", "currency": "USD", "customer_group": 0}
    assert JSONATA.get("crm", "price_list", "outbound").apply(price_list)["IsStandard"] is True
    assert native_or_error("price_list", "outbound", price_list)["IsStandard"] is False
    # A path through something that is not an object is refused, naming the field; JSONata read past it.
    assert JSONATA.get("crm", "customer", "outbound").apply({**CUSTOMER, "payment_terms": "NET30"})
    assert native_or_error("customer", "outbound", {**CUSTOMER, "payment_terms": "NET30"}) == "refused"
    assert native_or_error("customer", "outbound", {**CUSTOMER, "identifiers": {"scheme": "ein"}}) == "refused"


# Text that exercises the patterns: digits, separators and the letters of the labels and tax ids.
odd_text = st.text(alphabet=string.digits + "./- +*\nNetDueRcipADEGZabß", max_size=16)
codes = st.sampled_from(["DUE", "NET15", "NET30", "NET45", "NET60", "2-10-N30", "NET90", "COD", ""]) | odd_text
labels = st.sampled_from(["Due on Receipt", "Net 15", "Net 30", "Net 45", "Net 60", "2/10 Net 30"])
terms_labels = (
    labels
    | st.builds("{}/{} Net {}".format, st.integers(0, 9), st.integers(0, 99), st.integers(0, 400))
    | st.builds("Net {}".format, st.integers(0, 999))
    | odd_text
)
ein = st.builds("{:02d}-{:07d}".format, st.integers(0, 99), st.integers(0, 9_999_999))
vat = st.builds("{}{}".format, st.sampled_from(["DE", "FR", "GB", "AT"]), st.text("0123456789AU+*.", max_size=15))
tax_ids = ein | vat | odd_text
user_ids = st.builds(
    "005{}{}".format,
    st.text(string.ascii_letters + string.digits, min_size=10, max_size=12),
    st.sampled_from(["", "AAA", "AB", "\n", "AAA\n"]),
)
names = st.text(string.ascii_letters + " -", min_size=1, max_size=10)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, null, or empty text."""
    return st.none() | st.just("") | values


@st.composite
def canonical_customers(draw: st.DrawFn) -> dict[str, Any]:
    """Canonical customers as deliveries see them (`model_dump(mode="json")`), some with optional keys left out."""
    currency = draw(st.sampled_from(["USD", "EUR"]))
    terms = {
        "code": draw(codes),
        "net_days": draw(st.integers(0, 90)),
        "discount_percent": draw(st.none() | st.sampled_from(["2", "1.5"])),
        "discount_days": draw(st.none() | st.integers(0, 30)),
    }
    identifier = st.fixed_dictionaries(
        {"scheme": st.sampled_from(["tax_id", "ein", "vat", "duns", "gln"]), "value": maybe(tax_ids)}
    )
    address = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["bill_to", "ship_to", "mailing"]),
            "lines": st.lists(names, max_size=3),
            "city": maybe(names),
            "region": maybe(st.sampled_from(["GA", "ON"])),
            "postal_code": maybe(st.sampled_from(["30301", "M5V 2T6"])),
            "country": st.sampled_from(["US", "CA", "DE"]),
        }
    )
    point = st.fixed_dictionaries({"channel": st.sampled_from(["phone", "fax", "web", "email"]), "value": names})
    customer = {
        "id": "cus_" + draw(names),
        "number": draw(names),
        "name": draw(names),
        "roles": ["bill_to", "sold_to"],
        "parent_id": draw(st.none() | st.just("cus_parent")),
        "status": draw(st.sampled_from(["active", "prospect", "inactive", "closed"])),
        "identifiers": draw(st.lists(identifier, max_size=3)),
        "currency": currency,
        "payment_terms": draw(st.none() | st.just(terms)),
        "credit_limit": draw(
            st.none() | st.builds(lambda n: {"amount": f"{n}.00", "currency": currency}, st.integers(0, 10**6))
        ),
        "credit_status": draw(st.sampled_from(["ok", "hold", "blocked"])),
        "sales_rep": draw(maybe(user_ids | names)),
        "channel": draw(st.none() | st.sampled_from(["field_sales", "edi", "counter"])),
        "addresses": draw(st.lists(address, max_size=3)),
        "contact_points": draw(st.lists(point, max_size=3)),
    }
    left_out = draw(st.sets(st.sampled_from(["parent_id", "identifiers", "payment_terms", "sales_rep", "channel"])))
    return {key: value for key, value in customer.items() if key not in left_out}


accounts = st.fixed_dictionaries(
    {
        "Id": st.just("001A"),
        "AccountNumber": names,
        "Name": names,
        "CurrencyIsoCode": st.sampled_from(["USD", "EUR"]),
        "Payment_Terms__c": maybe(terms_labels),
        "Tax_Id__c": maybe(tax_ids),
        "OwnerId": maybe(user_ids),
        "Type": maybe(st.sampled_from(["Prospect", "Customer"])),
    }
)


@EXAMPLES
@given(canonical_customers())
def test_customers_written_and_read_back(customer: dict[str, Any]) -> None:
    written = same("customer", "outbound", customer)
    assert written is not None
    same("customer", "inbound", written)


@EXAMPLES
@given(accounts)
def test_accounts_read(account: dict[str, Any]) -> None:
    same("customer", "inbound", account)


items = st.fixed_dictionaries(
    {
        "id": st.just("itm_1"),
        "sku": names,
        "description": names,
        "status": st.sampled_from(["new", "active", "phase_out", "discontinued"]),
        "category": maybe(st.text(string.ascii_letters + "/ßǆ😀", max_size=12)),
        "base_uom": st.sampled_from(["EA", "CS", "PK", "PL", "BX", "KG", "LT", "MR", "DZ", "ea"]) | odd_text,
    }
)


@EXAMPLES
@given(items, maybe(st.sampled_from(["Each", "Case", "Meter", "Dozen", "each", "ß"]) | odd_text))
def test_items_written_and_read_back(item: dict[str, Any], unit: Any) -> None:
    written = same("item", "outbound", item)
    assert written is not None
    same("item", "inbound", written)
    same("item", "inbound", {**written, "QuantityUnitOfMeasure": unit})
