"""Duplicate customers never reach the ERP as new accounts: the same buyer arriving from the CRM sandbox and from a
distributor's EDI 850 under another spelling ends as one Tryton party and one resolved stewardship decision.

The landscape is the real one: Tryton over JSON-RPC, the Salesforce sandbox, and the buying group's 850 dropped
into its mailbox on a real SFTP server. A steward decides through the stewardship service, as the console will.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossdock.bootstrap import Runtime
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.events.envelope import event_type
from crossdock.mdm.edi_buyers import provisional_id
from crossdock.mdm.model import CustomerRecord
from crossdock.mdm.stewardship import Decision
from crossdock.ports.mdm import CaseState
from crossdock.sandbox.sftp import SftpSandbox, SftpUser
from tests.support.landscape import crossdock_on, running_landscape
from tests.support.x12_orders import customer_850

pytestmark = [pytest.mark.e2e, pytest.mark.tryton, pytest.mark.timeout(300)]

PARTNER = "midwest-buying"
EDI_SYSTEM = f"edi-{PARTNER}"
PASSWORD_ENV = "CROSSDOCK_TEST_BUYING_GROUP_SFTP_PASSWORD"
# This site links on its own only what is all but certain (six nines); everything from "likely" up waits for a
# steward. The two spellings below score about 0.9999: the same company to the matcher, a steward's call here.
LINK_AT, REVIEW_FROM = 0.999999, 0.5
MDM = {"link_threshold": LINK_AT, "review_threshold": REVIEW_FROM, "new_customers_to": "erp"}
ACCOUNT = {
    "Name": "Lakeshore Plumbing Supply, Inc.",
    "AccountNumber": "C-20417",
    "Phone": "+1 614 555 0188",
    "BillingStreet": "2200 Harbor Blvd",
    "BillingCity": "Columbus",
    "BillingState": "OH",
    "BillingPostalCode": "43215",
    "BillingCountry": "US",
    "CurrencyIsoCode": "USD",
}
# The buying group's EDI system knows the same buyer by its own number and a shorter name, with a suite.
SAME_BUYER = ("LAKESHORE PLUMBING", "2200 HARBOR BLVD STE 4", "COLUMBUS", "OH", "43215", "92", "LK-4471")
NEW_BUYER = ("BLUE RIDGE ELECTRIC", "77 MILL RD", "DAYTON", "OH", "45402", "92", "BR-0912")


@pytest.fixture
async def sftp(tmp_path: Path) -> AsyncIterator[SftpSandbox]:
    """The buying group's mailbox."""
    os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(18))
    async with SftpSandbox(tmp_path / "sftp", users=[SftpUser("midwest", password=os.environ[PASSWORD_ENV])]) as box:
        yield box


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    """Tryton and the Salesforce sandbox, with master data on."""
    with running_landscape(tmp_path / "landscape", extra_settings={"mdm": MDM}) as world:
        yield world


@pytest.fixture
async def runtime(landscape: Landscape, sftp: SftpSandbox, tmp_path: Path) -> AsyncIterator[Runtime]:
    """Crossdock on the landscape, with master data on and the buying group as an EDI customer partner."""
    config = yaml.safe_load(landscape.config_path.read_text())
    config["partners"] = {
        PARTNER: {
            "role": "customer",
            "canonical_id": "cus-midwest-buying",
            "name": "Midwest Buying Group",
            "x12": {"partner": {"id": "LAKESHOREBUY"}, "us": {"id": "CROSSDOCK"}},
            "sftp": {
                "host": "127.0.0.1",
                "port": sftp.port,
                "username": "midwest",
                "password": f"env:{PASSWORD_ENV}",
                "host_key_fingerprint": sftp.fingerprint,
                "allowed_hosts": ["127.0.0.1"],
                "take_older_than_s": 0,
            },
        }
    }
    path = tmp_path / "crossdock-mdm.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    async with crossdock_on(path) as wired:
        yield wired


async def parties_named(runtime: Runtime, *words: str) -> list[dict[str, Any]]:
    erp = runtime.unguarded("erp")
    assert isinstance(erp, TrytonConnector)
    found = await erp.client.search_read(
        "party.party", [("name", "ilike", f"%{words[0]}%")], fields=["name", "code", "active"]
    )
    return [dict(party) for party in found if all(word.lower() in str(party["name"]).lower() for word in words)]


async def logged(runtime: Runtime, event_type_: str) -> list[dict[str, Any]]:
    return [e.event.data for e in await runtime.log.read(None, 0, 10_000) if e.event.type == event_type_]


async def settle(runtime: Runtime, rounds: int = 10) -> None:
    """Worker rounds until two in a row capture and deliver nothing (partner files are taken after deliveries, so
    what a file logs is delivered a round later)."""
    worker = runtime.worker("e2e-mdm")
    idle = 0
    for _ in range(rounds):
        stats = await worker.run_once()
        idle = idle + 1 if stats.captured == 0 and stats.delivered == 0 else 0
        if idle == 2:
            return


async def test_the_same_buyer_from_the_crm_and_an_edi_850_is_one_tryton_party(
    runtime: Runtime, sales_user: CrmUser, sftp: SftpSandbox
) -> None:
    account_id = await sales_user.create("Account", ACCOUNT)
    await settle(runtime)
    [party] = await parties_named(runtime, "lakeshore")
    with runtime.store.unit_of_work(read_only=True) as uow:
        crm_ref = uow.xrefs.find_canonical("customer", "crm", account_id)
    assert crm_ref is not None, "the CRM account reached Tryton through the gate as a new customer"
    golden_id = crm_ref.canonical_id

    # The engine's judgement of the pair, so a change in its calibration fails here, saying so.
    buyer = CustomerRecord("edi", EDI_SYSTEM, SAME_BUYER[0], street=SAME_BUYER[1], city=SAME_BUYER[2],
                           region=SAME_BUYER[3], postal_code=SAME_BUYER[4], country="US")  # fmt: skip
    golden = CustomerRecord("crm", "crm", ACCOUNT["Name"], phone=ACCOUNT["Phone"], street=ACCOUNT["BillingStreet"],
                            city="Columbus", region="OH", postal_code="43215", country="US")  # fmt: skip
    probability = runtime.master_data().keys.matcher.scorer.compare(buyer, golden).probability
    assert REVIEW_FROM <= probability < LINK_AT, (
        f"the matcher scores the two spellings {probability:.4f}: no longer a likely duplicate; pick other spellings"
    )

    inbound = sftp.home("midwest") / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    (inbound / "850_PO-7001.edi").write_bytes(customer_850("PO-7001", SAME_BUYER, control=7001))
    (inbound / "850_PO-7002.edi").write_bytes(customer_850("PO-7002", NEW_BUYER, control=7002))
    await settle(runtime)

    [case] = runtime.master_data().stewardship.open_cases()
    assert (case.left, case.right, case.source_system) == (f"{EDI_SYSTEM}:92:LK-4471", golden_id, EDI_SYSTEM)
    orders = {o["customer_po"]: o["customer_id"] for o in await logged(runtime, event_type("order", "submitted"))}
    assert "PO-7001" not in orders, "the likely duplicate's order waits with its buyer"
    assert orders["PO-7002"] == provisional_id(EDI_SYSTEM, "92:BR-0912"), "a new buyer's order is for that buyer"
    assert len(await parties_named(runtime, "lakeshore")) == 1, "no second account while the steward decides"
    assert len(await parties_named(runtime, "blue ridge")) == 1, "a buyer nobody knows does become an account"

    comparison = runtime.master_data().stewardship.compare(case.id or 0)
    rows = {row.field: row for row in comparison.rows}
    assert (rows["name"].left, rows["name"].right) == ("LAKESHORE PLUMBING", "Lakeshore Plumbing Supply, Inc.")
    assert ("erp", str(party["id"])) in comparison.survivor_links
    result = await runtime.master_data().stewardship.decide(case.id or 0, Decision.MERGE, actor="dana")
    await settle(runtime)

    assert (result.case.state, result.case.decided_by) == (CaseState.MERGED, "dana")
    assert result.case.released_at is not None
    orders = {o["customer_po"]: o["customer_id"] for o in await logged(runtime, event_type("order", "submitted"))}
    assert orders["PO-7001"] == golden_id, "the held order is logged for the customer we have"
    parties = await parties_named(runtime, "lakeshore")
    assert [(p["id"], p["active"]) for p in parties] == [(party["id"], True)], "one Tryton party, not two"
    with runtime.store.unit_of_work(read_only=True) as uow:
        edi_ref = uow.xrefs.find_canonical("customer", EDI_SYSTEM, "92:LK-4471")
        assert uow.mdm.open_cases_for("customer", f"{EDI_SYSTEM}:92:LK-4471") == []
    assert edi_ref is not None
    assert edi_ref.canonical_id == golden_id, "the buying group's buyer number now points at the golden record"
    created = [c["name"] for c in await logged(runtime, event_type("customer", "created"))]
    assert "LAKESHORE PLUMBING" not in created, "the duplicate was never logged as a new customer"

    # The next 850 naming that buyer goes straight to the same customer; nobody is asked again.
    (inbound / "850_PO-7003.edi").write_bytes(customer_850("PO-7003", SAME_BUYER, control=7003))
    await settle(runtime)
    orders = {o["customer_po"]: o["customer_id"] for o in await logged(runtime, event_type("order", "submitted"))}
    assert orders["PO-7003"] == golden_id
    assert runtime.master_data().stewardship.open_cases() == []
    assert len(await parties_named(runtime, "lakeshore")) == 1
