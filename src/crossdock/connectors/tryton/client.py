"""Tryton's JSON-RPC over httpx: session login and renewal, the context parameter, typed values, errors, warnings.

Every model call is `POST /<database>/rpc/` with `{"id", "method": "model.<name>.<method>", "params": [..., context]}`
and `Authorization: Session base64(user:uid:token)`. An expired session answers HTTP 401: the client logs in again
once and repeats the call. A UserWarning blocks a call until the user acknowledges it; the client creates that
`res.user.warning` and repeats the call once (when `acknowledge_warnings` is on).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.wire import TrytonFault, decode, encode
from crossdock.observability import tracing
from crossdock.observability.meters import CallReport
from crossdock.ports.connector import ConnectorError, ErrorKind

Domain = list[Any]


class TrytonError(ConnectorError):
    """A classified failure of one Tryton call; `fault` is Tryton's own error when it answered one."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        fault: TrytonFault | None = None,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(kind, message, retry_after_s=retry_after_s)
        self.fault = fault
        self.status = status


class TrytonClient:
    """One logged-in session to one Tryton database, shared by concurrent callers over a pooled HTTP client."""

    def __init__(
        self,
        settings: TrytonSettings,
        *,
        system: str = "tryton",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.system = system
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(max_connections=settings.max_connections),
            transport=transport,
            headers={"Content-Type": "application/json"},
        )
        self._path = f"/{settings.database}/rpc/"
        self._ids = itertools.count(1)
        self._login_lock = asyncio.Lock()
        self._session: str | None = None
        self._uid: int | None = None
        self._context: dict[str, Any] = {}
        self.logins = 0
        self.calls = 0
        self.failures = 0

    @property
    def uid(self) -> int:
        """The logged-in user's id; log in first."""
        if self._uid is None:
            raise RuntimeError("the Tryton client is not logged in yet; call login() first")
        return self._uid

    async def login(self) -> None:
        """Log in with the configured user (the password is read from its reference now) and load the context."""
        password = self.settings.password.resolve().get_secret_value()
        params = [self.settings.username, {"password": password}, self.settings.language]
        result = await self._post("common.db.login", params, session=None)
        if not isinstance(result, list) or len(result) < 2:
            raise TrytonError(ErrorKind.CONFIGURATION, f"{self.system}: Tryton answered the login with {result!r}")
        uid, token = int(result[0]), str(result[1])
        credentials = f"{self.settings.username}:{uid}:{token}".encode()
        self._session = "Session " + base64.b64encode(credentials).decode("ascii")
        self._uid = uid
        self.logins += 1
        preferences = await self._post("model.res.user.get_preferences", [True, {}], session=self._session)
        self._context = dict(preferences) if isinstance(preferences, dict) else {}

    async def refresh_context(self) -> dict[str, Any]:
        """Load the user's context again (after changing the user's company or employee)."""
        await self._ensure_session()
        preferences = await self.call("model.res.user.get_preferences", True, context={})
        self._context = dict(preferences) if isinstance(preferences, dict) else {}
        return dict(self._context)

    async def logout(self) -> None:
        """End the session on the server; the next call logs in again."""
        session, self._session = self._session, None
        if session is not None:
            # A session the server no longer knows is as good as ended.
            with contextlib.suppress(ConnectorError):
                await self._post("common.db.logout", [], session=session)

    async def context(self) -> dict[str, Any]:
        """The user's context (company, language, ...), sent as the last parameter of every model call."""
        await self._ensure_session()
        return dict(self._context)

    async def call(self, method: str, *params: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Call `method` with `params` (and the user context plus `context` for model and wizard methods).

        A UserWarning is acknowledged and the call repeated once, when `acknowledge_warnings` is on. One span
        covers the call with its login, session renewal and warning acknowledgement.
        """
        with tracing.span(
            f"tryton {method}",
            kind=tracing.SpanKind.CLIENT,
            attributes={"rpc.system": "jsonrpc", "rpc.method": method, tracing.SYSTEM: self.system},
        ):
            return await self._call(method, params, context)

    def call_report(self) -> CallReport:
        """HTTP calls made to Tryton so far (logins included) and how many failed; Tryton sets no call budget."""
        return CallReport(calls=self.calls, failures=self.failures)

    async def _call(self, method: str, params: tuple[Any, ...], context: Mapping[str, Any] | None) -> Any:
        session = await self._ensure_session()
        try:
            return await self._call_renewing(method, list(params), context, session)
        except TrytonError as exc:
            key = exc.fault.warning_key if exc.fault is not None else None
            if key is None or not self.settings.acknowledge_warnings:
                raise
        await self._acknowledge(key)
        return await self._call_renewing(method, list(params), context, await self._ensure_session())

    async def execute(self, model: str, method: str, *args: Any, context: Mapping[str, Any] | None = None) -> Any:
        """`model.<model>.<method>(*args, context)`."""
        return await self.call(f"model.{model}.{method}", *args, context=context)

    async def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Records matching `domain`, with `fields` (dotted names read related records' fields)."""
        order_list = [list(pair) for pair in order] if order is not None else None
        rows = await self.execute(
            model, "search_read", domain, offset, limit, order_list, list(fields), context=context
        )
        return list(rows)

    async def search(
        self, model: str, domain: Domain, *, limit: int | None = None, context: Mapping[str, Any] | None = None
    ) -> list[int]:
        """Ids of records matching `domain`."""
        return [int(i) for i in await self.execute(model, "search", domain, 0, limit, None, context=context)]

    async def read(
        self, model: str, ids: Sequence[int], fields: Sequence[str], *, context: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """`fields` of the records `ids`, in the order of `ids`."""
        if not ids:
            return []
        return list(await self.execute(model, "read", list(ids), list(fields), context=context))

    async def create(
        self, model: str, values: Sequence[Mapping[str, Any]], *, context: Mapping[str, Any] | None = None
    ) -> list[int]:
        """Create records; their ids in order."""
        return [int(i) for i in await self.execute(model, "create", [dict(v) for v in values], context=context)]

    async def write(
        self,
        model: str,
        ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        timestamps: Mapping[int, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Write `values` to `ids`; with `timestamps` (id → `_timestamp` read before) Tryton refuses a lost update."""
        extra = dict(context or {})
        if timestamps:
            extra["_timestamp"] = {f"{model},{record}": stamp for record, stamp in timestamps.items()}
        await self.execute(model, "write", list(ids), dict(values), context=extra)

    async def delete(self, model: str, ids: Sequence[int], *, context: Mapping[str, Any] | None = None) -> None:
        """Delete records."""
        if ids:
            await self.execute(model, "delete", list(ids), context=context)

    async def fields_get(self, model: str, fields: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
        """Field definitions of a model (all fields when none are named)."""
        return dict(await self.execute(model, "fields_get", list(fields)))

    async def close(self) -> None:
        """Log out and close the HTTP connections."""
        try:
            await self.logout()
        finally:
            await self._http.aclose()

    async def _ensure_session(self) -> str:
        if self._session is None:
            async with self._login_lock:
                if self._session is None:
                    await self.login()
        assert self._session is not None
        return self._session

    async def _call_renewing(
        self, method: str, params: list[Any], context: Mapping[str, Any] | None, session: str
    ) -> Any:
        try:
            return await self._post(method, self._with_context(method, params, context), session=session)
        except TrytonError as exc:
            if exc.status != httpx.codes.UNAUTHORIZED:
                raise
        async with self._login_lock:
            # Only the first caller to see the dead session logs in; the others reuse its new session.
            if self._session in (session, None):
                await self.login()
        return await self._post(method, self._with_context(method, params, context), session=self._session)

    def _with_context(self, method: str, params: list[Any], context: Mapping[str, Any] | None) -> list[Any]:
        # Model, wizard and report methods take the context as their last parameter; `common.*` ones take none.
        if method.startswith(("model.", "wizard.", "report.")):
            return [*params, {**self._context, **(context or {})}]
        return params

    async def _acknowledge(self, key: str) -> None:
        await self._call_renewing(
            "model.res.user.warning.create",
            [[{"user": self.uid, "name": key, "always": False}]],
            None,
            await self._ensure_session(),
        )

    async def _post(self, method: str, params: list[Any], *, session: str | None) -> Any:
        self.calls += 1
        try:
            return await self._exchange(method, params, session)
        except TrytonError:
            self.failures += 1
            raise

    async def _exchange(self, method: str, params: list[Any], session: str | None) -> Any:
        body = orjson.dumps({"id": next(self._ids), "method": method, "params": encode(params)})
        headers = {"Authorization": session} if session is not None else {}
        traceparent = tracing.current_traceparent()
        if traceparent is not None:
            headers["traceparent"] = traceparent
        try:
            response = await self._http.post(self._path, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TrytonError(
                ErrorKind.TRANSIENT,
                f"{self.system}: Tryton at {self.settings.url} did not answer {method} in time ({type(exc).__name__})",
            ) from None
        except httpx.TransportError as exc:
            raise TrytonError(
                ErrorKind.TRANSIENT,
                f"{self.system}: cannot reach Tryton at {self.settings.url} ({type(exc).__name__}: {exc}); "
                "is the server running?",
            ) from None
        if response.status_code != httpx.codes.OK:
            raise self._http_error(method, response)
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TrytonError(
                ErrorKind.CONFIGURATION,
                f"{self.system}: {self.settings.url} answered {method} with something that is not JSON-RPC; "
                "check the url and database",
                status=response.status_code,
            ) from None
        if isinstance(document, dict) and document.get("error") is not None:
            fault = TrytonFault.parse(decode(document["error"]))
            error = fault.to_error(self.system, method)
            raise TrytonError(error.kind, str(error), fault=fault, status=response.status_code)
        return decode(document.get("result")) if isinstance(document, dict) else None

    def _http_error(self, method: str, response: httpx.Response) -> TrytonError:
        status = response.status_code
        where = f"{self.system}: Tryton answered {method} with HTTP {status}"
        if status == httpx.codes.UNAUTHORIZED:
            refused = "the login was refused" if method == "common.db.login" else "the session was refused"
            return TrytonError(
                ErrorKind.CONFIGURATION,
                f"{where}: {refused}; check the username and password ({self.settings.username!r})",
                status=status,
            )
        if status == httpx.codes.FORBIDDEN:
            return TrytonError(
                ErrorKind.CONFIGURATION,
                f"{where}: the method is not exposed over RPC or the user may not call it; check the user's groups",
                status=status,
            )
        if status == httpx.codes.TOO_MANY_REQUESTS:
            retry_after = _seconds(response.headers.get("Retry-After"))
            return TrytonError(
                ErrorKind.TRANSIENT, f"{where}: rate limited; retry later", status=status, retry_after_s=retry_after
            )
        if status == httpx.codes.NOT_FOUND:
            return TrytonError(
                ErrorKind.CONFIGURATION,
                f"{where}: no database {self.settings.database!r} there; check the url and database",
                status=status,
            )
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            return TrytonError(ErrorKind.TRANSIENT, f"{where}; retry later", status=status)
        return TrytonError(ErrorKind.CONFIGURATION, f"{where}: {response.text[:200]}", status=status)


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header else None
    except ValueError:
        return None
