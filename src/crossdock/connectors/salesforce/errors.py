"""Salesforce error codes sorted into Crossdock's error taxonomy (retry, quarantine, fix the setup, wait)."""

from __future__ import annotations

from typing import Any

from crossdock.ports.connector import ConnectorError, ErrorKind

TRANSIENT_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "QUERY_TIMEOUT",
        "INVALID_QUERY_LOCATOR",
        "CONCURRENT_REQUEST_LIMIT_EXCEEDED",
        # A custom price book entry needs the standard price first; the base price list brings it.
        "STANDARD_PRICE_NOT_DEFINED",
    }
)
CONFIGURATION_CODES = frozenset(
    {
        "INVALID_SESSION_ID",
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "INVALID_TYPE",
        "NOT_FOUND",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "MALFORMED_QUERY",
        "JSON_PARSER_ERROR",
        "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
        "FUNCTIONALITY_NOT_ENABLED",
        "INVALID_REPLAY_ID",  # CDC events aged out of the 72-hour retention: reset the cursor and reconcile
    }
)
# When a whole request is refused with these, the request itself (our mapping or field list) is wrong, not a record.
_REQUEST_CONFIGURATION_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY"})
_FOREIGN_KEY = "foreign key external id"


class SalesforceApiError(ConnectorError):
    """A refused Salesforce request: the HTTP status, the first error code and every error Salesforce listed."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(kind, message, retry_after_s=retry_after_s)
        self.status = status
        self.code = code
        self.errors = errors or []


def error_code(error: dict[str, Any]) -> str:
    """The code of one error: `errorCode` in REST error bodies, `statusCode` in composite results."""
    return str(error.get("errorCode") or error.get("statusCode") or "UNKNOWN")


def classify_record_error(error: dict[str, Any], *, foreign_key_retry_s: float) -> tuple[ErrorKind, float | None]:
    """The kind of one per-record error, and a retry hint for the transient ones."""
    code = error_code(error)
    message = str(error.get("message", "")).lower()
    if _FOREIGN_KEY in message:
        # `Account: {"Crossdock_Id__c": ...}` names a parent not written yet; it arrives in its own flow shortly.
        return ErrorKind.TRANSIENT, foreign_key_retry_s
    if code in TRANSIENT_CODES:
        return ErrorKind.TRANSIENT, None
    if code in CONFIGURATION_CODES:
        return ErrorKind.CONFIGURATION, None
    return ErrorKind.DATA_QUALITY, None


def classify_request_error(status: int, code: str) -> ErrorKind:
    """The kind of a refused request (the whole call), from its HTTP status and first error code."""
    if status == 503:
        return ErrorKind.DOWNSTREAM_OUTAGE
    if code in TRANSIENT_CODES:
        return ErrorKind.TRANSIENT
    if status in (408, 429) or status >= 500:
        return ErrorKind.TRANSIENT
    if status in (401, 403, 404) or code in CONFIGURATION_CODES or code in _REQUEST_CONFIGURATION_CODES:
        return ErrorKind.CONFIGURATION
    return ErrorKind.DATA_QUALITY


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """`CODE: message (fields: A, B)` for each error, joined by `; `."""
    parts = []
    for error in errors:
        text = f"{error_code(error)}: {error.get('message', '')}".rstrip(": ")
        fields = error.get("fields") or []
        if fields:
            text += f" (fields: {', '.join(str(f) for f in fields)})"
        parts.append(text)
    return "; ".join(parts) or "no error details"
