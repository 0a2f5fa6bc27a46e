"""The REST client against recorded public response shapes: tokens, paging, limits, pacing, budget, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossdock.config import SecretRef
from crossdock.connectors.salesforce.client import JWT_LIFETIME_S, SalesforceClient, jwt_audience
from crossdock.connectors.salesforce.config import SalesforceSettings
from crossdock.connectors.salesforce.errors import SalesforceApiError
from crossdock.ports.connector import ConnectorError, ErrorKind

from .conftest import MakeClient
from .sf_support import API, INSTANCE, LOGIN, TOKEN_URL, FakeClock, fixture, limit_info


def _form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


async def test_client_credentials_token_is_fetched_once_and_names_the_instance(
    router: respx.Router, make_client: MakeClient
) -> None:
    router.get(f"{API}/sobjects/Account/describe").respond(200, json={"name": "Account", "fields": []})
    client = make_client()
    await client.describe("Account")
    await client.describe("Account")
    token_calls = router.routes["token"].calls
    assert token_calls.call_count == 1
    assert _form(token_calls.last.request) == {
        "grant_type": "client_credentials",
        "client_id": "3MVG9test",
        "client_secret": "s3cret",
    }
    describe = router.calls.last.request
    assert describe.url.host == "acme.my.salesforce.com"
    assert describe.headers["Authorization"].startswith("Bearer 00DB0000000TfcR!")
    assert describe.headers["Sforce-Call-Options"] == "client=crossdock"
    assert client.usage.calls == 2
    assert client.usage.token_requests == 1
    await client.close()


async def test_jwt_bearer_assertion_is_signed_rs256_with_the_configured_key(
    tmp_path: Path, router: respx.Router, clock: FakeClock
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "sf.pem").write_bytes(pem)
    settings = SalesforceSettings.model_validate(
        {
            "login_url": LOGIN,
            "allow_private_network": True,  # test hosts are local or made up
            "instance_url": INSTANCE,
            "auth": {
                "grant": "jwt_bearer",
                "client_id": "3MVG9jwt",
                "username": "integration@acme.example",
                "private_key": SecretRef(f"file:{tmp_path / 'sf.pem'}"),
            },
        }
    )
    client = SalesforceClient(
        "crm", settings, transport=httpx.MockTransport(router.async_handler), wall_clock=clock.wall
    )
    router.get(f"{API}/limits").respond(200, json={})
    await client.request("GET", "limits")
    form = _form(router.routes["token"].calls.last.request)
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assertion = form["assertion"]
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    claims = jwt.decode(
        assertion, key.public_key(), algorithms=["RS256"], audience=LOGIN, options={"verify_exp": False}
    )
    assert claims["iss"] == "3MVG9jwt"
    assert claims["sub"] == "integration@acme.example"
    assert claims["aud"] == LOGIN
    assert claims["exp"] == int(clock.wall()) + JWT_LIFETIME_S
    await client.close()


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ],
)
def test_the_jwt_audience_follows_the_login_host(login_url: str, audience: str) -> None:
    assert jwt_audience(login_url) == audience


async def test_a_bad_private_key_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    settings = SalesforceSettings.model_validate(
        {
            "auth": {
                "grant": "jwt_bearer",
                "client_id": "c",
                "username": "u",
                "private_key": SecretRef(f"file:{tmp_path / 'bad.pem'}"),
            }
        }
    )
    client = SalesforceClient("crm", settings)
    with pytest.raises(SalesforceApiError, match="is not a PEM RSA key") as caught:
        await client.authenticate()
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "nope" not in str(caught.value)
    await client.close()


async def test_expired_session_refreshes_the_token_once(router: respx.Router, make_client: MakeClient) -> None:
    route = router.get(f"{API}/limits")
    route.side_effect = [
        httpx.Response(401, json=fixture("error_invalid_session.json")),
        httpx.Response(200, json={"DailyApiRequests": {}}),
    ]
    client = make_client()
    assert await client.request("GET", "limits") == {"DailyApiRequests": {}}
    assert router.routes["token"].calls.call_count == 2
    await client.close()


async def test_a_second_401_is_a_configuration_error(router: respx.Router, make_client: MakeClient) -> None:
    router.get(f"{API}/limits").respond(401, json=fixture("error_invalid_session.json"))
    client = make_client()
    with pytest.raises(ConnectorError, match="INVALID_SESSION_ID") as caught:
        await client.request("GET", "limits")
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert router.routes["token"].calls.call_count == 2
    await client.close()


async def test_a_refused_token_is_a_configuration_error(router: respx.Router, make_client: MakeClient) -> None:
    router.routes["token"].respond(400, json=fixture("token_invalid_grant.json"))
    client = make_client()
    with pytest.raises(ConnectorError, match="user hasn't approved this consumer") as caught:
        await client.request("GET", "limits")
    assert caught.value.kind is ErrorKind.CONFIGURATION
    await client.close()


async def test_query_follows_next_records_url_and_tracks_the_limit_header(
    router: respx.Router, make_client: MakeClient
) -> None:
    first = router.get(f"{API}/query").respond(200, json=fixture("query_accounts_page1.json"), headers=limit_info(120))
    second = router.get(f"{API}/query/01gD0000002HU6KIAW-2000").respond(
        200, json=fixture("query_accounts_page2.json"), headers=limit_info(121)
    )
    client = make_client()
    records = await client.query_all("SELECT Id FROM Account", batch_size=2000)
    assert [r["AccountNumber"] for r in records] == ["C-1001", "C-1002", "C-1003"]
    assert first.calls.last.request.url.params["q"] == "SELECT Id FROM Account"
    assert first.calls.last.request.headers["Sforce-Query-Options"] == "batchSize=2000"
    assert second.call_count == 1
    usage = client.usage
    assert (usage.used, usage.limit, usage.calls) == (121, 15_000, 2)
    assert usage.share == pytest.approx(121 / 15_000)
    await client.close()


async def test_the_next_batch_is_fetched_only_when_needed(router: respx.Router, make_client: MakeClient) -> None:
    router.get(f"{API}/query").respond(200, json=fixture("query_accounts_page1.json"))
    second = router.get(f"{API}/query/01gD0000002HU6KIAW-2000").respond(200, json=fixture("query_accounts_page2.json"))
    client = make_client()
    async for _ in client.query("SELECT Id FROM Account"):
        break
    assert second.call_count == 0
    await client.close()


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"),
    [
        (429, None, {"Retry-After": "7"}, ErrorKind.TRANSIENT, 7.0),
        (403, "error_request_limit.json", {}, ErrorKind.TRANSIENT, 300.0),
        (403, "error_request_limit.json", {"Retry-After": "60"}, ErrorKind.TRANSIENT, 60.0),
        (503, "error_server_unavailable.json", {}, ErrorKind.DOWNSTREAM_OUTAGE, 30.0),
        (500, None, {}, ErrorKind.TRANSIENT, None),
        (403, "error_insufficient_access.json", {}, ErrorKind.CONFIGURATION, None),
        (400, "error_invalid_field.json", {}, ErrorKind.CONFIGURATION, None),
        (404, None, {}, ErrorKind.CONFIGURATION, None),
    ],
)
async def test_refusals_are_classified(
    router: respx.Router,
    make_client: MakeClient,
    status: int,
    body: str | None,
    headers: dict[str, str],
    kind: ErrorKind,
    retry_after: float | None,
) -> None:
    router.get(f"{API}/query").respond(status, json=fixture(body) if body else None, headers=headers)
    client = make_client()
    with pytest.raises(SalesforceApiError) as caught:
        await client.query_all("SELECT Id FROM Account")
    assert caught.value.kind is kind
    assert caught.value.retry_after_s == retry_after
    assert caught.value.status == status
    await client.close()


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_connection_failures_are_transient(
    router: respx.Router, make_client: MakeClient, failure: Exception
) -> None:
    router.get(f"{API}/limits").mock(side_effect=failure)
    client = make_client()
    with pytest.raises(ConnectorError) as caught:
        await client.request("GET", "limits")
    assert caught.value.kind is ErrorKind.TRANSIENT
    await client.close()


async def test_the_daily_budget_refuses_calls_until_the_oldest_leave_the_window(
    router: respx.Router, make_client: MakeClient, clock: FakeClock
) -> None:
    route = router.get(f"{API}/limits").respond(200, json={})
    client = make_client(daily_call_budget=3)
    for _ in range(3):
        await client.request("GET", "limits")
        clock.advance(600)
    with pytest.raises(ConnectorError, match=r"call budget \(3 calls in 24 hours\) is used up") as caught:
        await client.request("GET", "limits")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retry_after_s is not None
    assert 84_000 < caught.value.retry_after_s <= 86_400 - 1_800 + 60
    assert route.call_count == 3
    clock.advance(caught.value.retry_after_s)
    await client.request("GET", "limits")
    assert route.call_count == 4
    assert client.usage.calls_24h == 3
    await client.close()


async def test_a_budget_share_follows_the_org_limit(router: respx.Router, make_client: MakeClient) -> None:
    router.get(f"{API}/limits").respond(200, json={}, headers=limit_info(10, limit=20))
    client = make_client(budget_share=0.1)
    assert client.usage.budget is None  # unknown until Salesforce reports the org's limit
    await client.request("GET", "limits")
    assert client.usage.budget == 2
    await client.request("GET", "limits")
    with pytest.raises(ConnectorError, match="call budget"):
        await client.request("GET", "limits")
    await client.close()


async def test_pacing_slows_down_near_the_org_limit_and_stops_short_of_it(
    router: respx.Router, make_client: MakeClient, clock: FakeClock
) -> None:
    route = router.get(f"{API}/limits")
    route.side_effect = [
        httpx.Response(200, json={}, headers=limit_info(1_000)),
        httpx.Response(200, json={}, headers=limit_info(13_125)),  # 87.5 %: half-way from 80 % to 95 %
        httpx.Response(200, json={}, headers=limit_info(14_400)),  # 96 %: stop
        httpx.Response(200, json={}, headers=limit_info(1_000)),  # the window rolled on
    ]
    client = make_client()
    await client.request("GET", "limits")
    await client.request("GET", "limits")
    assert clock.slept == []
    await client.request("GET", "limits")
    assert clock.slept == [pytest.approx(2.5)]
    with pytest.raises(ConnectorError, match=r"Crossdock stops at 95%") as caught:
        await client.request("GET", "limits")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retry_after_s == pytest.approx(300.0 - 2.5 + 2.5)
    assert route.call_count == 3
    clock.advance(301)  # the reading is stale: one call goes through to learn the current usage
    await client.request("GET", "limits")
    assert client.usage.used == 1_000
    await client.close()


async def test_updated_and_deleted_windows(router: respx.Router, make_client: MakeClient) -> None:
    updated = router.get(f"{API}/sobjects/Account/updated/").respond(200, json=fixture("updated_accounts.json"))
    router.get(f"{API}/sobjects/Account/deleted/").respond(200, json=fixture("deleted_accounts.json"))
    client = make_client()
    start, end = datetime(2026, 11, 22, 10, tzinfo=UTC), datetime(2026, 11, 22, 10, 10, tzinfo=UTC)
    ids, latest = await client.updated("Account", start, end)
    assert ids == ["001D000000IRFmaIAH", "001D000000IRFmbIAH"]
    assert latest == "2026-11-22T10:10:00.000+0000"
    assert updated.calls.last.request.url.params["start"] == "2026-11-22T10:00:00Z"
    deleted = await client.deleted("Account", start, end)
    assert deleted.records == [("001D000000IRFmdIAH", "2026-11-22T10:05:00.000+0000")]
    assert deleted.latest_covered == "2026-11-22T10:10:00.000+0000"
    await client.close()


async def test_server_time_comes_from_the_date_header(router: respx.Router, make_client: MakeClient) -> None:
    router.get(f"{API}/limits").respond(200, json={}, headers={"Date": "Sun, 22 Nov 2026 10:15:30 GMT"})
    client = make_client()
    await client.request("GET", "limits")
    assert client.server_time == datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
    await client.close()


def test_secrets_must_be_references() -> None:
    with pytest.raises(ValueError, match="literal secret is not allowed"):
        SalesforceSettings.model_validate(
            {"auth": {"grant": "client_credentials", "client_id": "c", "client_secret": "hunter2"}}
        )
    with pytest.raises(ValueError, match="daily_call_budget or budget_share, not both"):
        SalesforceSettings.model_validate(
            {
                "auth": {"grant": "client_credentials", "client_id": "c", "client_secret": "env:X"},
                "daily_call_budget": 5,
                "budget_share": 0.5,
            }
        )
    assert TOKEN_URL.startswith(LOGIN)
