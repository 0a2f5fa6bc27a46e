"""RFC 9457 problem details: every error the API answers is `application/problem+json` saying what to do.

No stack trace ever reaches a caller: an unexpected error is logged with its correlation id and answered as a
plain 500 problem that quotes the id, so an operator can find the log line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://crossdock.dev/problems/"


class ProblemError(Exception):
    """An error the caller can act on: answered as problem+json with `status`, `title` and `detail`."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def document(self, instance: str) -> dict[str, Any]:
        """The problem details object."""
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        body.update(self.extra)
        return body


def problem_response(problem: ProblemError, instance: str) -> Response:
    """The problem as an HTTP response."""
    return Response(
        orjson.dumps(problem.document(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def unauthorized(detail: str, *, error: str = "invalid_token") -> ProblemError:
    """401 with the RFC 6750 challenge a client library understands."""
    return ProblemError(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": f'Bearer realm="crossdock", error="{error}"'},
    )


def forbidden(detail: str) -> ProblemError:
    """403: authenticated, but this client may not do this."""
    return ProblemError(403, "forbidden", "Not allowed for this client", detail)


def not_found(what: str) -> ProblemError:
    """404; also what a partner gets for another partner's objects, so ids cannot be probed."""
    return ProblemError(404, "not-found", "Not found", f"{what} does not exist or is not visible to this client")


def invalid(detail: str, errors: Sequence[Mapping[str, Any]] = ()) -> ProblemError:
    """422: the request was understood but its content breaks a rule."""
    extra = {"errors": list(errors)} if errors else None
    return ProblemError(422, "invalid-request", "The request is not valid", detail, extra=extra)


def _instance(request: Request) -> str:
    return request.url.path


def _pointer_errors(raw: Sequence[Any], *, skip: int) -> list[dict[str, Any]]:
    """Validation errors as JSON pointers into the request; `skip` drops FastAPI's leading location ("body")."""
    errors = []
    for error in list(raw)[:50]:
        location = [str(part) for part in error.get("loc", ())]
        errors.append(
            {
                "pointer": "/" + "/".join(location[skip:]),
                "in": location[:skip] or ["body"],
                "detail": error.get("msg", ""),
            }
        )
    return errors


def validation_problem(raw: Sequence[Any], *, skip: int = 0) -> ProblemError:
    """422 for pydantic validation errors, the first one named in the detail."""
    errors = _pointer_errors(raw, skip=skip)
    first = errors[0] if errors else {}
    detail = f"{first.get('pointer') or 'the request'}: {first.get('detail', 'invalid')}"
    return invalid(f"Fix the request and send it again; {detail}", errors)


def install(app: FastAPI) -> None:
    """Answer every error the app raises as problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return problem_response(exc, _instance(request))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(validation_problem(exc.errors(), skip=1), _instance(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable", 415: "Unsupported media type"}
        problem = ProblemError(
            exc.status_code,
            {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error"),
            titles.get(exc.status_code, "Request refused"),
            str(exc.detail) if exc.detail else titles.get(exc.status_code, "Request refused"),
            headers=dict(exc.headers or {}),
        )
        return problem_response(problem, _instance(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        correlation = request.headers.get("x-correlation-id") or getattr(request.state, "correlation_id", "")
        logger.exception(
            "unexpected error answering %s %s (correlation %s)", request.method, request.url.path, correlation
        )
        return problem_response(internal_error(correlation or ""), _instance(request))


def internal_error(correlation: str) -> ProblemError:
    """The 500 answer: no detail of the failure, only the correlation id that finds it in the logs."""
    return ProblemError(
        500,
        "internal-error",
        "Internal error",
        "Crossdock could not answer this request. Try again later; if it persists, give the operator the "
        f"correlation id {correlation or 'from the X-Correlation-Id header'}.",
    )
