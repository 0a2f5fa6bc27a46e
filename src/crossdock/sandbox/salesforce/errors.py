"""Salesforce's error shapes: request-level errors (`[{"message", "errorCode"}]`) and per-record save errors."""

from __future__ import annotations

from typing import Any


class SalesforceError(Exception):
    """A request-level failure, answered as `[{"message", "errorCode"[, "fields"]}]` with an HTTP status."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        """The JSON body Salesforce sends for this error."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


class RecordError(Exception):
    """One record's save error: `{"statusCode", "message", "fields"}` in collections, a 400 on single-record calls."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.fields = fields or []

    def as_result_error(self) -> dict[str, Any]:
        """The error as it appears in a SaveResult of an sObject Collections call."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_request_error(self) -> SalesforceError:
        """The error as a single-record call answers it (`errorCode`, HTTP 400)."""
        return SalesforceError(400, self.status_code, self.message, self.fields)


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    """404 NOT_FOUND, as Salesforce answers unknown resources, objects and records."""
    return SalesforceError(404, "NOT_FOUND", message)


def invalid_session() -> SalesforceError:
    """401 INVALID_SESSION_ID: no token, an unknown one, or one that expired."""
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def json_parser_error(message: str) -> SalesforceError:
    """400 JSON_PARSER_ERROR: the body is not JSON or a value cannot be read as its field's type."""
    return SalesforceError(400, "JSON_PARSER_ERROR", message)
