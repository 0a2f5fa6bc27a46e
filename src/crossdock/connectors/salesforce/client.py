"""The Salesforce REST API as Crossdock uses it: OAuth 2.0 tokens, SOQL paging, composite collections, limits.

Every call goes through `_send`, which spends one unit of the call budget, waits as pacing asks, carries the bearer
token (refreshed once on `INVALID_SESSION_ID`), records `Sforce-Limit-Info` and the server's clock, and turns a
refusal into a `SalesforceApiError` of the right kind. One token is fetched per connector lifetime unless Salesforce
revokes it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import orjson

from crossdock.config import ConfigError
from crossdock.connectors.salesforce.config import ClientCredentialsAuth, JwtBearerAuth, SalesforceSettings
from crossdock.connectors.salesforce.errors import (
    SalesforceApiError,
    classify_request_error,
    describe_errors,
    error_code,
)
from crossdock.connectors.salesforce.limits import ApiUsage, CallBudget, parse_limit_info
from crossdock.observability import tracing
from crossdock.observability.meters import CallReport
from crossdock.ports.connector import ConnectorError, ErrorKind
from crossdock.ports.egress import EgressPolicy, EgressRefusedError

COLLECTION_SIZE = 200
"""Records per composite sObject collection call, the API's maximum."""
JWT_LIFETIME_S = 180  # Salesforce refuses assertions valid for more than three minutes
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_API_PREFIX = re.compile(r"^/?services/data/v[0-9.]+/")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Salesforce's answer for one record of a collection call."""

    id: str | None
    success: bool
    created: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeletedRecords:
    """What the `deleted` endpoint reports for a window."""

    records: list[tuple[str, str]]  # (id, deletedDate)
    earliest_available: str | None
    latest_covered: str | None


class SalesforceClient:
    """An authenticated session with one org; not safe to share between event loops."""

    def __init__(
        self,
        system: str,
        settings: SalesforceSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.system = system
        self.settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            headers={"Sforce-Call-Options": f"client={settings.client_name}", "Accept": "application/json"},
        )
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._budget = CallBudget(
            system, settings.pacing, calls=settings.daily_call_budget, share=settings.budget_share, clock=clock
        )
        self._token: str | None = None
        self._instance_url = settings.instance_url
        self._token_lock = asyncio.Lock()
        self.server_time: datetime | None = None
        """The org's clock at the last response (its `Date` header): capture windows follow it, not ours."""
        self.user_id: str | None = None
        """The integration user's id, from the token response's identity URL."""
        self.failures = 0
        """Calls that ended in an error (refused, timed out, unreachable)."""

    @property
    def api_version_path(self) -> str:
        """`/services/data/vNN.N`."""
        return f"/services/data/v{self.settings.api_version}"

    @property
    def usage(self) -> ApiUsage:
        """The org's reported API usage and Crossdock's own call counts."""
        return self._budget.snapshot()

    # -- authentication -------------------------------------------------------------------------------------------

    async def authenticate(self) -> str:
        """A valid access token, fetched on first use."""
        if self._token is None:
            async with self._token_lock:
                if self._token is None:
                    await self._fetch_token()
        assert self._token is not None  # set by _fetch_token or it raised
        return self._token

    async def _refresh(self, stale: str) -> None:
        async with self._token_lock:
            if self._token == stale:  # another request may have refreshed it while this one waited
                self._token = None
                await self._fetch_token()

    async def _fetch_token(self) -> None:
        auth = self.settings.auth
        form: dict[str, str]
        try:
            if isinstance(auth, ClientCredentialsAuth):
                form = {
                    "grant_type": "client_credentials",
                    "client_id": auth.client_id,
                    "client_secret": auth.client_secret.resolve().get_secret_value(),
                }
            else:
                form = {"grant_type": _JWT_GRANT, "assertion": self.jwt_assertion(auth)}
        except ConfigError as exc:  # a secret reference that cannot be read: the setup must change, not the data
            raise SalesforceApiError(ErrorKind.CONFIGURATION, f"{self.system}: {exc}") from None
        url = f"{self.settings.login_url}/services/oauth2/token"
        self._budget.token_requests += 1
        try:
            response = await self._http.post(url, data=form)
        except httpx.TransportError as exc:
            raise SalesforceApiError(
                ErrorKind.TRANSIENT, f"{self.system}: cannot reach {url} for a token: {type(exc).__name__}: {exc}"
            ) from exc
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            problem = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            kind = ErrorKind.DOWNSTREAM_OUTAGE if response.status_code >= 500 else ErrorKind.CONFIGURATION
            raise SalesforceApiError(
                kind,
                f"{self.system}: Salesforce refused a token at {url} ({response.status_code}: "
                f"{problem or response.text[:200]}); check the connected app, its client_id, the user's "
                f"pre-authorisation and the {auth.grant} settings",
                status=response.status_code,
                code=str(body.get("error")) if isinstance(body, dict) else None,
            )
        self._token = str(body["access_token"])
        # The identity URL ends in the integration user's id: `.../id/<org id>/<user id>`.
        identity = str(body.get("id") or "")
        self.user_id = (identity.rsplit("/", 1)[-1] or None) if identity else None
        if self.settings.instance_url is None and body.get("instance_url"):
            instance_url = str(body["instance_url"]).rstrip("/")
            # The token endpoint chooses where every later call goes: check it like a configured URL.
            try:
                egress_policy(self.settings).check(instance_url, owner=f"systems.{self.system} (token response)")
            except EgressRefusedError as exc:
                raise ConnectorError(ErrorKind.CONFIGURATION, str(exc)) from None
            self._instance_url = instance_url

    def jwt_assertion(self, auth: JwtBearerAuth) -> str:
        """The RS256-signed assertion for the JWT bearer grant (iss: client id, sub: user, aud, exp)."""
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pem = auth.private_key.resolve().get_secret_value().encode()
        password = (
            auth.private_key_passphrase.resolve().get_secret_value().encode() if auth.private_key_passphrase else None
        )
        try:
            key = load_pem_private_key(pem, password=password)
        except (ValueError, TypeError) as exc:
            raise SalesforceApiError(
                ErrorKind.CONFIGURATION,
                f"{self.system}: the private key at {auth.private_key} is not a PEM RSA key or its passphrase is "
                f"wrong ({exc}); give the key whose certificate is uploaded to the connected app",
            ) from None
        claims = {
            "iss": auth.client_id,
            "sub": auth.username,
            "aud": auth.audience or jwt_audience(self.settings.login_url),
            "exp": int(self._wall_clock()) + JWT_LIFETIME_S,
        }
        return jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]

    # -- requests -------------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one API call (`path` absolute from the host, or relative to the API version) and return its JSON."""
        template = _path_template(path)
        with tracing.span(
            f"salesforce {method} {template}",
            kind=tracing.SpanKind.CLIENT,
            attributes={"http.request.method": method, "url.path": template, tracing.SYSTEM: self.system},
        ):
            try:
                return await self._request(method, path, params=params, body=body, headers=headers)
            except ConnectorError:
                self.failures += 1
                raise

    def call_report(self) -> CallReport:
        """Crossdock's calls to the org so far (token requests included), and what is left of the 24-hour budget:
        Crossdock's own budget when one is set, else the org's allocation as last reported."""
        usage = self._budget.snapshot()
        remaining, limit = None, None
        if usage.budget is not None:
            limit, remaining = usage.budget, max(0, usage.budget - usage.calls_24h)
        elif usage.limit is not None and usage.used is not None:
            limit, remaining = usage.limit, max(0, usage.limit - usage.used)
        return CallReport(
            calls=usage.calls + usage.token_requests, failures=self.failures, remaining=remaining, limit=limit
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        body: Any,
        headers: dict[str, str] | None,
    ) -> Any:
        delay = self._budget.admit()
        if delay > 0:
            await self._sleep(delay)
        token = await self.authenticate()
        response = await self._send(method, path, token, params, body, headers)
        if response.status_code == 401:
            await self._refresh(token)
            token = await self.authenticate()
            response = await self._send(method, path, token, params, body, headers)
        return self._result(method, path, response)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        params: dict[str, str] | None,
        body: Any,
        headers: dict[str, str] | None,
        *,
        http_timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        url = self._url(path)
        content = orjson.dumps(body) if body is not None else None
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        traceparent = tracing.current_traceparent()
        if traceparent is not None:
            all_headers["traceparent"] = traceparent
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method,
                url,
                params=params,
                content=content,
                headers=all_headers,
                timeout=http_timeout if http_timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise SalesforceApiError(
                ErrorKind.TRANSIENT, f"{self.system}: {method} {path} timed out ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise SalesforceApiError(
                ErrorKind.TRANSIENT, f"{self.system}: {method} {path} failed: {type(exc).__name__}: {exc}"
            ) from exc
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self._budget.report(*usage)
        self._note_server_time(response.headers.get("Date"))
        return response

    def _url(self, path: str) -> str:
        if self._instance_url is None:
            raise SalesforceApiError(
                ErrorKind.CONFIGURATION,
                f"{self.system}: no instance URL: the token response named none; set instance_url in the settings",
            )
        if not path.startswith("/"):
            path = f"{self.api_version_path}/{path}"
        return self._instance_url + path

    def _note_server_time(self, header: str | None) -> None:
        if not header:
            return
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        self.server_time = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def _result(self, method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code < 300:
            return _json(response) if response.content else None
        body = _json(response)
        errors = _errors_of(body)
        code = error_code(errors[0]) if errors else ""
        status = response.status_code
        kind = classify_request_error(status, code)
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is None and code == "REQUEST_LIMIT_EXCEEDED":
            retry_after = self.settings.pacing.limit_retry_s
        if retry_after is None and kind is ErrorKind.DOWNSTREAM_OUTAGE:
            retry_after = 30.0
        hint = {
            401: "the token was refused twice; check that the connected app still authorises the integration user",
            403: "give the integration user's profile or permission set access to this object and its fields",
            404: "check the object name, the API version and that the record exists",
        }.get(status, "")
        if code == "REQUEST_LIMIT_EXCEEDED":
            hint = "Salesforce's own limit is reached; Crossdock waits and retries"
        message = (
            f"{self.system}: {method} {path.split('?', maxsplit=1)[0]} answered {status}: {describe_errors(errors)}"
        )
        raise SalesforceApiError(
            kind,
            f"{message}; {hint}" if hint else message,
            status=status,
            code=code or None,
            errors=errors,
            retry_after_s=retry_after,
        )

    # -- queries --------------------------------------------------------------------------------------------------

    async def query_pages(self, soql: str, *, batch_size: int = 2000) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The batches of records a SOQL query returns, following `nextRecordsUrl` one call per batch, lazily."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        page = await self.request("GET", "query", params={"q": soql}, headers=headers)
        while True:
            yield list(page.get("records", []))
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = await self.request("GET", str(next_url), headers=headers)

    async def query(self, soql: str, *, batch_size: int = 2000) -> AsyncIterator[dict[str, Any]]:
        """Every record a SOQL query returns, fetching the next batch only when the previous one is consumed."""
        async for page in self.query_pages(soql, batch_size=batch_size):
            for record in page:
                yield record

    async def query_all(self, soql: str, *, batch_size: int = 2000) -> list[dict[str, Any]]:
        """Every record of a query, as a list."""
        return [record async for record in self.query(soql, batch_size=batch_size)]

    async def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe result: fields, their types and whether they are createable and updateable."""
        result = await self.request("GET", f"sobjects/{quote(sobject)}/describe")
        return dict(result)

    async def updated(self, sobject: str, start: datetime, end: datetime) -> tuple[list[str], str | None]:
        """Ids of records changed in [start, end] (minute precision) and the latest date covered."""
        result = await self.request("GET", f"sobjects/{quote(sobject)}/updated/", params=_window(start, end))
        return [str(i) for i in result.get("ids", [])], result.get("latestDateCovered")

    async def deleted(self, sobject: str, start: datetime, end: datetime) -> DeletedRecords:
        """Records deleted in [start, end] (minute precision), with the window Salesforce could cover."""
        result = await self.request("GET", f"sobjects/{quote(sobject)}/deleted/", params=_window(start, end))
        records = [(str(r["id"]), str(r.get("deletedDate", ""))) for r in result.get("deletedRecords", [])]
        return DeletedRecords(records, result.get("earliestDateAvailable"), result.get("latestDateCovered"))

    # -- composite collections ------------------------------------------------------------------------------------

    async def upsert_collection(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[RecordResult]:
        """Upsert up to 200 records by an external id field (`PATCH /composite/sobjects/<object>/<field>`)."""
        path = f"composite/sobjects/{quote(sobject)}/{quote(external_id_field)}"
        return await self._collection("PATCH", path, sobject, records, created_default=False)

    async def create_collection(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Create up to 200 records (`POST /composite/sobjects`)."""
        return await self._collection("POST", "composite/sobjects", sobject, records, created_default=True)

    async def update_collection(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Update up to 200 records by their `Id` (`PATCH /composite/sobjects`)."""
        return await self._collection("PATCH", "composite/sobjects", sobject, records, created_default=False)

    async def update_typed_collection(self, records: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordResult]:
        """Update up to 200 records of several objects by their `Id` in one call: (sObject, record) pairs.

        Salesforce takes mixed types in one collection (an order and its items); keep each type's records together,
        as it processes the records in chunks of one type.
        """
        return await self._typed_collection("PATCH", "composite/sobjects", records, created_default=False)

    async def _collection(
        self, method: str, path: str, sobject: str, records: Sequence[dict[str, Any]], *, created_default: bool
    ) -> list[RecordResult]:
        typed = [(sobject, record) for record in records]
        return await self._typed_collection(method, path, typed, created_default=created_default)

    async def _typed_collection(
        self, method: str, path: str, records: Sequence[tuple[str, dict[str, Any]]], *, created_default: bool
    ) -> list[RecordResult]:
        if not records:
            return []
        if len(records) > COLLECTION_SIZE:
            raise ValueError(f"a collection call takes at most {COLLECTION_SIZE} records, got {len(records)}")
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **record} for sobject, record in records],
        }
        answer = await self.request(method, path, body=body)
        if not isinstance(answer, list) or len(answer) != len(records):
            raise SalesforceApiError(
                ErrorKind.TRANSIENT,
                f"{self.system}: {method} {path} answered {len(answer) if isinstance(answer, list) else answer!r} "
                f"results for {len(records)} records",
            )
        return [
            RecordResult(
                id=item.get("id"),
                success=bool(item.get("success")),
                created=bool(item.get("created", created_default and item.get("success"))),
                errors=list(item.get("errors") or []),
            )
            for item in answer
        ]

    async def stream(self, path: str, body: Any = None, *, params: dict[str, str] | None = None, wait_s: float) -> Any:
        """A streaming (CDC) request: authenticated like any call but not an API call, so not counted or paced.

        Salesforce counts event deliveries against a separate allocation, not the REST call limit.
        """
        token = await self.authenticate()
        method = "POST" if body is not None else "GET"
        timeout = httpx.Timeout(wait_s + self.settings.read_timeout_s, connect=self.settings.connect_timeout_s)
        response = await self._send(method, path, token, params, body, None, http_timeout=timeout)
        if response.status_code == 401:
            await self._refresh(token)
            token = await self.authenticate()
            response = await self._send(method, path, token, params, body, None, http_timeout=timeout)
        return self._result(method, path, response)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()


def jwt_audience(login_url: str) -> str:
    """The `aud` Salesforce expects for a token endpoint: test.salesforce.com for sandboxes (also behind My Domain),
    login.salesforce.com for production My Domains, else the login URL itself (a local stand-in)."""
    host = httpx.URL(login_url).host
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith("salesforce.com"):
        return "https://login.salesforce.com"
    return login_url


def _json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return None


def _errors_of(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    if isinstance(body, dict):
        if "errorCode" in body or "message" in body:
            return [body]
        if "error" in body:
            return [{"errorCode": str(body["error"]).upper(), "message": body.get("error_description", "")}]
    return []


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": soql_datetime(start), "end": soql_datetime(end)}


def soql_datetime(moment: datetime) -> str:
    """A UTC time as SOQL and the replication endpoints write it: `2026-11-22T10:00:00Z` (whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    """A Salesforce date-time (`2026-11-22T10:00:00.000+0000`, or with `Z`) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def egress_policy(settings: SalesforceSettings) -> EgressPolicy:
    """Where this org's connector may call."""
    return EgressPolicy(settings.allow_private_network, settings.allowed_hosts)


def _path_template(path: str) -> str:
    """A call's path for span names: no query, no API version, and record ids (long segments with digits, such
    as Salesforce ids and external ids) as `{id}`, so that names stay few."""
    bare = _API_PREFIX.sub("", path.split("?", 1)[0]).strip("/")
    return "/".join("{id}" if len(part) >= 12 and any(c.isdigit() for c in part) else part for part in bare.split("/"))
