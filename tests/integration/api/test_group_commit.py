"""The order intake's group commit on a SQLite store and log: new orders are stored and logged once; replays,
taken PO numbers and reused keys are found after the unchecked insert is refused, and never reach the log."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from crossdock.api.order_intake import GroupCommit, Outcome
from crossdock.api.order_submission import OrderTicket, Submission, SubmissionPreparer
from crossdock.events.registry import SchemaRegistry
from crossdock.log.sqlite import SqliteEventLog
from crossdock.store.rules import utc_now
from crossdock.store.sql import SqlStore
from crossdock.sync.publish import Publisher

BODY = (
    '{"customer_reference":"%s","ship_to":{"lines":["1 Dock Rd"],"city":"Columbus","country":"US"},'
    '"lines":[{"sku":"SKU-1","quantity":"2","unit_price":"4.25"}]}'
)


@dataclass
class Intake:
    commit: GroupCommit
    preparer: SubmissionPreparer
    log_path: Path

    def submission(self, key: str, reference: str) -> Submission:
        now = utc_now()
        body = (BODY % reference).encode()
        return self.preparer.prepare(
            OrderTicket(
                client_id="acme",
                partner_id="cus-acme",
                partner=True,
                key=key,
                request_hash=f"hash-of-{reference}",
                path="/v1/orders",
                content_type="application/json",
                body=body,
                received_at=now,
                expires_at=now + timedelta(hours=24),
                correlation_id=None,
                traceparent=None,
            )
        )

    def settle(self, *submissions: Submission) -> list[Outcome]:
        results = self.commit.settle(list(submissions))
        assert all(isinstance(result, Outcome) for result in results), results
        return [result for result in results if isinstance(result, Outcome)]

    def logged_orders(self) -> list[str]:
        with sqlite3.connect(self.log_path) as log:
            rows = log.execute("SELECT body FROM cd_log_events ORDER BY seq").fetchall()
        return [bytes(body).decode().split('"number":"', 1)[1].split('"', 1)[0] for (body,) in rows]


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    log = SqliteEventLog(tmp_path / "log.db", partitions=4)
    await log.open()
    preparer = SubmissionPreparer(Publisher(log, SchemaRegistry.default().validate))
    yield Intake(GroupCommit(store, log, clock=utc_now), preparer, tmp_path / "log.db")
    await log.close()
    store.dispose()


async def test_new_orders_are_stored_and_logged_once_each(intake: Intake) -> None:
    outcomes = intake.settle(*(intake.submission(f"k-{n}", f"PO-{n}") for n in range(5)))
    assert [(o.status_code, o.replayed) for o in outcomes] == [(202, False)] * 5
    assert intake.logged_orders() == [f"API-acme-PO-{n}" for n in range(5)]


async def test_a_replay_a_taken_number_and_a_reused_key_are_told_apart_and_never_logged(intake: Intake) -> None:
    intake.settle(intake.submission("k-1", "PO-1"))
    replay, taken, reused, new = intake.settle(
        intake.submission("k-1", "PO-1"),  # the same request again
        intake.submission("k-2", "PO-1"),  # another key for the same PO: 409
        intake.submission("k-1", "PO-9"),  # the first key for another order: the API answers 422
        intake.submission("k-3", "PO-3"),  # new, in the same group as the three above
    )
    assert (replay.status_code, replay.replayed, replay.request_hash) == (202, True, "hash-of-PO-1")
    assert (taken.status_code, taken.replayed) == (409, False)
    assert (reused.replayed, reused.request_hash) == (True, "hash-of-PO-1")  # not PO-9's hash: refused upstream
    assert (new.status_code, new.replayed) == (202, False)
    # PO-9 was never taken, so its event must not be in the log for quote-to-order to act on.
    assert intake.logged_orders() == ["API-acme-PO-1", "API-acme-PO-3"]


async def test_a_key_reused_for_another_order_does_not_log_that_order(intake: Intake) -> None:
    intake.settle(intake.submission("k-1", "PO-1"))
    reused, new = intake.settle(intake.submission("k-1", "PO-9"), intake.submission("k-3", "PO-3"))
    assert (reused.replayed, reused.request_hash) == (True, "hash-of-PO-1")
    assert (new.status_code, new.replayed) == (202, False)
    assert intake.logged_orders() == ["API-acme-PO-1", "API-acme-PO-3"]


async def test_a_key_whose_answer_expired_takes_a_new_order(intake: Intake) -> None:
    first = intake.submission("k-1", "PO-1")
    stale = replace(first, answer=replace(first.answer, expires_at=utc_now() - timedelta(seconds=1)))
    intake.settle(stale)
    (again,) = intake.settle(intake.submission("k-1", "PO-2"))
    assert (again.status_code, again.replayed) == (202, False)
    assert intake.logged_orders() == ["API-acme-PO-1", "API-acme-PO-2"]


async def test_one_key_or_one_number_twice_in_a_group_is_one_order(intake: Intake) -> None:
    first, again, same_po = intake.settle(
        intake.submission("k-1", "PO-1"), intake.submission("k-1", "PO-1"), intake.submission("k-2", "PO-1")
    )
    assert (first.status_code, first.replayed) == (202, False)
    assert (again.status_code, again.replayed) == (202, True)
    assert same_po.status_code == 409
    assert intake.logged_orders() == ["API-acme-PO-1"]
