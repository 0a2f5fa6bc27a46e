"""The scope catalogue, scope strings (RFC 6749 §3.3) and which kinds of client may hold which scopes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdock.api.security.scopes import (
    GRANTABLE,
    ClientKind,
    InsufficientScopeError,
    InvalidScopeError,
    Scope,
    check_grantable,
    check_requested,
    format_scope,
    parse_scope,
)

PARTNER_GRANT = frozenset({Scope.ORDERS_READ, Scope.ORDERS_WRITE, Scope.PRICES_READ})


def test_the_catalogue_names_every_scope_of_the_issue_with_a_description() -> None:
    assert {str(scope) for scope in Scope} == {
        "orders:read",
        "orders:write",
        "customers:read",
        "customers:write",
        "credit:read",
        "availability:read",
        "prices:read",
        "shipments:read",
        "invoices:read",
        "webhooks:manage",
        "systems:read",
        "operator",
    }
    for scope in Scope:
        assert scope.description.endswith(".")
        assert "\n" not in scope.description


def test_a_scope_string_parses_to_its_scopes_whatever_the_order_spacing_or_repeats() -> None:
    assert parse_scope("orders:write orders:read") == {Scope.ORDERS_READ, Scope.ORDERS_WRITE}
    assert parse_scope("  orders:read   orders:read ") == {Scope.ORDERS_READ}
    assert parse_scope("operator") == {Scope.OPERATOR}


def test_an_unknown_scope_is_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidScopeError) as refused:
        parse_scope("orders:read orders:delete admin")
    assert refused.value.error == "invalid_scope"
    assert refused.value.scopes == ("admin", "orders:delete")
    assert "unknown scope(s) admin orders:delete" in str(refused.value)
    assert "orders:read" in str(refused.value)  # the known scopes are listed, so the caller can fix the request


@pytest.mark.parametrize("text", ["", "   ", 'orders:read "quoted"', "orders:read back\\slash", "x" * 2000])
def test_an_empty_or_malformed_scope_string_is_refused(text: str) -> None:
    with pytest.raises(InvalidScopeError):
        parse_scope(text)


def test_a_scope_is_case_sensitive() -> None:
    with pytest.raises(InvalidScopeError, match="ORDERS:READ"):
        parse_scope("ORDERS:READ")


def test_a_request_naming_no_scope_gets_every_granted_scope() -> None:
    assert check_requested(None, PARTNER_GRANT) == PARTNER_GRANT


def test_a_request_may_narrow_the_granted_scopes() -> None:
    assert check_requested("orders:read", PARTNER_GRANT) == {Scope.ORDERS_READ}


def test_a_request_beyond_the_grant_is_refused_naming_what_was_not_granted() -> None:
    with pytest.raises(InvalidScopeError) as refused:
        check_requested("orders:read invoices:read operator", PARTNER_GRANT)
    assert refused.value.scopes == ("invoices:read", "operator")
    assert "not granted" in str(refused.value)


def test_a_partner_can_never_hold_internal_or_operator_scopes() -> None:
    for scope in (Scope.SYSTEMS_READ, Scope.OPERATOR):
        with pytest.raises(InvalidScopeError, match="partner client may not hold"):
            check_grantable(ClientKind.PARTNER, {Scope.ORDERS_READ, scope})
    check_grantable(ClientKind.PARTNER, GRANTABLE[ClientKind.PARTNER])


def test_an_internal_client_may_read_systems_but_not_act_as_operator() -> None:
    check_grantable(ClientKind.INTERNAL, {Scope.SYSTEMS_READ, Scope.CUSTOMERS_WRITE})
    with pytest.raises(InvalidScopeError):
        check_grantable(ClientKind.INTERNAL, {Scope.OPERATOR})


def test_an_operator_may_hold_every_scope() -> None:
    check_grantable(ClientKind.OPERATOR, set(Scope))


def test_insufficient_scope_names_what_is_missing() -> None:
    error = InsufficientScopeError({Scope.ORDERS_WRITE, Scope.CREDIT_READ})
    assert error.error == "insufficient_scope"
    assert str(error) == "this request needs the scope(s) credit:read orders:write"


@given(st.sets(st.sampled_from(list(Scope)), min_size=1))
def test_formatting_then_parsing_gives_the_same_scopes(scopes: set[Scope]) -> None:
    text = format_scope(scopes)
    assert parse_scope(text) == scopes
    assert text == format_scope(parse_scope(text))  # stable: the same set always reads the same
