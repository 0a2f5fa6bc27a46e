"""What every route shares: JSON responses in Salesforce's content type, the call context, reading bodies."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response

from crossdock.sandbox.salesforce.errors import SalesforceError, json_parser_error, not_found
from crossdock.sandbox.salesforce.org import CallContext, Org
from crossdock.sandbox.salesforce.schema import ObjectSpec

CONTEXT_KEY = "crossdock.salesforce.call"
JSON_TYPE = "application/json;charset=UTF-8"


def sf_json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response as Salesforce sends it."""
    return Response(orjson.dumps(content), status_code=status, media_type=JSON_TYPE, headers=headers)


def org_of(request: Request) -> Org:
    """The sandbox org serving this request."""
    org: Org = request.app.state.org
    return org


def call_of(request: Request) -> CallContext:
    """The authenticated call context the API gate attached to this request."""
    context: CallContext | None = request.scope.get(CONTEXT_KEY)
    if context is None:
        raise RuntimeError("no call context: this route must sit under /services/data/vXX.X/, behind the API gate")
    return context


async def read_json(request: Request) -> Any:
    """The request body as JSON; JSON_PARSER_ERROR when it is not."""
    raw = await request.body()
    if not raw.strip():
        raise json_parser_error("The HTTP entity body is required, but this request has no entity body.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise json_parser_error(f"Unexpected character at [line:{error.lineno}, column:{error.colno}]") from None


def object_spec(org: Org, name: str) -> ObjectSpec:
    """The object named in the URL; 404 NOT_FOUND for an unknown one, as Salesforce answers."""
    spec = org.schema.get(name)
    if spec is None:
        raise not_found()
    return spec


def version_at_least(version: str, minimum: float) -> bool:
    """True when the API version of the call is `minimum` or later."""
    try:
        return float(version) >= minimum
    except ValueError:
        return False


def require_object(body: Any, what: str = "record") -> dict[str, Any]:
    """The body as a JSON object; JSON_PARSER_ERROR otherwise."""
    if not isinstance(body, dict):
        raise json_parser_error(f"Cannot deserialize instance of {what} from {type(body).__name__} value")
    return body


def bad_request(error_code: str, message: str) -> SalesforceError:
    """A 400 with Salesforce's error shape."""
    return SalesforceError(400, error_code, message)
