"""The SOQL tokenizer and parser: what they accept, where they point when they refuse, and print/parse round trips."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdock.sandbox.salesforce.soql import parse, tokenize
from crossdock.sandbox.salesforce.soql_ast import (
    And,
    Comparison,
    Condition,
    CountAll,
    FieldRef,
    InList,
    Literal,
    Not,
    Or,
    OrderItem,
    Query,
    SoqlError,
    SubQuery,
)
from crossdock.sandbox.salesforce.soql_print import quote, to_soql


def test_parses_the_connectors_incremental_query() -> None:
    query = parse(
        "select Id, Name, Account.Name, (SELECT Id, Email FROM Contacts WHERE Email != null ORDER BY Email LIMIT 5) "
        "from Account where SystemModstamp > 2026-11-22T10:00:00.000+0000 and IsDeleted = false "
        "order by SystemModstamp asc, Id desc nulls last limit 200"
    )
    assert query.sobject == "Account"
    assert query.select[:3] == (FieldRef("Id"), FieldRef("Name"), FieldRef("Account.Name"))
    sub = query.select[3]
    assert isinstance(sub, SubQuery)
    assert sub.relationship == "Contacts"
    assert sub.where == Comparison(FieldRef("Email"), "!=", Literal("null", None))
    assert query.where == And(
        (
            Comparison(FieldRef("SystemModstamp"), ">", Literal("datetime", "2026-11-22T10:00:00.000+0000")),
            Comparison(FieldRef("IsDeleted"), "=", Literal("boolean", False)),
        )
    )
    assert query.order_by == (OrderItem(FieldRef("SystemModstamp")), OrderItem(FieldRef("Id"), True, True))
    assert query.limit == 200


def test_keywords_may_name_objects_and_literals_parse_by_kind() -> None:
    query = parse(
        "SELECT COUNT() FROM Order WHERE Status IN ('Draft', 'Activated') AND EffectiveDate >= LAST_N_DAYS:30 "
        "AND TotalAmount <> -1.5 AND Promised_Date__c < 2026-12-01"
    )
    assert query.select == (CountAll(),)
    assert query.sobject == "Order"
    assert isinstance(query.where, And)
    status, effective, total, promised = query.where.items
    assert status == InList(FieldRef("Status"), (Literal("string", "Draft"), Literal("string", "Activated")))
    assert effective == Comparison(FieldRef("EffectiveDate"), ">=", Literal("relative", ("LAST_N_DAYS", 30)))
    assert total == Comparison(FieldRef("TotalAmount"), "!=", Literal("number", "-1.5"))
    assert promised == Comparison(FieldRef("Promised_Date__c"), "<", Literal("date", "2026-12-01"))


def test_string_escapes() -> None:
    (token, _) = tokenize(r"'O\'Brien \\ \n 100\%'")
    assert token.value == "O'Brien \\ \n 100\\%"
    assert quote(token.value) == r"'O\'Brien \\ \n 100\%'"


@pytest.mark.parametrize(
    ("text", "at", "message"),
    [
        ("SELECT Id FORM Account", "FORM", "unexpected token: 'FORM'"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Industry = 'c'", "OR", "unexpected token: 'OR'"),
        ("SELECT Id FROM Account WHERE", None, "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account WHERE Name = 'open", "'open", "unterminated string literal"),
        ("SELECT Id FROM Account LIMIT ten", "ten", "unexpected token: 'ten'"),
        ("SELECT , Id FROM Account", ",", "unexpected token: ','"),
        ("SELECT Id FROM Account WHERE Name = 'a' GROUP BY Name", "GROUP", "unexpected token: 'GROUP'"),
    ],
)
def test_malformed_queries_name_the_token(text: str, at: str | None, message: str) -> None:
    with pytest.raises(SoqlError) as raised:
        parse(text)
    assert raised.value.error_code == "MALFORMED_QUERY"
    assert raised.value.pos == (text.index(at) if at else len(text))
    assert raised.value.message == message


def test_or_with_parentheses_is_fine() -> None:
    query = parse("SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND NOT Type = 'Other'")
    assert isinstance(query.where, And)
    assert isinstance(query.where.items[0], Or)
    assert isinstance(query.where.items[1], Not)


# -- round trips ----------------------------------------------------------------------------------------------------

NAMES = st.sampled_from(["Id", "Name", "Phone", "Account.Name", "Crossdock_Id__c", "Owner.Email", "BillingCity"])
STRINGS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
LITERALS = st.one_of(
    STRINGS.map(lambda text: Literal("string", text.replace("\\", ""))),
    st.integers(-(10**6), 10**6).map(lambda number: Literal("number", str(number))),
    st.booleans().map(lambda flag: Literal("boolean", flag)),
    st.just(Literal("null", None)),
    st.dates(min_value=date(1900, 1, 1)).map(lambda day: Literal("date", day.isoformat())),
    st.datetimes(min_value=datetime(1900, 1, 1)).map(
        lambda moment: Literal("datetime", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ),
    st.sampled_from([Literal("relative", ("TODAY", None)), Literal("relative", ("LAST_N_DAYS", 7))]),
)
COMPARISONS = st.builds(
    Comparison, NAMES.map(FieldRef), st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "LIKE"]), LITERALS
)
IN_LISTS = st.builds(InList, NAMES.map(FieldRef), st.lists(LITERALS, min_size=1, max_size=3).map(tuple), st.booleans())


def _conditions() -> st.SearchStrategy[Condition]:
    return st.recursive(
        st.one_of(COMPARISONS, IN_LISTS),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
            st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
            inner.map(Not),
        ),
        max_leaves=6,
    )


ORDERS = st.builds(OrderItem, NAMES.map(FieldRef), st.booleans(), st.one_of(st.none(), st.booleans()))
LIMITS = st.one_of(st.none(), st.integers(0, 50000))
SUBQUERIES = st.builds(
    SubQuery,
    st.lists(NAMES.map(FieldRef), min_size=1, max_size=3).map(tuple),
    st.sampled_from(["Contacts", "Orders"]),
    st.one_of(st.none(), _conditions()),
    st.lists(ORDERS, max_size=2).map(tuple),
    LIMITS,
)
QUERIES = st.builds(
    Query,
    st.one_of(
        st.just((CountAll(),)),
        st.lists(st.one_of(NAMES.map(FieldRef), SUBQUERIES), min_size=1, max_size=4).map(tuple),
    ),
    st.sampled_from(["Account", "Contact", "Order", "OrderItem"]),
    st.one_of(st.none(), _conditions()),
    st.lists(ORDERS, max_size=3).map(tuple),
    LIMITS,
    st.one_of(st.none(), st.integers(0, 2000)),
)


@settings(max_examples=150, deadline=None)
@given(QUERIES)
def test_print_then_parse_gives_the_same_query(query: Query) -> None:
    assert parse(to_soql(query)) == query


@settings(max_examples=150, deadline=None)
@given(STRINGS)
def test_quoted_strings_survive_the_tokenizer(text: str) -> None:
    text = text.replace("\\", "")  # a lone backslash is an escape in SOQL; quote() writes it as \\ only in pairs
    (token, _) = tokenize(quote(text))
    assert token.kind == "string"
    assert token.value == text
