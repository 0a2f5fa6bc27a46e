"""`crossdock demo --until-done --json` plays the scenario and checks both systems against each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_syncs_both_ways_without_loss_duplicates_or_echo(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crossdock", "demo", "--until-done", "--json", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["records_synced"] == {"customer-crm-to-erp": 200, "customer-erp-to-crm": 20}
    assert summary["writes_after_sync"] == 0
    assert (summary["lost"], summary["duplicated"], summary["mismatched"]) == (0, 0, 0)
    assert summary["exceptions_by_class"] == {"contract_violation": 1}
    [quarantined] = summary["exceptions"]
    assert "currency" in quarantined["reason"]
    assert "Traceback" not in result.stderr
