"""The gate in the capture path: a new customer captured from a source is matched before it is logged, so a
likely duplicate never reaches the ERP as a new account; a steward's decision lets it through, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossdock.connectors.recording.config import RecordingSettings
from crossdock.connectors.recording.connector import RecordingConnector
from crossdock.events.envelope import event_type
from crossdock.log.memory import MemoryEventLog
from crossdock.mdm.release import EventsRelease
from crossdock.mdm.stewardship import Decision, StewardshipService
from crossdock.ports.mdm import CaseState
from crossdock.sync.capture import CaptureRunner
from crossdock.sync.deliver import DeliveryRunner
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.governance import EchoSuppressor, GovernorChain
from crossdock.sync.mappings import NoMappings
from crossdock.sync.matching import CAPTURE_CHANNEL, CaptureRelease, CustomerMatchGovernor, MatchKeyIndexer
from crossdock.sync.ownership import OwnershipGovernor, OwnershipPolicy
from crossdock.sync.publish import Publisher
from crossdock.sync.retry import RetryPolicy
from tests.support.flows import capture_and_deliver
from tests.unit.mdm.mdm_world import LAKESHORE, OWNERS, World, customer

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)
LIKELY = customer("LAKESHORE PLUMBING", "2200 HARBOR BLVD STE 4", "COLUMBUS", number="S-1")


class Landscape:
    """A CRM and a web shop whose new customers flow into an ERP (recording systems), through the gate."""

    def __init__(self, tmp_path: Path) -> None:
        self.mdm = World()
        self.store, self.log = self.mdm.store, MemoryEventLog(partitions=4)
        self.publisher = Publisher(self.log)
        self.crm = RecordingConnector("crm", RecordingSettings(path=tmp_path / "crm.db"))
        self.shop = RecordingConnector("shop", RecordingSettings(path=tmp_path / "shop.db"))
        self.erp = RecordingConnector("erp", RecordingSettings(path=tmp_path / "erp.db"))
        flows = [
            Flow("crm-to-erp", "crm", "customer", (FlowTarget("erp", "customer", FAST),)),
            Flow("shop-to-erp", "shop", "customer", (FlowTarget("erp", "customer", FAST),)),
        ]
        after_gate = GovernorChain([OwnershipGovernor(OwnershipPolicy(OWNERS)), MatchKeyIndexer(self.mdm.keys)])
        governor = GovernorChain([EchoSuppressor(), CustomerMatchGovernor(self.mdm.gate), after_gate])
        sources = {"crm": self.crm, "shop": self.shop}
        self.captures = [
            CaptureRunner(flow, sources[flow.source_system], self.store, self.publisher, NoMappings(), governor)
            for flow in flows
        ]
        self.deliveries = [
            DeliveryRunner(flow, flow.targets[0], self.erp, self.store, self.log, NoMappings(), consumer="w")
            for flow in flows
        ]
        self.stewardship = StewardshipService(
            self.store,
            self.mdm.keeper,
            releasers={
                CAPTURE_CHANNEL: CaptureRelease(
                    self.store, self.publisher, after_gate, {f.name: f for f in flows}, sources
                ),
                "events": EventsRelease(self.store, self.mdm.keeper, self.publisher),
            },
            systems={"crm": self.crm, "shop": self.shop, "erp": self.erp},
            sink=self.publisher,
        )

    async def cycle(self) -> int:
        """Capture both sources, deliver until drained; how many ERP records were written."""
        return await capture_and_deliver(self.captures, self.deliveries)

    def erp_names(self) -> list[str]:
        return sorted(
            str(record["name"])
            for _, _, _, record in self.erp.file.changed_since("customer", 0, 1000)
            if record is not None
        )

    def crm_account(self, local_id: str, document: dict[str, Any]) -> None:
        self.crm.file.upsert("customer", [(local_id, None, None, document)])

    def shop_account(self, local_id: str, document: dict[str, Any]) -> None:
        self.shop.file.upsert("customer", [(local_id, None, None, document)])

    def only_case(self) -> Any:
        with self.store.unit_of_work(read_only=True) as uow:
            [case] = uow.mdm.cases()
        return case

    async def logged(self, verb: str) -> list[Any]:
        batch = await self.log.read(None, 0, 1000)
        return [e.event for e in batch if e.event.type == event_type("customer", verb)]


async def test_a_likely_duplicate_is_held_and_merged_into_the_customer_the_erp_has(tmp_path: Path) -> None:
    world = Landscape(tmp_path)
    world.crm_account("A-1", LAKESHORE)
    assert await world.cycle() == 1
    world.shop_account("S-1", LIKELY)
    assert await world.cycle() == 0, "held: nothing reaches the ERP"
    case = world.only_case()
    assert (case.state, case.source_system, case.held["channel"]) == (CaseState.OPEN, "shop", "capture")
    comparison = world.stewardship.compare(case.id)
    assert [(row.field, row.left, row.right) for row in comparison.rows][:2] == [
        ("name", "LAKESHORE PLUMBING", "Lakeshore Plumbing Supply, Inc."),
        ("legal_name", None, None),
    ]
    assert comparison.survivor_links == (("crm", "R-A-1"), ("erp", f"R-{case.right}"))
    assert comparison.left_links == (("shop", "R-S-1"),)

    result = await world.stewardship.decide(case.id, Decision.MERGE, actor="dana", note="same buyer")
    assert (result.case.state, result.outcome, result.canonical_id) == (CaseState.MERGED, "linked", case.right)
    assert result.release is not None
    assert result.release.startswith("logged crossdock.customer.updated.v1")
    assert await world.cycle() == 1, "the survivor's ERP record is updated with what the shop knew"
    assert world.erp_names() == ["Lakeshore Plumbing Supply, Inc."] * 2  # one record, written twice
    assert world.erp.file.count("customer") == 1
    assert world.mdm.links(case.right)["shop"] == "R-S-1"

    world.shop_account("S-1", {**LIKELY, "number": "S-1b"})
    await world.cycle()
    assert world.erp.file.count("customer") == 1, "the shop's later changes go to the same customer"
    assert len(world.stewardship.cases()) == 1, "and nobody is asked again"


async def test_kept_apart_the_held_customer_is_created_after_all(tmp_path: Path) -> None:
    world = Landscape(tmp_path)
    world.crm_account("A-1", LAKESHORE)
    await world.cycle()
    world.shop_account("S-1", LIKELY)
    await world.cycle()
    case = world.only_case()
    result = await world.stewardship.decide(case.id, Decision.KEEP_APART, actor="dana")
    assert result.outcome == "new"
    assert await world.cycle() == 1
    assert world.erp.file.count("customer") == 2
    created = await world.logged("created")
    assert [e.data["number"] for e in created] == ["C-20417", "S-1"]
    await world.stewardship.resume()
    assert await world.cycle() == 0, "a release is not repeated"


async def test_a_second_crm_account_of_one_customer_is_merged_not_created(tmp_path: Path) -> None:
    world = Landscape(tmp_path)
    world.crm_account("A-1", LAKESHORE)
    await world.cycle()
    world.crm_account("A-2", {**LIKELY, "number": "C-99"})
    assert await world.cycle() == 0
    case = world.only_case()
    result = await world.stewardship.decide(case.id, Decision.MERGE, actor="dana")
    assert result.outcome == "merged"
    assert result.merge is not None
    assert result.carried["crm"].startswith("left alone")  # a recording system cannot retire duplicates
    assert result.carried["event"] == "published"
    assert await world.cycle() == 0
    assert world.erp.file.count("customer") == 1

    world.crm_account("A-2", {**LIKELY, "number": "C-99", "name": "Lakeshore Plumbing (old)"})
    assert await world.cycle() == 0, "the retired duplicate's changes are not applied to the survivor"
    assert world.mdm.document(case.right)["name"] == "Lakeshore Plumbing Supply, Inc."
