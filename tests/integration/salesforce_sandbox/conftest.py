"""An in-process sandbox org per test (httpx over ASGI), a clock the test can move, and RSA keys for JWT bearer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.salesforce_sandbox.support import BASE_URL, Clock, RsaKeys, get_token, make_app, make_keys


@pytest.fixture(scope="session")
def rsa_keys() -> RsaKeys:
    return make_keys()


@pytest.fixture(scope="session")
def other_rsa_keys() -> RsaKeys:
    return make_keys()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "org.db"


@pytest.fixture
def app(database: Path, clock: Clock, rsa_keys: RsaKeys) -> FastAPI:
    return make_app(database, clock, jwt_public_key=rsa_keys.public_pem)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        yield http
    app.state.org.close()


@pytest.fixture
async def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client with an access token and a client name for changeOrigin."""
    client.headers["Authorization"] = f"Bearer {await get_token(client)}"
    client.headers["Sforce-Call-Options"] = "client=crossdock"
    return client
