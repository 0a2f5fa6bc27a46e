"""Invariant 4 with two systems synced both ways: owners rule their attributes, the rest raises a violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossdock.connectors.recording.config import RecordingSettings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.log.memory import MemoryEventLog
from crossdock.ports.store import ExceptionClass
from crossdock.store.memory import MemoryStore
from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryRunner
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.governance import EchoSuppressor, GovernorChain
from crossdock.sync.mappings import NoMappings
from crossdock.sync.ownership import OwnershipGovernor, OwnershipPolicy
from crossdock.sync.publish import Publisher
from crossdock.sync.retry import RetryPolicy
from tests.support.flows import capture_and_deliver

POLICY = OwnershipPolicy(
    {"customer": {"name": "crm", "sales_rep": "crm", "payment_terms": "erp", "credit_limit": "erp"}}
)
FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)


class Landscape:
    """A CRM and an ERP (recording systems) synced both ways under the ownership policy."""

    def __init__(self, tmp_path: Path) -> None:
        self.log, self.store = MemoryEventLog(partitions=4), MemoryStore()
        self.crm = RecordingConnector("crm", RecordingSettings(path=tmp_path / "crm.db"))
        self.erp = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
        publisher = Publisher(self.log)
        crm_to_erp = Flow("crm-to-erp", "crm", "customer", (FlowTarget("erp", "customer", FAST),))
        erp_to_crm = Flow("erp-to-crm", "erp", "customer", (FlowTarget("crm", "customer", FAST),))
        governor = GovernorChain([EchoSuppressor(), OwnershipGovernor(POLICY)])
        self.captures = [
            CaptureRunner(crm_to_erp, self.crm, self.store, publisher, NoMappings(), governor),
            CaptureRunner(erp_to_crm, self.erp, self.store, publisher, NoMappings(), governor),
        ]
        self.deliveries = [
            DeliveryRunner(
                crm_to_erp, crm_to_erp.targets[0], self.erp, self.store, self.log, NoMappings(), consumer="w"
            ),
            DeliveryRunner(
                erp_to_crm, erp_to_crm.targets[0], self.crm, self.store, self.log, NoMappings(), consumer="w"
            ),
        ]

    async def cycle(self) -> int:
        """Capture both systems, deliver until drained; return how many records were written anywhere."""
        return await capture_and_deliver(self.captures, self.deliveries)

    def erp_record(self) -> dict[str, Any]:
        [(_, _, _, record)] = self.erp.file.changed_since("customer", 0, 1)
        current = self.erp.file.record("customer", f"R-{record['id']}")
        assert current is not None
        return current


async def test_owners_rule_their_attributes_and_violations_show_both_values(tmp_path: Path) -> None:
    world = Landscape(tmp_path)
    world.crm.file.upsert(
        "customer", [("A-1", None, None, {"name": "Acme", "sales_rep": "jdoe", "payment_terms": "N60"})]
    )
    assert await world.cycle() == 1
    created = world.erp_record()
    assert created["name"] == "Acme"
    assert "payment_terms" not in created, "a non-owner's value does not seed an attribute the ERP owns"

    world.erp.file.upsert(
        "customer", [(created["id"], None, None, {**created, "payment_terms": "N30", "credit_limit": "5000"})]
    )
    assert await world.cycle() == 1
    crm_view = world.crm.file.record("customer", "R-A-1")
    assert crm_view is not None
    assert (crm_view["payment_terms"], crm_view["credit_limit"]) == ("N30", "5000")

    world.crm.file.upsert(
        "customer", [("A-1", "R-A-1", None, {**crm_view, "name": "Acme Supply", "payment_terms": "N90"})]
    )
    assert await world.cycle() == 1
    erp_view = world.erp_record()
    assert erp_view["name"] == "Acme Supply", "the CRM owns the name"
    assert erp_view["payment_terms"] == "N30", "the CRM does not own payment terms"
    with world.store.unit_of_work(read_only=True) as uow:
        [violation] = uow.exceptions.list(exception_class=ExceptionClass.POLICY_VIOLATION)
        golden = uow.golden.get("customer", erp_view["id"])
    assert violation.details["attribute"] == "payment_terms"
    assert (violation.details["proposed"], violation.details["current"]) == ("N90", "N30")
    assert violation.details["owner"] == "erp"
    assert "N90" in violation.reason
    assert "N30" in violation.reason
    assert golden is not None
    assert golden.sources["payment_terms"] == "erp"
    assert golden.sources["name"] == "crm"

    for _ in range(3):
        assert await world.cycle() == 0, "no echo: nothing more is written to either side"
    with world.store.unit_of_work(read_only=True) as uow:
        assert len(uow.exceptions.list(exception_class=ExceptionClass.POLICY_VIOLATION)) == 1
