"""The OpenAPI 3.1 document, with the error answers as they really are: problem+json everywhere.

FastAPI documents its own validation error (`HTTPValidationError`, application/json); the API answers every error
as an RFC 9457 problem instead, and some answers come from layers FastAPI does not see (413 and 411 from the size
limit, 429 from the rate plan, 401 from authentication). The document says so, so generated clients and contract
tests (schemathesis) see what callers see.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from crossdock.api.schemas import OrderSubmission, Problem

PROBLEM_JSON = "application/problem+json"
_COMMON = {
    "400": "The request is malformed",
    "401": "Authentication required",
    "403": "Not allowed for this client",
    "404": "Not found",
    "422": "The request is not valid",
    "429": "Too many requests (see Retry-After and RateLimit)",
    "500": "Internal error (quote the X-Correlation-Id)",
}
_WITH_BODY = {"411": "Content-Length required", "413": "Request body too large"}
_OAUTH_ERRORS = {"400", "401"}  # the token endpoint answers these as RFC 6749 JSON, not as problems


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document for `app`, built once and kept."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # The order submission route reads its body itself (see routes/orders.py); its schema is published here.
    submission = OrderSubmission.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(submission.pop("$defs", {}))
    schemas["OrderSubmission"] = submission
    for schema_name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(schema_name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            errors = dict(_COMMON) | (_WITH_BODY if method in ("post", "put", "patch") else {})
            for status, description in errors.items():
                current = responses.get(status)
                if path == "/v1/oauth/token" and status in _OAUTH_ERRORS and current is not None:
                    continue
                responses[status] = _problem(current.get("description", description) if current else description)
    app.openapi_schema = document
    return document
