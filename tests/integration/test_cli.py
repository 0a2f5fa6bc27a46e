"""The CLI as a user meets it: clear errors with file:line and no traceback, JSON for scripts, log operations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from crossdock.demo.landscape import GOVERNANCE
from crossdock.events.envelope import CloudEvent


def crossdock(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-m", "crossdock", *prefix, *args], capture_output=True, text=True, timeout=120, check=False
    )


def write_config(tmp_path: Path, **extra: object) -> Path:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'crossdock.db'}",
        "event_log": "sqlite",
        "event_log_url": str(tmp_path / "events.db"),
        "systems": {
            "crm": {"type": "recording", "path": str(tmp_path / "crm.db")},
            "erp": {"type": "recording", "path": str(tmp_path / "erp.db")},
        },
        "flows": [
            {
                "name": "customers",
                "source": {"system": "crm", "entity": "customer"},
                "governance": {**GOVERNANCE, "business_owner": "Sales Operations", "system_of_record": "crm"},
                "targets": [
                    {"system": "erp", "entity": "customer", "retry": {"max_attempts": 2, "initial_backoff_s": 0.01}}
                ],
            }
        ],
        **extra,
    }
    path = tmp_path / "crossdock.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def test_an_invalid_config_fails_at_start_with_file_line_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.yaml"
    config.write_text("event_log: sqlite\npartitions: many\nflows:\n  - name: x\n    source: {system: nowhere}\n")
    result = crossdock("status", config=config)
    assert result.returncode == 2
    assert f"{config}:2" in result.stderr
    assert "partitions" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_mapping_spec_fails_at_start_with_file_line(tmp_path: Path) -> None:
    specs = tmp_path / "mappings" / "crm"
    specs.mkdir(parents=True)
    bad = specs / "customer.inbound.yaml"
    bad.write_text("fields:\n  name: {form: Name}\n")
    result = crossdock("status", config=write_config(tmp_path, mapping_dir=str(tmp_path / "mappings")))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{bad}:2" in result.stderr
    assert "from" in result.stderr
    assert "Traceback" not in result.stderr


CUSTOMER = {"id": "cus_1", "number": "C-1", "name": "Acme Supply", "roles": ["bill_to"], "currency": "USD"}


def test_publish_checks_the_whole_file_first_and_names_the_bad_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    good = CloudEvent(type="crossdock.customer.updated.v1", source="/systems/crm", subject="cus_1", data=CUSTOMER)
    half_item = CloudEvent(
        type="crossdock.item.discontinued.v1", source="/systems/erp", subject="itm_1", data={"id": "itm_1"}
    )
    events = tmp_path / "events.jsonl"
    events.write_text(good.to_json().decode() + "\n" + '{"specversion": "1.0", "id": "x"}\n')
    result = crossdock("log", "publish", str(events), config=config)
    assert result.returncode == 2
    assert f"{events}:2" in result.stderr
    assert "Traceback" not in result.stderr

    events.write_text(good.to_json().decode() + "\n" + half_item.to_json().decode() + "\n")
    result = crossdock("log", "publish", str(events), "--json", config=config)
    assert result.returncode == 2, "an item needs a SKU and more: the schema refuses it"
    assert f"{events}:2" in result.stderr
    assert "does not match its schema" in result.stderr
    tail = crossdock("log", "tail", "--json", config=config)
    assert tail.stdout == "", "nothing of a refused file is published"


def test_tail_lag_replay_and_dead_letters_speak_json(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    events = tmp_path / "events.jsonl"
    lines = [
        CloudEvent(
            type="crossdock.customer.updated.v1",
            source="/systems/crm",
            subject="cus_1",
            data={**CUSTOMER, "name": f"Acme Supply {i}"},
        )
        .to_json()
        .decode()
        for i in range(3)
    ]
    events.write_text("\n".join(lines) + "\n")
    published = json.loads(crossdock("log", "publish", str(events), "--json", config=config).stdout)
    assert [row["duplicate"] for row in published] == [False, False, False]
    again = json.loads(crossdock("log", "publish", str(events), "--json", config=config).stdout)
    assert [row["duplicate"] for row in again] == [True, True, True]

    tail = crossdock("log", "tail", "--json", config=config).stdout.splitlines()
    assert [json.loads(line)["data"]["name"] for line in tail] == ["Acme Supply 0", "Acme Supply 1", "Acme Supply 2"]

    status = json.loads(crossdock("status", "--json", config=config).stdout)
    assert status["flows"][0]["lag"] == 3
    lag = json.loads(crossdock("log", "lag", "--json", config=config).stdout)
    assert lag["flow.customers.erp"]["total"] == 3

    replay = crossdock("log", "replay", "flow.customers.erp", "--from-offset", "2", "--yes", config=config)
    assert replay.returncode == 0, replay.stderr
    assert json.loads(crossdock("log", "dlq", "list", "--json", config=config).stdout) == []
    missing = crossdock("log", "replay", "flow.customers.erp", "--yes", config=config)
    assert missing.returncode == 2
    assert "--from-offset" in missing.stderr
