"""The org on disk and on the wire: persistence across restarts, a real uvicorn on loopback, a killed subprocess,
and the `crossdock sandbox salesforce` commands."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

from crossdock.cli.sandbox_salesforce import salesforce_app
from crossdock.sandbox.salesforce import SalesforceSandbox
from crossdock.sandbox.salesforce.faults import Fault
from tests.integration.salesforce_sandbox.support import BASE_URL, Clock, V, create, get_token, make_app, soql


async def test_the_org_survives_a_restart(database: Path, clock: Clock) -> None:
    first = make_app(database, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE_URL) as http:
        token = await get_token(http)
        http.headers["Authorization"] = f"Bearer {token}"
        account = await create(http, "Account", Name="Durable", Crossdock_Id__c="D-1")
        await http.delete(f"{V}/sobjects/Account/{await create(http, 'Account', Name='Gone')}")
    first.state.org.close()

    second = make_app(database, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE_URL) as http:
        http.headers["Authorization"] = f"Bearer {token}"  # sessions survive too
        body = await soql(http, "SELECT Id, Name FROM Account")
        assert [record["Id"] for record in body["records"]] == [account]
        upsert = await http.patch(f"{V}/sobjects/Account/Crossdock_Id__c/d-1", json={"Phone": "1"})
        assert upsert.status_code == 200  # found by its external id after the restart
        newer = await create(http, "Account", Name="After restart")
        assert newer > account  # ids keep counting
        feed = (await http.get("/sandbox/cdc/data/ChangeEvents", params={"replayId": -2})).json()
        assert [event["data"]["event"]["replayId"] for event in feed["events"]] == [1, 2, 3, 4, 5]
        deleted = await http.get(f"{V}/queryAll", params={"q": "SELECT Name FROM Account WHERE IsDeleted = true"})
        assert [record["Name"] for record in deleted.json()["records"]] == ["Gone"]
    second.state.org.close()


def test_a_real_server_on_loopback(tmp_path: Path) -> None:
    outage = Fault("http_503", endpoint="limits", times=1)
    with SalesforceSandbox(tmp_path / "org.db", faults=[outage]) as sandbox, httpx.Client(base_url=sandbox.url) as http:
        token = http.post("/services/oauth2/token", data=sandbox.client_credentials_form()).json()
        assert token["instance_url"] == sandbox.url
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert [http.get(f"{V}/limits").status_code for _ in range(2)] == [503, 200]
        polled: list[dict[str, object]] = []
        tip = http.get("/sandbox/cdc/data/AccountChangeEvent", params={"replayId": -1}).json()["latestReplayId"]

        def poll() -> None:
            with httpx.Client(base_url=sandbox.url, headers=http.headers) as poller:
                response = poller.get("/sandbox/cdc/data/AccountChangeEvent", params={"replayId": tip, "wait": 5})
                polled.extend(response.json()["events"])

        waiter = threading.Thread(target=poll)
        waiter.start()
        records = [
            {"attributes": {"type": "Account"}, "Name": f"A{n}", "Crossdock_Id__c": f"R-{n}"} for n in range(200)
        ]
        response = http.patch(f"{V}/composite/sobjects/Account/Crossdock_Id__c", json={"records": records})
        assert response.status_code == 200
        assert response.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
        waiter.join(10)
        assert len(polled) == 100  # one page of the feed (limit 100 by default)
        query = http.get(f"{V}/query", params={"q": "SELECT COUNT() FROM Account"}).json()
        assert query["totalSize"] == 200


def test_a_killed_subprocess_keeps_its_data(tmp_path: Path) -> None:
    sandbox = SalesforceSandbox(tmp_path / "org.db", mode="subprocess")
    try:
        sandbox.start()
        assert stat.S_IMODE(sandbox.config_path.stat().st_mode) == 0o600
        with httpx.Client(base_url=sandbox.url) as http:
            token = http.post("/services/oauth2/token", data=sandbox.client_credentials_form()).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            assert http.post(f"{V}/sobjects/Account", json={"Name": "Acked"}).status_code == 201
        sandbox.restart(hard=True)  # kill -9, then start on the same port and file
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as http:
            body = http.get(f"{V}/query", params={"q": "SELECT Name FROM Account"}).json()
            assert [record["Name"] for record in body["records"]] == ["Acked"]
    finally:
        sandbox.stop()


def test_cli_start_status_stop(tmp_path: Path) -> None:
    app = typer.Typer()
    app.add_typer(salesforce_app, name="salesforce")
    runner = CliRunner()
    workdir = tmp_path / "sandbox"
    try:
        started = runner.invoke(app, ["salesforce", "start", "--workdir", str(workdir), "--json"])
        assert started.exit_code == 0, started.output
        info = json.loads(started.output)
        settings_path = workdir / "salesforce.json"
        assert info["credentials"] == str(settings_path)
        assert stat.S_IMODE(settings_path.stat().st_mode) == 0o600
        settings = json.loads(settings_path.read_text())
        with httpx.Client(base_url=info["url"]) as http:
            form = {
                "grant_type": "client_credentials",
                "client_id": settings["client_id"],
                "client_secret": settings["client_secret"],
            }
            assert http.post("/services/oauth2/token", data=form).status_code == 200
        again = runner.invoke(app, ["salesforce", "start", "--workdir", str(workdir)])
        assert again.exit_code != 0
        assert "already running" in again.output
        status = runner.invoke(app, ["salesforce", "status", "--workdir", str(workdir), "--json"])
        assert status.exit_code == 0
        assert json.loads(status.output)["running"] is True
    finally:
        stopped = runner.invoke(app, ["salesforce", "stop", "--workdir", str(workdir)])
    assert stopped.exit_code == 0, stopped.output
    assert "stopped" in stopped.output
    assert runner.invoke(app, ["salesforce", "status", "--workdir", str(workdir)]).exit_code == 1
    assert json.loads(settings_path.read_text())["client_id"] == settings["client_id"]  # kept for the next start
