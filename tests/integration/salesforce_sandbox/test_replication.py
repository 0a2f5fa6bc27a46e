"""The replication calls: ids updated and deleted in a window, truncated to the minute, within 30 and 15 days."""

from __future__ import annotations

import httpx

from tests.integration.salesforce_sandbox.support import ADMIN, Clock, V, create


async def test_updated_and_deleted_ids(api: httpx.AsyncClient, clock: Clock) -> None:
    # 09:30:15 -- created
    early = await create(api, "Account", Name="Early")
    clock.advance(minutes=5)  # 09:35:15
    late = await create(api, "Account", Name="Late")
    clock.advance(minutes=5)  # 09:40:15
    await api.delete(f"{V}/sobjects/Account/{early}")
    clock.advance(minutes=5)  # 09:45:15

    window = {"start": "2026-03-02T09:30:00+00:00", "end": "2026-03-02T09:38:00+00:00"}
    updated = (await api.get(f"{V}/sobjects/Account/updated/", params=window)).json()
    assert updated == {"ids": [late], "latestDateCovered": "2026-03-02T09:38:00.000+0000"}  # early is deleted now

    everything = {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"}
    deleted = (await api.get(f"{V}/sobjects/Account/deleted/", params=everything)).json()
    assert deleted["deletedRecords"] == [{"id": early, "deletedDate": "2026-03-02T09:40:15.000+0000"}]
    # The end lies in the future: only what has happened up to this minute is covered.
    assert deleted["latestDateCovered"] == "2026-03-02T09:45:00.000+0000"
    assert deleted["earliestDateAvailable"] <= "2026-02-15T09:45:00.000+0000"

    # Undelete brings the record back: it leaves the deleted list and shows as updated.
    assert (await api.post(f"/sandbox/undelete/{early}", headers=ADMIN)).status_code == 200
    clock.advance(minutes=1)
    deleted = (await api.get(f"{V}/sobjects/Account/deleted", params=everything)).json()
    assert deleted["deletedRecords"] == []
    updated = (await api.get(f"{V}/sobjects/Account/updated", params=everything)).json()
    assert set(updated["ids"]) == {early, late}


async def test_replication_refusals(api: httpx.AsyncClient) -> None:
    url = f"{V}/sobjects/Account/updated/"
    cases = [
        ({"start": "2026-03-02T09:00:00Z"}, "MISSING_ARGUMENT"),
        ({"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"}, "INVALID_REPLICATION_DATE"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-03-02T09:00:00Z"}, "INVALID_REPLICATION_DATE"),
        ({"start": "2026-03-02T09:00:00 00:00", "end": "2026-03-02T10:00:00Z"}, "INVALID_REPLICATION_DATE"),
    ]
    for params, code in cases:
        response = await api.get(url, params=params)
        assert response.status_code == 400, params
        assert response.json()[0]["errorCode"] == code, params
    deleted_too_old = await api.get(
        f"{V}/sobjects/Account/deleted/", params={"start": "2026-02-10T00:00:00Z", "end": "2026-03-02T09:00:00Z"}
    )
    assert deleted_too_old.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
