"""Idempotency-Key on POST: the first answer to a key is stored for a day (errors included) and given again.

The same key with a different request (method, path or body) is refused with 422, so a client bug that reuses
keys cannot silently get another order's answer. Answers that say "try again" (429, 503) are not stored: the
retry they invite must be able to succeed. A concurrent retry in this process waits for the first answer; across
processes, the answer stored first wins and the other process returns it.

What the route wants written (the order record) commits in the same transaction as the stored answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import Request
from starlette.responses import Response

from crossdock.api.context import ApiContext
from crossdock.api.problems import ProblemError, problem_response
from crossdock.ports.api import IdempotencyRecord
from crossdock.ports.store import UnitOfWork

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_NOT_STORED = frozenset({429, 503})
_KEPT_HEADERS = ("location", "content-type")


@dataclass
class Answer:
    """What a route answers, and what it wants committed with the stored answer."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    write: Callable[[UnitOfWork], None] | None = None


def hash_request(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def require_key(request: Request) -> str:
    """The request's Idempotency-Key, or a 400 problem saying how to send one."""
    return checked_key(request.headers.get(HEADER))


def checked_key(key: str | None) -> str:
    """An Idempotency-Key header's value, or a 400 problem saying how to send one."""
    if key is None:
        raise ProblemError(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            f"send an `{HEADER}` header with a unique value per operation (a UUID); a retry with the same key and "
            "body gets the first answer instead of doing the work twice",
        )
    if not _KEY.fullmatch(key):
        raise ProblemError(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key invalid",
            f"`{HEADER}` must be 1 to 255 printable ASCII characters without spaces",
        )
    return key


async def once(
    ctx: ApiContext, request: Request, client_id: str, key: str, answer: Callable[[], Awaitable[Answer]]
) -> Response:
    """Answer the request once per (client, key); replays carry `Idempotent-Replayed: true`."""
    body = await request.body()
    request_hash = hash_request(request.method, request.url.path, body)
    slot = (client_id, key)
    waiting = ctx.in_flight.get(slot)
    if waiting is not None:
        await asyncio.shield(waiting)
    now = ctx.clock()
    stored = await ctx.read(lambda uow: uow.api.get_idempotent(client_id, key, now=now))
    if stored is not None:
        return _replay(stored, request_hash)
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    ctx.in_flight[slot] = future
    try:
        try:
            result = await answer()
        except ProblemError as problem:
            result = _problem_answer(problem, request.url.path)
        if result.status in _NOT_STORED:
            return response_for(result, replayed=False)
        record = IdempotencyRecord(
            client_id=client_id,
            key=key,
            request_hash=request_hash,
            status_code=result.status,
            body=result.body,
            headers={k: v for k, v in result.headers.items() if k.lower() in _KEPT_HEADERS},
            created_at=now,
            expires_at=now + timedelta(hours=ctx.config.idempotency_ttl_h),
        )

        def commit(uow: UnitOfWork) -> IdempotencyRecord | None:
            if not uow.api.put_idempotent(record):
                return uow.api.get_idempotent(client_id, key, now=now)  # another process answered first
            if result.write is not None:
                result.write(uow)
            return None

        first = await ctx.write(commit)
        if first is not None:
            return _replay(first, request_hash)
        return response_for(result, replayed=False)
    finally:
        ctx.in_flight.pop(slot, None)
        future.set_result(None)


def key_reused() -> ProblemError:
    """422: the key was used before for another request."""
    return ProblemError(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        f"this {HEADER} was already used for a different request; use a new key for a new operation",
    )


def _replay(stored: IdempotencyRecord, request_hash: str) -> Response:
    if stored.request_hash != request_hash:
        raise key_reused()
    return stored_response(stored, replayed=True)


def stored_response(stored: IdempotencyRecord, *, replayed: bool) -> Response:
    """A stored answer as the response."""
    return response_for(Answer(stored.status_code, stored.body, dict(stored.headers)), replayed=replayed)


def stored_problem(
    problem: ProblemError,
    instance: str,
    client_id: str,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
) -> IdempotencyRecord:
    """A refusal as the answer to store under the key."""
    answer = _problem_answer(problem, instance)
    return IdempotencyRecord(
        client_id=client_id,
        key=key,
        request_hash=request_hash,
        status_code=answer.status,
        body=answer.body,
        headers={k: v for k, v in answer.headers.items() if k.lower() in _KEPT_HEADERS},
        created_at=now,
        expires_at=expires_at,
    )


def _problem_answer(problem: ProblemError, instance: str) -> Answer:
    response = problem_response(problem, instance)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Answer(problem.status, bytes(response.body), headers)


def response_for(answer: Answer, *, replayed: bool) -> Response:
    """An answer as the response; a replay says so in `Idempotent-Replayed`."""
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-type"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    media_type = answer.headers.get("content-type") or answer.headers.get("Content-Type") or "application/json"
    return Response(answer.body, status_code=answer.status, headers=headers, media_type=media_type)
