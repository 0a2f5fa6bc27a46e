"""Fixtures for the Salesforce connector's unit tests: respx serves recorded public response shapes, time is fake.

The client gets its HTTP transport, clocks and sleep through its constructor, so nothing is patched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from crossdock.connectors.salesforce.client import SalesforceClient

from .sf_support import TOKEN_URL, FakeClock, fixture, make_settings

MakeClient = Callable[..., SalesforceClient]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock."""
    return FakeClock()


@pytest.fixture
def router() -> respx.Router:
    """A respx router that already answers the token endpoint with a client-credentials token."""
    router = respx.Router(assert_all_called=False)
    router.post(TOKEN_URL, name="token").respond(200, json=fixture("token_client_credentials.json"))
    return router


MakeClient = Callable[..., SalesforceClient]


@pytest.fixture
def make_client(router: respx.Router, clock: FakeClock) -> MakeClient:
    """`make_client(**settings)`: a client whose HTTP goes to the router and whose time is the fake clock."""

    def make(**overrides: Any) -> SalesforceClient:
        return SalesforceClient(
            "crm",
            make_settings(**overrides),
            transport=httpx.MockTransport(router.async_handler),
            clock=clock.monotonic,
            wall_clock=clock.wall,
            sleep=clock.sleep,
        )

    return make


@pytest.fixture(autouse=True)
def client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret `make_settings` refers to (env:SF_CLIENT_SECRET)."""
    monkeypatch.setenv("SF_CLIENT_SECRET", "s3cret")
