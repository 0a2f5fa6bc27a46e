"""The buyer an EDI partner's 850 names is matched against golden customers before its order is logged: known,
its order is for that customer; likely the same, the order waits with its buyer for a steward; new, the buyer is
created (logged from the partner's system) before its order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crossdock.events.envelope import event_type
from crossdock.log.memory import MemoryEventLog
from crossdock.mdm.edi_buyers import BuyerScreen, provisional_id
from crossdock.mdm.release import EventsRelease
from crossdock.mdm.stewardship import Decision, StewardshipService
from crossdock.partners.inbound import PartnerFileReader
from crossdock.partners.profiles import PartnerProfile, X12Identity
from crossdock.ports.mdm import CaseState
from crossdock.ports.partners import AcceptFile, StreamedFiles
from crossdock.sync.publish import Publisher
from tests.support.x12_orders import customer_850
from tests.unit.mdm.mdm_world import LAKESHORE, World

ORDER_SUBMITTED, CUSTOMER_CREATED = event_type("order", "submitted"), event_type("customer", "created")
SAME = ("LAKESHORE PLBG SUPPLY", "2200 HARBOR BOULEVARD", "COLUMBUS", "OH", "43215", "92", "4471")
LIKELY = ("LAKESHORE PLUMBING", "2200 HARBOR BLVD STE 4", "COLUMBUS", "OH", "43215", "92", "4471")
NEW = ("BLUE RIDGE ELECTRIC", "77 MILL RD", "DAYTON", "OH", "45402", "92", "9001")


class Mailbox:
    """Files a partner dropped, handed to the reader; what it sends back is kept."""

    def __init__(self) -> None:
        self.inbound: list[tuple[str, bytes]] = []
        self.sent: list[str] = []

    async def send(self, name: str, content: bytes) -> str:
        self.sent.append(name)
        return name

    async def take(self, accept: AcceptFile, streamed: StreamedFiles | None = None) -> int:
        taken = 0
        while self.inbound:
            name, content = self.inbound.pop(0)
            await accept(name, content)
            taken += 1
        return taken

    async def close(self) -> None:
        return None


class Partner:
    """A buying group that sends 850s for its members, read by the partner file reader with the buyer screen."""

    def __init__(self) -> None:
        self.mdm = World()
        self.mdm.golden("g-lake", LAKESHORE, links={"crm": "001A", "erp": "17"})
        self.log = MemoryEventLog(partitions=4)
        publisher = Publisher(self.log)
        release = EventsRelease(self.mdm.store, self.mdm.keeper, publisher)
        self.stewardship = StewardshipService(
            self.mdm.store, self.mdm.keeper, releasers={"events": release}, sink=publisher
        )
        profile = PartnerProfile(
            name="midwest-buying",
            role="customer",
            canonical_id="cus-midwest-buying",
            partner=X12Identity("LAKESHOREBUY"),
            us=X12Identity("CROSSDOCK"),
        )
        self.mailbox = Mailbox()
        self.reader = PartnerFileReader(
            profile,
            self.mdm.store,
            publisher,
            self.mailbox,
            clock=lambda: datetime(2026, 11, 23, 9, tzinfo=UTC),
            buyers=BuyerScreen(self.mdm.store, self.mdm.gate, release),
        )

    async def drop(self, name: str, content: bytes) -> None:
        self.mailbox.inbound.append((name, content))
        await self.mailbox.take(self.reader.accept)

    async def logged(self, event_type_: str) -> list[dict[str, Any]]:
        return [e.event.data for e in await self.log.read(None, 0, 1000) if e.event.type == event_type_]


async def test_a_buyer_spelt_another_way_is_the_customer_we_have() -> None:
    partner = Partner()
    await partner.drop("po-1.edi", customer_850("PO-1", SAME))
    [order] = await partner.logged(ORDER_SUBMITTED)
    assert order["customer_id"] == "g-lake"
    assert await partner.logged(CUSTOMER_CREATED) == []
    assert partner.mdm.links("g-lake")["edi-midwest-buying"] == "92:4471"


async def test_an_order_for_a_likely_duplicate_waits_with_its_buyer_until_a_steward_decides() -> None:
    partner = Partner()
    await partner.drop("po-1.edi", customer_850("PO-1", LIKELY))
    await partner.drop("po-2.edi", customer_850("PO-2", LIKELY, control=2))
    assert await partner.logged(ORDER_SUBMITTED) == [], "both orders wait"
    [case] = partner.stewardship.open_cases()
    assert (case.left, case.right, case.source_system) == ("edi-midwest-buying:92:4471", "g-lake", "edi-midwest-buying")
    assert case.held is not None
    assert [e["data"]["customer_po"] for e in case.held["events"]] == ["PO-1", "PO-2"]
    assert partner.mailbox.sent, "the partner still gets its 997s"

    assert case.id is not None
    result = await partner.stewardship.decide(case.id, Decision.MERGE, actor="dana")
    assert (result.case.state, result.outcome) == (CaseState.MERGED, "linked")
    orders = await partner.logged(ORDER_SUBMITTED)
    assert [(o["customer_po"], o["customer_id"]) for o in orders] == [("PO-1", "g-lake"), ("PO-2", "g-lake")]
    assert await partner.logged(CUSTOMER_CREATED) == [], "no second account"
    assert partner.mdm.links("g-lake")["edi-midwest-buying"] == "92:4471"

    await partner.drop("po-3.edi", customer_850("PO-3", LIKELY, control=3))
    assert [o["customer_id"] for o in await partner.logged(ORDER_SUBMITTED)][-1] == "g-lake"
    assert len(partner.stewardship.cases()) == 1, "not asked again"


async def test_kept_apart_the_buyer_is_created_before_its_orders() -> None:
    partner = Partner()
    await partner.drop("po-1.edi", customer_850("PO-1", LIKELY))
    [case] = partner.stewardship.open_cases()
    assert case.id is not None
    await partner.stewardship.decide(case.id, Decision.KEEP_APART, actor="dana")
    new_id = provisional_id("edi-midwest-buying", "92:4471")
    [created] = await partner.logged(CUSTOMER_CREATED)
    assert (created["id"], created["name"], created["channel"]) == (new_id, "LAKESHORE PLUMBING", "edi")
    [order] = await partner.logged(ORDER_SUBMITTED)
    assert order["customer_id"] == new_id
    assert partner.mdm.links(new_id) == {"edi-midwest-buying": "92:4471"}


async def test_a_new_buyer_is_created_and_an_850_without_one_keeps_the_partners_account() -> None:
    partner = Partner()
    await partner.drop("po-1.edi", customer_850("PO-1", NEW))
    await partner.drop("po-2.edi", customer_850("PO-2", None, control=2))
    new_id = provisional_id("edi-midwest-buying", "92:9001")
    [created] = await partner.logged(CUSTOMER_CREATED)
    assert created["id"] == new_id
    orders = await partner.logged(ORDER_SUBMITTED)
    assert [(o["customer_po"], o["customer_id"]) for o in orders] == [("PO-1", new_id), ("PO-2", "cus-midwest-buying")]
    assert partner.stewardship.cases() == []
    await partner.drop("po-1-again.edi", customer_850("PO-4", NEW, control=4))
    assert len(await partner.logged(CUSTOMER_CREATED)) == 1, "the buyer is known from then on"
