"""`crossdock demo --until-done --json` plays the day between a real Tryton and the Salesforce sandbox and checks
both systems against each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.tryton, pytest.mark.timeout(600)]


def test_demo_syncs_both_ways_without_loss_duplicates_or_echo(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crossdock", "demo", "--until-done", "--json", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["records_synced"] == {
        "customer-crm-to-erp": 200,
        "item-erp-to-crm": 501,  # and the FREIGHT service item sales charge freight with
        "price-list-erp-to-crm": 501,
        "customer-erp-to-crm": 20,
    }
    assert summary["writes_after_sync"] == 0
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert summary["exceptions_by_class"] == {"policy_violation": 1}
    [violation] = summary["exceptions"]
    assert "payment_terms" in violation["reason"]
    assert "NET60" in violation["reason"]
    orders = summary["orders"]
    assert orders["problems"] == []
    assert orders["erp_sales_duplicated"] == 0
    assert orders["outcomes"]["invoiced"] >= 5
    assert (orders["outcomes"]["rejected"], orders["outcomes"]["backordered"], orders["outcomes"]["cancelled"]) == (
        1,
        1,
        1,
    )
    assert orders["ship_notices"] >= 1
    edi = orders["edi"]  # one drop-ship order through the supplier over EDI on real SFTP
    assert (edi["status"], edi["drop_shipment"]) == ("invoiced", "done")
    assert {name[:4] for name in edi["received_from_supplier"]} == {"855_", "856_", "810_"}
    assert edi["supplier_invoices"], "the supplier's 810 is booked against the purchase"
    assert all(state == "posted" for state, _ in edi["supplier_invoices"])
    assert any(name.startswith("850_") for name in edi["sent_to_supplier"])
    assert "Traceback" not in result.stderr
