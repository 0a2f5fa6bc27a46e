"""What the API refuses: bad tokens, missing scopes, revoked clients, spent rate plans, oversized or deeply nested
bodies, and webhook URLs that point inside the network."""

from __future__ import annotations

import base64
import time

import orjson
import pytest

from crossdock.api.clients import revoke_client, rotate_client
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Keyring, SigningKey, TokenIssuer
from crossdock.ports.api import ClientKind
from tests.integration.api.conftest import Api, order

PROBLEM = "application/problem+json"


def _b64(document: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()


async def status_with(api: Api, token: str) -> tuple[int, dict[str, object], str]:
    response = await api.http.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json(), response.headers.get("www-authenticate", "")


async def test_no_token_is_a_401_with_a_bearer_challenge(api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer"}):
        response = await api.http.get("/v1/orders", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_forged_and_unsigned_tokens_are_refused(api: Api) -> None:
    issuer = api.context.issuer
    expired = TokenIssuer(
        issuer.keyring, issuer=issuer.issuer, audience=issuer.audience, clock=lambda: time.time() - 3600
    )
    old = expired.issue(
        client_id="acme-portal", kind=ClientKind.PARTNER, scopes=[Scope.ORDERS_READ], partner_id="cus-acme"
    )
    forger = TokenIssuer(
        Keyring(SigningKey.generate(issuer.keyring.active.kid)), issuer=issuer.issuer, audience=issuer.audience
    )
    forged = forger.issue(
        client_id="acme-portal", kind=ClientKind.PARTNER, scopes=[Scope.ORDERS_READ], partner_id="cus-acme"
    )
    other_audience = TokenIssuer(issuer.keyring, issuer=issuer.issuer, audience="someone-else")
    wrong_aud = other_audience.issue(
        client_id="acme-portal", kind=ClientKind.PARTNER, scopes=[Scope.ORDERS_READ], partner_id="cus-acme"
    )
    good = await api.token("acme-portal")
    header, payload, signature = good.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["partner"] = "cus-zeta"  # a partner that edits its own token to read another's orders
    tampered = f"{header}.{_b64(claims)}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}."
    for token in (
        old.access_token,
        forged.access_token,
        wrong_aud.access_token,
        tampered,
        unsigned,
        "x.y.z",
        "garbage",
    ):
        status, body, challenge = await status_with(api, token)
        assert status == 401, token
        assert 'error="invalid_token"' in challenge
        assert "Traceback" not in str(body)
    assert (await status_with(api, good))[0] == 200


async def test_a_token_without_the_scope_is_a_403_naming_it(api: Api) -> None:
    read_only = await api.as_("acme-portal", scope="orders:read")
    response = await api.http.post("/v1/orders", json=order(), headers=read_only | {"Idempotency-Key": "k"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert "orders:write" in response.json()["detail"]


async def test_the_token_endpoint_refuses_wrong_secrets_and_unknown_scopes(api: Api) -> None:
    wrong = await api.http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("acme-portal", "cdsk_nope")
    )
    unknown = await api.http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "cdsk_nope")
    )
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert wrong.json() == unknown.json()  # client ids cannot be probed
    too_much = await api.http.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "operator"},
        auth=("acme-portal", api.secrets["acme-portal"]),
    )
    assert (too_much.status_code, too_much.json()["error"]) == (400, "invalid_scope")
    grant = await api.http.post(
        "/v1/oauth/token", data={"grant_type": "password"}, auth=("acme-portal", api.secrets["acme-portal"])
    )
    assert grant.json()["error"] == "unsupported_grant_type"
    ok = await api.http.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "acme-portal",
            "client_secret": api.secrets["acme-portal"],
        },
    )
    assert ok.status_code == 200
    assert ok.headers["cache-control"] == "no-store"
    assert ok.json()["token_type"] == "Bearer"


async def test_a_revoked_client_is_shut_out_and_a_rotated_secret_keeps_working_for_its_grace(api: Api) -> None:
    token = await api.token("zeta-portal")
    _, new_secret = rotate_client(api.runtime.store, "zeta-portal", now=api.context.clock())
    for secret in (api.secrets["zeta-portal"], new_secret):
        response = await api.http.post(
            "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("zeta-portal", secret)
        )
        assert response.status_code == 200
    revoke_client(api.runtime.store, "zeta-portal", now=api.context.clock())
    api.context.clients.forget("zeta-portal")
    assert (await status_with(api, token))[0] == 401
    again = await api.http.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("zeta-portal", new_secret)
    )
    assert again.status_code == 401


async def test_a_spent_rate_plan_answers_429_with_retry_after_and_ratelimit_headers(api: Api) -> None:
    headers = await api.as_("slow-partner")
    responses = [await api.http.get("/v1/orders", headers=headers) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["ratelimit-policy"] == '"tight";q=3;w=3'
    assert responses[0].headers["ratelimit"].startswith('"tight";r=2;')
    refused = responses[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == PROBLEM
    assert "tight" in refused.json()["detail"]


async def test_oversized_chunked_and_deeply_nested_bodies_are_refused(api: Api) -> None:
    headers = await api.as_("acme-portal") | {"Idempotency-Key": "k-big"}
    big = await api.http.post(
        "/v1/orders", content=b"[" + b"0," * 600_000 + b"0]", headers=headers | {"content-type": "application/json"}
    )
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"customer_reference": "x"}'

    chunked = await api.http.post(
        "/v1/orders", content=chunks(), headers=headers | {"content-type": "application/json"}
    )
    assert chunked.status_code == 411
    deep = await api.http.post(
        "/v1/orders",
        content=b"[" * 5000 + b"]" * 5000,
        headers=headers | {"content-type": "application/json", "Idempotency-Key": "k-deep"},
    )
    assert deep.status_code == 422
    assert "recursion limit" in deep.json()["detail"]  # the order route's JSON parser has its own depth limit
    deep_elsewhere = await api.http.post(
        "/v1/webhooks/subscriptions",
        content=b"[" * 50 + b"]" * 50,
        headers=headers | {"content-type": "application/json"},
    )
    assert deep_elsewhere.status_code == 422
    assert "nested deeper" in deep_elsewhere.json()["detail"]
    many = order(lines=[{"sku": "S", "quantity": "1", "unit_price": "1"}] * 20_000)
    wide = await api.http.post("/v1/orders", json=many, headers=headers | {"Idempotency-Key": "k-wide"})
    assert wide.status_code == 422
    assert wide.json()["errors"][0]["pointer"] == "/lines"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_webhook_urls_into_the_network_are_refused(api: Api, url: str) -> None:
    response = await api.http.post(
        "/v1/webhooks/subscriptions",
        json={"url": url, "event_types": ["crossdock.order.accepted.v1"]},
        headers=await api.as_("acme-portal"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/url"


async def test_a_partner_sees_and_deletes_only_its_own_subscriptions(api: Api) -> None:
    created = await api.http.post(
        "/v1/webhooks/subscriptions",
        json={"url": "https://hooks.acme.example/crossdock", "event_types": ["crossdock.order.*"]},
        headers=await api.as_("acme-portal"),
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["secret"].startswith("whsec_")
    as_zeta = await api.as_("zeta-portal")
    assert (await api.http.get(f"/v1/webhooks/subscriptions/{subscription['id']}", headers=as_zeta)).status_code == 404
    assert (
        await api.http.delete(f"/v1/webhooks/subscriptions/{subscription['id']}", headers=as_zeta)
    ).status_code == 404
    assert (await api.http.get("/v1/webhooks/subscriptions", headers=as_zeta)).json() == []
    mine = (await api.http.get("/v1/webhooks/subscriptions", headers=await api.as_("acme-portal"))).json()
    assert [s["id"] for s in mine] == [subscription["id"]]
    assert "secret" not in mine[0]


async def test_unknown_routes_and_methods_answer_problems(api: Api) -> None:
    missing = await api.http.get("/v1/nothing-here")
    wrong = await api.http.put("/v1/orders")
    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert missing.headers["content-type"] == wrong.headers["content-type"] == PROBLEM
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert missing.headers["x-correlation-id"]


async def test_the_contracts_are_published(api: Api) -> None:
    openapi = (await api.http.get("/openapi.json")).json()
    assert openapi["openapi"].startswith("3.1")
    assert (
        openapi["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"]
        == "/v1/oauth/token"
    )
    assert openapi["paths"]["/v1/orders/{order_id}/status"]["get"]["deprecated"] is True
    asyncapi = (await api.http.get("/asyncapi.json")).json()
    assert asyncapi["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert {
        "crossdock.order.accepted.v1",
        "crossdock.shipment.dispatched.v1",
        "crossdock.invoice.posted.v1",
    } <= addresses
