"""`crossdock mdm dedupe --system`: a system's existing customers read through its connector, tied to golden
records (adopted if never seen), clustered by the batch engine, and put in the stewardship queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml
from typer.testing import CliRunner

from crossdock.cli import app
from crossdock.connectors.recording.client import RecordingFile
from tests.unit.mdm.mdm_world import LAKESHORE, customer

SHOP = [
    ("S-1", LAKESHORE),
    ("S-2", customer("Lakeshore Plumbing Supply Inc", phone="+1 614 555 0188", number="W-2")),
    ("S-3", customer("Blue Ridge Electric", "77 Mill Rd", "Dayton", postal_code="45402", number="W-3")),
    ("S-4", customer("Harbor Fresh Markets", "12 Pier Rd", "Cleveland", postal_code="44113", number="W-4")),
]


def config(tmp_path: Path) -> Path:
    """A web shop (a recording system) holding two accounts of one customer, and master data on."""
    shop = RecordingFile(tmp_path / "shop.db")
    shop.upsert("customer", [(local_id, local_id, None, document) for local_id, document in SHOP])
    shop.close()
    settings: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "event_log": "memory",
        "systems": {"shop": {"type": "recording", "path": str(tmp_path / "shop.db")}},
        "mdm": {},
    }
    path = tmp_path / "crossdock.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def crossdock(path: Path, *arguments: str) -> Any:
    result = CliRunner().invoke(app, ["--config", str(path), "mdm", *arguments, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_a_systems_duplicates_become_cases_once_and_a_steward_merges_them(tmp_path: Path) -> None:
    path = config(tmp_path)
    report = crossdock(path, "dedupe", "--system", "shop")
    assert (report["records"], report["adopted"]) == (4, 4)
    [cluster] = report["clusters"]
    assert sorted(member["local_id"] for member in cluster) == ["S-1", "S-2"]
    assert report["cases_opened"] == 1
    [case] = crossdock(path, "cases")
    assert {case["left_name"], case["right_name"]} == {
        "Lakeshore Plumbing Supply, Inc.",
        "Lakeshore Plumbing Supply Inc",
    }
    assert case["source_system"] is None

    again = crossdock(path, "dedupe", "--system", "shop")
    assert (again["adopted"], again["cases_opened"], again["already_asked"]) == (0, 0, 1), "asked once"

    shown = crossdock(path, "show", str(case["id"]))
    assert shown["case"]["id"] == case["id"]
    decided = crossdock(path, "decide", str(case["id"]), "merge", "--actor", "dana")
    assert (decided["state"], decided["outcome"], decided["carried"]["shop"]) == (
        "merged",
        "merged",
        "left alone (shop cannot retire duplicates)",
    )
    [merge] = crossdock(path, "merges")
    assert (merge["state"], merge["actor"], merge["case"]) == ("merged", "dana", case["id"])
    assert crossdock(path, "cases") == []
    after = crossdock(path, "dedupe", "--system", "shop")
    assert (after["cases_opened"], after["merged"]) == (0, 0), "a merged pair is not asked again"
