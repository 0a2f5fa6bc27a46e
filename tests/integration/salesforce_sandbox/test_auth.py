"""OAuth: both grants and their refusals, bearer sessions, token lifetime and revocation."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.salesforce_sandbox.support import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    USERNAME,
    Clock,
    RsaKeys,
    V,
    get_token,
)

TOKEN_URL = "/services/oauth2/token"


def assertion(keys: RsaKeys, **claims: Any) -> str:
    payload = {"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180}
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, keys.private_pem, algorithm="RS256")


async def test_client_credentials_grant_issues_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "instance_url", "token_type", "issued_at", "signature", "id"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE_URL
    assert body["access_token"].startswith("00D")
    assert body["issued_at"].isdigit()


async def test_client_credentials_in_basic_auth(client: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"}, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": CLIENT_SECRET},
            "invalid_client_id",
        ),
        ({"grant_type": "password", "client_id": CLIENT_ID}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
    ],
)
async def test_bad_token_requests_answer_oauth_errors(
    client: httpx.AsyncClient, form: dict[str, str], error: str
) -> None:
    response = await client.post(TOKEN_URL, data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


@pytest.mark.parametrize("audience", ["https://login.salesforce.com", "https://test.salesforce.com", BASE_URL])
async def test_jwt_bearer_grant(client: httpx.AsyncClient, rsa_keys: RsaKeys, audience: str) -> None:
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion(rsa_keys, aud=audience),
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    limits = await client.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})
    assert limits.status_code == 200


async def test_jwt_bearer_refusals(client: httpx.AsyncClient, rsa_keys: RsaKeys, other_rsa_keys: RsaKeys) -> None:
    cases = [
        (assertion(other_rsa_keys), "invalid_grant"),  # signed by a key the org does not trust
        (assertion(rsa_keys, exp=int(time.time()) - 600), "invalid_grant"),
        (assertion(rsa_keys, aud="https://evil.example"), "invalid_grant"),
        (assertion(rsa_keys, iss="someone-else"), "invalid_client_id"),
        (assertion(rsa_keys, sub="stranger@example.com"), "invalid_grant"),
        (assertion(rsa_keys, exp=None), "invalid_grant"),
        ("not-a-jwt", "invalid_grant"),
    ]
    for token, error in cases:
        response = await client.post(
            TOKEN_URL, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token}
        )
        assert response.status_code == 400
        assert response.json()["error"] == error, token


@pytest.mark.parametrize("authorization", [None, "Bearer nonsense", "Basic abc"])
async def test_api_calls_need_a_live_session(client: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get(f"{V}/limits", headers=headers)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


async def test_tokens_expire_after_their_lifetime(client: httpx.AsyncClient, clock: Clock) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    assert (await client.get(f"{V}/limits", headers=headers)).status_code == 200
    clock.advance(hours=2, seconds=1)
    assert (await client.get(f"{V}/limits", headers=headers)).status_code == 401


async def test_revoked_tokens_stop_working(client: httpx.AsyncClient) -> None:
    token = await get_token(client)
    assert (await client.post("/services/oauth2/revoke", data={"token": token})).status_code == 200
    assert (await client.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_versions_are_listed_and_unknown_ones_are_not_found(api: httpx.AsyncClient) -> None:
    versions = (await api.get("/services/data/")).json()
    assert {"label": "v61.0", "url": "/services/data/v61.0", "version": "61.0"} in versions
    for version in ("v45.0", "v62.0"):
        assert (await api.get(f"/services/data/{version}/limits")).status_code == 200
    missing = await api.get("/services/data/v61/limits")
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"
