"""`/metrics`: closed without a token, and its series move when traffic flows."""

from __future__ import annotations

import re

from crossdock.api.clients import create_client
from crossdock.api.security.scopes import Scope
from crossdock.ports.api import ClientKind
from tests.integration.api.conftest import Api, order


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} (\S+)$", re.MULTILINE)
    found = pattern.search(text)
    return float(found.group(1)) if found else 0.0


async def test_metrics_need_a_token_and_move_with_traffic(api: Api) -> None:
    assert (await api.http.get("/metrics")).status_code == 401
    assert (await api.http.get("/metrics", headers=await api.as_("acme-portal"))).status_code == 403
    _, api.secrets["prometheus"] = create_client(
        api.runtime.store,
        name="prometheus",
        kind=ClientKind.INTERNAL,
        scopes=[Scope.SYSTEMS_READ],
        now=api.context.clock(),
        client_id="prometheus",
    )
    scrape = await api.as_("prometheus")
    before = (await api.http.get("/metrics", headers=scrape)).text
    route = {"method": "POST", "route": "/v1/orders", "status": "202"}
    count_before = sample(before, "crossdock_api_request_duration_seconds_count", **route)

    for n in range(3):
        assert (await api.submit("acme-portal", order(f"PO-M{n}"), key=f"m-{n}")).status_code == 202
    await api.runtime.log.fetch("metrics.reader", "c", max_events=1, wait_s=0.05)  # a group with lag now

    response = await api.http.get("/metrics", headers=scrape)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert sample(after, "crossdock_api_request_duration_seconds_count", **route) == count_before + 3
    assert sample(after, "crossdock_log_lag_events", group="metrics.reader") >= 2
    assert "crossdock_api_request_duration_seconds_bucket" in after
    assert "/v1/orders/" not in after.replace('route="/v1/orders/{order_id}', "")  # no ids in labels
