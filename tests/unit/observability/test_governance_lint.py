"""The governance catalogue: every flow declares its owners, system of record, SLA target, criticality and escalation
path; `crossdock lint` refuses a flow without them, and everything shipped passes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from crossdock.cli import app
from crossdock.config import ConfigError, load_settings
from crossdock.demo.landscape import default_flows

REPO_ROOT = Path(__file__).resolve().parents[3]
GOVERNED = {
    "business_owner": "Head of Sales Operations",
    "technical_owner": "Integration team",
    "system_of_record": "crm",
    "sla_target": "15m",
    "criticality": "high",
    "escalation_path": ["integration-oncall@distributor.example", "Head of Sales Operations"],
}


def config_with(tmp_path: Path, flows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "crossdock.yaml"
    settings = {
        "systems": {
            "crm": {"type": "recording", "path": str(tmp_path / "crm.db")},
            "erp": {"type": "recording", "path": str(tmp_path / "erp.db")},
        },
        "flows": flows,
    }
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def flow(name: str, governance: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "source": {"system": "crm", "entity": "customer"},
        "targets": [{"system": "erp"}],
    }
    if governance is not None:
        entry["governance"] = governance
    return entry


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args], catch_exceptions=False)
    return result.exit_code, result.output


def test_the_shipped_example_passes_lint() -> None:
    code, output = lint("lint", "--config", str(REPO_ROOT / "crossdock.example.yaml"))
    assert code == 0, output
    assert "governance complete" in output


def test_the_demo_flows_pass_lint(tmp_path: Path) -> None:
    code, output = lint("lint", "--config", str(config_with(tmp_path, default_flows()[:1])))
    assert code == 0, output


def test_a_flow_without_governance_is_refused_with_what_to_add(tmp_path: Path) -> None:
    partial = {"business_owner": "Credit Manager", "sla_target": "1h", "sensitive": True}
    config = config_with(tmp_path, [flow("complete", GOVERNED), flow("bare"), flow("partial", partial)])

    code, output = lint("--config", str(config), "lint")  # the global --config works as well

    assert code == 1
    text = " ".join(output.split())
    assert "'complete'" not in text
    line = config.read_text().splitlines().index("- name: bare") + 1
    assert (
        f"{config}:{line}: flow 'bare' has no business_owner, technical_owner, system_of_record, sla_target, "
        "criticality, escalation_path" in text
    )
    assert "flow 'partial' has no technical_owner, system_of_record, criticality, escalation_path" in text
    assert "escalation_path: [integration-oncall@yourcompany.example]" in text  # what to write, not only what lacks
    assert "2 flow(s) need governance" in text


def test_governance_is_typed(tmp_path: Path) -> None:
    settings = load_settings(config_with(tmp_path, [flow("complete", {**GOVERNED, "sensitive": True})]), env={})
    governance = settings.flows[0].governance
    assert governance.sla_seconds == 900
    assert governance.sensitive
    assert governance.escalation_path == GOVERNED["escalation_path"]
    assert governance.missing() == []

    with pytest.raises(ConfigError, match="not a duration"):
        load_settings(config_with(tmp_path, [flow("x", {"sla_target": "soon"})]), env={})
    with pytest.raises(ConfigError, match="criticality"):
        load_settings(config_with(tmp_path, [flow("x", {"criticality": "urgent"})]), env={})
    with pytest.raises(ConfigError, match="not declared"):
        load_settings(config_with(tmp_path, [flow("x", {"system_of_record": "wms"})]), env={})


def test_the_old_flat_governance_keys_say_where_they_went(tmp_path: Path) -> None:
    old = {**flow("old"), "business_owner": "Head of Sales", "sla": "15m"}
    with pytest.raises(ConfigError, match="belong under `governance:`") as refused:
        load_settings(config_with(tmp_path, [old]), env={})
    assert "sla_target" in str(refused.value)
