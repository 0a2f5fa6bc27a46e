"""The console in a real Chromium against `crossdock serve`: sign in, follow an order across systems, replay a dead
letter with a second person's approval and see it delivered once, and work an exception."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from crossdock.connectors.recording.client import RecordingFile
from tests.browser.conftest import sign_in, sign_out
from tests.browser.day import FLOW, ORDER, Day

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
expect = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect


def test_signing_in_opens_the_overview(page: Any, day: Day) -> None:
    page.goto(f"{day.url}/")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    sign_in(page, day, "ana")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_text(FLOW).first).to_be_visible()
    expect(page.get_by_role("heading", name="SLA breaches")).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()


def test_an_orders_lineage_shows_one_timeline_across_systems(page: Any, day: Day) -> None:
    sign_in(page, day, "ana", "/console/lineage")
    page.get_by_label(re.compile("Order, PO or invoice number")).fill(ORDER)
    page.get_by_role("button", name="Find").click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_be_visible()
    for hop in ("create_sale", "dispatch:1", "invoice:1", "crossdock.order.accepted.v1"):
        expect(timeline.get_by_text(hop, exact=True).first).to_be_visible()
    expect(page.locator("#process-state")).to_have_text("completed")
    page.get_by_text("payload").first.click()


def test_a_dead_letter_is_replayed_once_after_a_second_persons_approval(page: Any, day: Day) -> None:
    sign_in(page, day, "ana", "/console/dead-letters")
    page.get_by_role("link", name=re.compile(r"crossdock\.customer\.updated\.v1")).first.click()
    expect(page.get_by_role("heading", name="Replay preview")).to_be_visible()
    expect(page.get_by_text("Idempotency journal: no delivery of this event to erp yet")).to_be_visible()
    expect(page.get_by_text("a replay needs a second person's approval")).to_be_visible()
    page.get_by_label("Why").fill("the ERP is back")
    page.get_by_role("button", name="Request replay").click()
    expect(page.get_by_text("wait for a second person's approval")).to_be_visible()
    expect(page.locator("#replay-state")).to_have_text("requested")
    expect(page.get_by_role("button", name="Approve and replay")).to_have_count(0)  # not by the requester
    request_url = page.url
    sign_out(page)

    sign_in(page, day, "bo", "/console/replays")
    expect(page.get_by_role("heading", name=re.compile("Waiting for approval"))).to_be_visible()
    page.goto(request_url)
    page.get_by_label("Note").fill("checked the payload")
    page.get_by_role("button", name="Approve and replay").click()
    expect(page.locator("#replay-state")).to_have_text("replayed")
    deadline = time.monotonic() + 30
    while "delivered once" not in page.locator("#deliveries").inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)  # the worker in `serve` delivers the handed-back event; the page shows the journal
        page.reload()
    expect(page.locator("#deliveries")).to_contain_text("delivered once")
    expect(page.locator("#deliveries")).to_contain_text("journal: has it")
    expect(page.get_by_text("replay.execute")).to_be_visible()
    erp = RecordingFile(day.erp_file)
    try:
        writes = [event_id for _, event_id, _ in erp.history("customer") if event_id == day.dead_event_id]
    finally:
        erp.close()
    assert writes == [day.dead_event_id]


def test_an_exception_is_assigned_commented_and_resolved(page: Any, day: Day) -> None:
    sign_in(page, day, "ana", "/console/exceptions?queue=purchasing")
    row = page.get_by_role("row").filter(has_text="no 855 from acme")
    expect(row).to_contain_text("no 855 within 24 h")
    row.get_by_role("link", name=f"#{day.sla_exception_id}").click()
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("assigned to ana")
    expect(page.locator("#assignee")).to_have_text("ana")
    page.get_by_label("Comment").fill("Called Acme: 855 resent this afternoon")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("ana: Called Acme: 855 resent this afternoon")).to_be_visible()
    page.get_by_label("How it was resolved").fill("855 received")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("heading", name=re.compile(f"Exception #{day.sla_exception_id}"))).to_contain_text(
        "resolved"
    )
    expect(page.get_by_text("exception.resolve")).to_be_visible()
