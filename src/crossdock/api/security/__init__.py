"""Who may call the API and with what: scopes, access tokens, and client secrets and operator keys."""

from crossdock.api.security.credentials import (
    ApiClient,
    check_secret,
    from_record,
    hash_secret,
    looks_like_secret,
    new_client,
    revoke,
    rotate,
    to_record,
)
from crossdock.api.security.scopes import (
    ClientKind,
    InsufficientScopeError,
    InvalidScopeError,
    Scope,
    check_grantable,
    check_requested,
    format_scope,
    parse_scope,
)
from crossdock.api.security.tokens import (
    IssuedToken,
    Keyring,
    Principal,
    RefusalReason,
    SigningKey,
    TokenIssuer,
    TokenRefusedError,
)

__all__ = [
    "ApiClient",
    "ClientKind",
    "InsufficientScopeError",
    "InvalidScopeError",
    "IssuedToken",
    "Keyring",
    "Principal",
    "RefusalReason",
    "Scope",
    "SigningKey",
    "TokenIssuer",
    "TokenRefusedError",
    "check_grantable",
    "check_requested",
    "check_secret",
    "format_scope",
    "from_record",
    "hash_secret",
    "looks_like_secret",
    "new_client",
    "parse_scope",
    "revoke",
    "rotate",
    "to_record",
]
