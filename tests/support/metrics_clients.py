"""Two API clients for tests that drive orders and read `/metrics`: a Prometheus scraper (internal, systems:read)
and a shop (partner of cus-acme, orders:write), with their bearer headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from crossdock.api.clients import create_client
from crossdock.api.security.scopes import Scope
from crossdock.ports.api import ClientKind
from crossdock.ports.store import Store


@dataclass(frozen=True, slots=True)
class MetricsClients:
    """Bearer headers of the scraper and the shop."""

    scrape_as: dict[str, str]
    order_as: dict[str, str]


async def metrics_clients(store: Store, http: httpx.AsyncClient) -> MetricsClients:
    """Create both clients in `store` and take a token for each through the API's token endpoint."""
    now = datetime.now(UTC)
    _, scraper = create_client(
        store, name="prometheus", kind=ClientKind.INTERNAL, scopes=[Scope.SYSTEMS_READ], now=now, client_id="p"
    )
    _, shop = create_client(
        store,
        name="shop",
        kind=ClientKind.PARTNER,
        scopes=[Scope.ORDERS_WRITE],
        now=now,
        partner_id="cus-acme",
        client_id="shop",
    )

    async def bearer(client_id: str, secret: str) -> dict[str, str]:
        token = await http.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return MetricsClients(await bearer("p", scraper), await bearer("shop", shop))
