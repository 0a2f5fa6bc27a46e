"""Submissions that arrive together share a commit; the rules hold inside one group as across groups."""

from __future__ import annotations

import asyncio

from tests.integration.api.conftest import Api, order
from tests.integration.api.test_orders_api import logged_orders


async def test_one_key_sent_twenty_times_at_once_takes_one_order(api: Api) -> None:
    responses = await asyncio.gather(*(api.submit("acme-portal", order(), key="k-same") for _ in range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert len(await logged_orders(api)) == 1


async def test_one_po_under_twenty_keys_at_once_takes_one_order_and_nineteen_conflicts(api: Api) -> None:
    responses = await asyncio.gather(*(api.submit("acme-portal", order(), key=f"k-{n}") for n in range(20)))
    assert sorted(r.status_code for r in responses) == [202] + [409] * 19
    first = next(r for r in responses if r.status_code == 202)
    assert {r.headers["location"] for r in responses} == {first.headers["location"]}
    assert len(await logged_orders(api)) == 1


async def test_a_key_reused_for_another_body_in_the_same_group_is_refused(api: Api) -> None:
    one, other = await asyncio.gather(
        api.submit("acme-portal", order("PO-A"), key="k-shared"),
        api.submit("acme-portal", order("PO-B"), key="k-shared"),
    )
    assert sorted((one.status_code, other.status_code)) == [202, 422]
    assert len(await logged_orders(api)) == 1


async def test_many_partners_at_once_each_get_their_own_orders(api: Api) -> None:
    acme = [api.submit("acme-portal", order(f"A-{n}"), key=f"a-{n}") for n in range(30)]
    zeta = [api.submit("zeta-portal", order(f"Z-{n}"), key=f"z-{n}") for n in range(30)]
    responses = await asyncio.gather(*acme, *zeta)
    assert {r.status_code for r in responses} == {202}
    logged = await logged_orders(api)
    assert sorted(str(e["partner"]) for e in logged) == ["cus-acme"] * 30 + ["cus-zeta"] * 30
