"""Poll capture: the SystemModstamp cursor, the overlap with de-duplication, backlog reads, deletes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import orjson
import pytest
import respx

from crossdock.connectors.salesforce.capture import PollCursor
from crossdock.connectors.salesforce.client import parse_datetime
from crossdock.connectors.salesforce.connector import SalesforceConnector
from crossdock.ports.connector import ConnectorError, ErrorKind, SourceRecord

from .conftest import MakeClient
from .sf_support import API

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
_SINCE = re.compile(r"WHERE SystemModstamp >= (\S+)")
_LIMIT = re.compile(r"LIMIT (\d+)$")


def stamp(moment: datetime) -> str:
    """A SystemModstamp as the REST API writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class FakeOrg:
    """Accounts in memory, served by SOQL (the subset capture sends), the `deleted` endpoint and a Date header."""

    def __init__(self, router: respx.Router) -> None:
        self.now = T0 + timedelta(minutes=10)
        self.accounts: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[str, datetime]] = []
        self.queries: list[str] = []
        self.deleted_calls = 0
        router.get(f"{API}/query").mock(side_effect=self._query)
        router.get(f"{API}/sobjects/Account/deleted/").mock(side_effect=self._deleted)

    def put(self, record_id: str, modstamp: datetime, name: str = "") -> None:
        """Create or change an account (a late commit is a put with a past modstamp)."""
        self.accounts[record_id] = {
            "attributes": {"type": "Account"},
            "Id": record_id,
            "SystemModstamp": stamp(modstamp),
            "Name": name or record_id,
        }

    def delete(self, record_id: str) -> None:
        """Delete an account now."""
        del self.accounts[record_id]
        self.deleted.append((record_id, self.now))

    def _headers(self) -> dict[str, str]:
        return {"Date": format_datetime(self.now, usegmt=True)}

    def _query(self, request: httpx.Request) -> httpx.Response:
        soql = request.url.params["q"]
        self.queries.append(soql)
        rows = sorted(self.accounts.values(), key=lambda r: (r["SystemModstamp"], r["Id"]))
        since = _SINCE.search(soql)
        if since:
            low = parse_datetime(since.group(1))
            rows = [r for r in rows if parse_datetime(r["SystemModstamp"]) >= low]
        limit = _LIMIT.search(soql)
        if limit:
            rows = rows[: int(limit.group(1))]
        return httpx.Response(
            200, json={"totalSize": len(rows), "done": True, "records": rows}, headers=self._headers()
        )

    def _deleted(self, request: httpx.Request) -> httpx.Response:
        self.deleted_calls += 1
        start = parse_datetime(request.url.params["start"])
        end = parse_datetime(request.url.params["end"])
        covered = end.replace(second=0, microsecond=0)
        records = [{"id": i, "deletedDate": stamp(when)} for i, when in self.deleted if start <= when < covered]
        body = {"deletedRecords": records, "earliestDateAvailable": stamp(T0), "latestDateCovered": stamp(covered)}
        return httpx.Response(200, json=body, headers=self._headers())


@pytest.fixture
def org(router: respx.Router) -> FakeOrg:
    """An org with no accounts yet."""
    return FakeOrg(router)


@pytest.fixture
def connector(make_client: MakeClient) -> SalesforceConnector:
    """A polling connector with a 60-second overlap."""
    client = make_client(capture={"mode": "poll", "overlap_s": 60})
    return SalesforceConnector("crm", client.settings, client=client)


async def drain(
    connector: SalesforceConnector, cursor: str | None, limit: int
) -> tuple[list[SourceRecord], str | None]:
    """Read until caught up, as the capture runner does."""
    records: list[SourceRecord] = []
    for _ in range(100):
        batch = await connector.read_changes("customer", cursor, limit)
        records.extend(batch.records)
        cursor = batch.next_cursor
        if not batch.more:
            return records, cursor
    raise AssertionError("capture never caught up")


async def test_initial_load_reads_every_record_once_in_order(org: FakeOrg, connector: SalesforceConnector) -> None:
    for n in range(7):
        org.put(f"001{n:015d}", T0 + timedelta(seconds=n // 2))  # pairs share a second
    records, cursor = await drain(connector, None, limit=3)
    assert [r.local_id for r in records] == [f"001{n:015d}" for n in range(7)]
    assert records[0].changed_at == "2026-11-22T10:00:00.000+0000"
    # Backlog reads continue from the newest record instead of reading the overlap again and again.
    assert org.queries[0].endswith("ORDER BY SystemModstamp, Id LIMIT 3")
    assert "SystemModstamp >= 2026-11-22T10:00:01Z" in org.queries[1]
    assert org.queries[0].startswith("SELECT Id, SystemModstamp, AccountNumber, Name, Type, ")
    again, _ = await drain(connector, cursor, limit=3)
    assert again == []


async def test_a_quiet_org_costs_one_query_per_poll(org: FakeOrg, connector: SalesforceConnector) -> None:
    org.put("001A", T0)
    _, cursor = await drain(connector, None, limit=100)
    before = len(org.queries)
    for _ in range(3):
        batch = await connector.read_changes("customer", cursor, 100)
        assert batch.records == []
        assert not batch.more
        cursor = batch.next_cursor
    assert len(org.queries) - before == 3
    state = PollCursor.loads(cursor)
    assert state.low == org.now - timedelta(seconds=60)  # trails the org's clock by the overlap
    assert state.seen == {}  # nothing left inside the overlap to remember


async def test_a_late_commit_inside_the_overlap_is_caught_once(org: FakeOrg, connector: SalesforceConnector) -> None:
    org.now = T0 + timedelta(seconds=30)
    org.put("001A", T0 + timedelta(seconds=10))
    org.put("001C", T0 + timedelta(seconds=20))
    first, cursor = await drain(connector, None, limit=100)
    assert [r.local_id for r in first] == ["001A", "001C"]
    # A transaction that began before 001C was changed commits only now.
    org.put("001B", T0 + timedelta(seconds=15))
    org.now += timedelta(seconds=5)
    late, cursor = await drain(connector, cursor, limit=100)
    assert [r.local_id for r in late] == ["001B"]
    # An account changed again gets a new SystemModstamp and is read again.
    org.put("001A", T0 + timedelta(seconds=34), name="renamed")
    org.now += timedelta(seconds=5)
    changed, cursor = await drain(connector, cursor, limit=100)
    assert [(r.local_id, r.payload["Name"]) for r in changed] == [("001A", "renamed")]
    nothing, _ = await drain(connector, cursor, limit=100)
    assert nothing == []


async def test_deletes_come_from_the_deleted_endpoint_once_a_minute(
    org: FakeOrg, connector: SalesforceConnector
) -> None:
    org.put("001A", T0)
    org.put("001B", T0)
    _, cursor = await drain(connector, None, limit=100)
    org.now += timedelta(seconds=30)
    org.delete("001B")
    batch = await connector.read_changes("customer", cursor, 100)
    assert batch.records == []
    assert org.deleted_calls == 0  # less than a minute since the first read
    org.now += timedelta(seconds=90)
    batch = await connector.read_changes("customer", batch.next_cursor, 100)
    assert org.deleted_calls == 1
    assert [(r.local_id, r.deleted) for r in batch.records] == [("001B", True)]
    assert batch.records[0].payload["IsDeleted"] is True
    org.now += timedelta(seconds=90)
    batch = await connector.read_changes("customer", batch.next_cursor, 100)
    assert org.deleted_calls == 2
    assert batch.records == []  # windows follow latestDateCovered: no delete is reported twice


async def test_a_burst_larger_than_the_memory_raises_the_low_mark(make_client: MakeClient, org: FakeOrg) -> None:
    client = make_client(capture={"overlap_s": 600, "max_seen": 100})
    connector = SalesforceConnector("crm", client.settings, client=client)
    org.now = T0 + timedelta(seconds=60)
    for n in range(150):
        org.put(f"001{n:015d}", T0 + timedelta(seconds=n // 10))
    records, cursor = await drain(connector, None, limit=40)
    assert len({r.local_id for r in records}) == 150
    state = PollCursor.loads(cursor)
    assert len(state.seen) <= 100
    assert state.low is not None
    assert state.low > T0
    more, _ = await drain(connector, cursor, limit=40)
    assert more == []


@pytest.mark.parametrize("spread_ms", [1, 0])  # one second of separate commits, or one transaction's shared stamp
async def test_a_burst_inside_one_second_is_read_once_in_small_pages(
    make_client: MakeClient, org: FakeOrg, spread_ms: int
) -> None:
    client = make_client(capture={"overlap_s": 600, "max_seen": 100})
    connector = SalesforceConnector("crm", client.settings, client=client)
    org.now = T0 + timedelta(seconds=30)
    for n in range(300):
        org.put(f"001{n:015d}", T0 + timedelta(milliseconds=n * spread_ms))
    records, cursor = await drain(connector, None, limit=40)
    assert [r.local_id for r in records] == [f"001{n:015d}" for n in range(300)]
    more, _ = await drain(connector, cursor, limit=40)
    assert more == []


async def test_an_unreadable_cursor_says_how_to_recover(org: FakeOrg, connector: SalesforceConnector) -> None:
    with pytest.raises(ConnectorError, match="reset the flow's cursor") as caught:
        await connector.read_changes("customer", "not json", 10)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    with pytest.raises(ConnectorError, match="version 9"):
        await connector.read_changes("customer", orjson.dumps({"v": 9}).decode(), 10)


def test_cursor_round_trip() -> None:
    state = PollCursor(low=T0, position=T0 + timedelta(seconds=1), sweep=False, seen={"001A": stamp(T0)})
    text = state.dumps()
    assert PollCursor.loads(text) == state
    assert orjson.loads(text)["low"] == "2026-11-22T10:00:00.000Z"
