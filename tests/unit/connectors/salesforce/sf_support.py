"""Helpers for the Salesforce connector's unit tests: recorded public response shapes, a fake clock, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossdock.config import SecretRef
from crossdock.connectors.salesforce.config import SalesforceSettings

FIXTURES = Path(__file__).parent / "fixtures"
LOGIN = "https://login.example.test"
INSTANCE = "https://acme.my.salesforce.com"  # the instance_url of token_client_credentials.json
API = f"{INSTANCE}/services/data/v62.0"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
WALL_START = 1_795_341_600.0  # 2026-11-22T10:00:00Z


def fixture(name: str) -> Any:
    """A recorded response body from fixtures/."""
    return json.loads((FIXTURES / name).read_text())


class FakeClock:
    """Monotonic and wall clocks that move only when told to (or when the client sleeps)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """Seconds on the monotonic clock."""
        return self.now

    def wall(self) -> float:
        """Seconds since the epoch."""
        return WALL_START + self.now - 1_000.0

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock on."""
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.now += seconds


def make_settings(**overrides: Any) -> SalesforceSettings:
    """Settings for a client-credentials org at LOGIN; `overrides` replace top-level keys."""
    secret = SecretRef("env:SF_CLIENT_SECRET")
    raw: dict[str, Any] = {
        "login_url": LOGIN,
        "allow_private_network": True,  # test hosts are local or made up
        "auth": {"grant": "client_credentials", "client_id": "3MVG9test", "client_secret": secret},
    }
    raw.update(overrides)
    return SalesforceSettings.model_validate(raw)


def limit_info(used: int, limit: int = 15_000) -> dict[str, str]:
    """The `Sforce-Limit-Info` header of a response."""
    return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
