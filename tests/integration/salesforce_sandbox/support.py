"""Test helpers for the sandbox org: credentials, a movable clock, RSA keys, and short-hands for common calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from crossdock.sandbox.salesforce import create_app

CLIENT_ID = "3MVG9crossdock.test"
CLIENT_SECRET = "s3cret"
ADMIN_TOKEN = "admin-token"
USERNAME = "integration@crossdock.sandbox"
BASE_URL = "http://sandbox.test"
V = "/services/data/v61.0"


@dataclass
class Clock:
    """A wall clock that tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RsaKeys:
    """A key pair: the private key signs assertions, the public key goes to the sandbox."""

    private_pem: bytes
    public_pem: str


def make_keys() -> RsaKeys:
    """A fresh 2048-bit RSA key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return RsaKeys(private_pem, public_pem)


def make_app(database: Path, clock: Clock, **options: Any) -> FastAPI:
    """A sandbox app with the test credentials."""
    return create_app(
        database, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, admin_token=ADMIN_TOKEN, clock=clock, **options
    )


async def get_token(http: httpx.AsyncClient) -> str:
    """An access token by the client-credentials grant."""
    response = await http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def create(api: httpx.AsyncClient, sobject: str, **fields: Any) -> str:
    """Create a record and return its id."""
    response = await api.post(f"{V}/sobjects/{sobject}", json=fields)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


async def soql(api: httpx.AsyncClient, query: str, **headers: str) -> Any:
    """Run a query and return the JSON answer (asserting 200)."""
    response = await api.get(f"{V}/query", params={"q": query}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def upsert_accounts(api: httpx.AsyncClient, count: int, start: int = 0, **fields: Any) -> list[dict[str, Any]]:
    """Upsert `count` accounts through collections (200 a call), keyed ACC-<n>."""
    results: list[dict[str, Any]] = []
    for offset in range(start, start + count, 200):
        records = [
            {"attributes": {"type": "Account"}, "Name": f"Account {n:05d}", "Crossdock_Id__c": f"ACC-{n}", **fields}
            for n in range(offset, min(offset + 200, start + count))
        ]
        response = await api.patch(
            f"{V}/composite/sobjects/Account/Crossdock_Id__c", json={"allOrNone": False, "records": records}
        )
        assert response.status_code == 200, response.text
        results.extend(response.json())
    return results
