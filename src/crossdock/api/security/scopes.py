"""The OAuth 2.0 scope catalogue of the API, which kinds of client may hold which scopes, and scope strings.

A scope string is space-separated scope tokens (RFC 6749 §3.3); order and repeats carry no meaning.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

from crossdock.ports.api import ClientKind

__all__ = [
    "GRANTABLE",
    "ClientKind",
    "InsufficientScopeError",
    "InvalidScopeError",
    "Scope",
    "check_grantable",
    "check_requested",
    "format_scope",
    "parse_scope",
]


class Scope(enum.StrEnum):
    """A permission an access token can carry; `description` says what it allows."""

    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CREDIT_READ = "credit:read"
    AVAILABILITY_READ = "availability:read"
    PRICES_READ = "prices:read"
    SHIPMENTS_READ = "shipments:read"
    INVOICES_READ = "invoices:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    SYSTEMS_READ = "systems:read"
    OPERATOR = "operator"

    @property
    def description(self) -> str:
        """What a token with this scope may do, one line, for docs and the OpenAPI security scheme."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: Mapping[Scope, str] = {
    Scope.ORDERS_READ: "Read sales orders and their status.",
    Scope.ORDERS_WRITE: "Submit and change sales orders.",
    Scope.CUSTOMERS_READ: "Read customer accounts, contacts and addresses.",
    Scope.CUSTOMERS_WRITE: "Create and update customer accounts, contacts and addresses.",
    Scope.CREDIT_READ: "Check a customer's credit standing.",
    Scope.AVAILABILITY_READ: "Check stock availability (ATP) of items.",
    Scope.PRICES_READ: "Read prices, price lists and contract prices.",
    Scope.SHIPMENTS_READ: "Read shipments and ship notices (ASN).",
    Scope.INVOICES_READ: "Read invoices.",
    Scope.WEBHOOKS_MANAGE: "Create, change and delete webhook subscriptions.",
    Scope.SYSTEMS_READ: "Read internal system APIs (connectors, flows, lineage).",
    Scope.OPERATOR: "Console and operator actions (replay, dead letters, exceptions, clients).",
}

# Least privilege by construction: a partner can never be granted the internal or operator scopes, whatever an
# operator types when creating its client (OWASP API5, broken function level authorisation).
GRANTABLE: Mapping[ClientKind, frozenset[Scope]] = {
    # A partner is one account: it may not create accounts (which would belong to no partner) nor see systems.
    ClientKind.PARTNER: frozenset(Scope) - {Scope.SYSTEMS_READ, Scope.OPERATOR, Scope.CUSTOMERS_WRITE},
    ClientKind.INTERNAL: frozenset(Scope) - {Scope.OPERATOR},
    ClientKind.OPERATOR: frozenset(Scope),
}

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), i.e. visible ASCII except `"` and `\`.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_MAX_SCOPE_CHARS = 1024  # the whole catalogue is under 200 characters; anything longer is not a scope string


class InvalidScopeError(ValueError):
    """A scope string that is malformed, names an unknown scope, or asks for more than was granted."""

    error = "invalid_scope"  # the OAuth 2.0 error code (RFC 6749 §5.2) a token endpoint answers with

    def __init__(self, message: str, *, scopes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.scopes = tuple(sorted(str(scope) for scope in scopes))


class InsufficientScopeError(PermissionError):
    """A token that lacks a scope the request needs."""

    error = "insufficient_scope"  # the bearer-token error code (RFC 6750 §3.1), answered with 403

    def __init__(self, missing: Iterable[Scope]) -> None:
        self.missing = frozenset(missing)
        super().__init__(f"this request needs the scope(s) {format_scope(self.missing)}")


def parse_scope(text: str) -> frozenset[Scope]:
    """The scopes in a space-separated scope string; raises `InvalidScopeError` naming any unknown scope."""
    if len(text) > _MAX_SCOPE_CHARS:
        raise InvalidScopeError(f"the scope string is longer than {_MAX_SCOPE_CHARS} characters")
    tokens = text.split()
    if not tokens:
        raise InvalidScopeError("the scope string is empty; name at least one scope, e.g. 'orders:read'")
    found: set[Scope] = set()
    unknown: set[str] = set()
    for token in tokens:
        try:
            found.add(Scope(token))
        except ValueError:
            if not _SCOPE_TOKEN.fullmatch(token):
                raise InvalidScopeError(
                    "a scope may hold only visible ASCII characters other than '\"' and '\\'"
                ) from None
            unknown.add(token)
    if unknown:
        raise InvalidScopeError(
            f"unknown scope(s) {' '.join(sorted(unknown))}; known scopes are {format_scope(Scope)}", scopes=unknown
        )
    return frozenset(found)


def format_scope(scopes: Iterable[Scope | str]) -> str:
    """A scope string in a stable order, for tokens and responses."""
    return " ".join(sorted({str(scope) for scope in scopes}))


def check_requested(requested: str | None, granted: frozenset[Scope]) -> frozenset[Scope]:
    """The scopes a token request gets: all granted ones when it names none, else the ones it names if all are
    granted; raises `InvalidScopeError` otherwise (RFC 6749 §3.3 and §5.2)."""
    if requested is None:
        return granted
    wanted = parse_scope(requested)
    beyond = wanted - granted
    if beyond:
        raise InvalidScopeError(
            f"scope(s) {format_scope(beyond)} not granted to this client; ask for no more than {format_scope(granted)}",
            scopes=beyond,
        )
    return wanted


def check_grantable(kind: ClientKind, scopes: Iterable[Scope]) -> None:
    """Refuse scopes a client of this kind may never hold (a partner with `operator`, say)."""
    refused = frozenset(scopes) - GRANTABLE[kind]
    if refused:
        raise InvalidScopeError(f"a {kind} client may not hold the scope(s) {format_scope(refused)}", scopes=refused)
