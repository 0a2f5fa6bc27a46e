"""The link to the intake process carries submissions and outcomes as plain values and back, unchanged."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

from crossdock.api.intake_link import pack_outcome, pack_submission, unpack_outcome, unpack_submission
from crossdock.api.order_intake import Outcome, Submission
from crossdock.api.routes.orders import TakenReference
from crossdock.events.envelope import CloudEvent
from crossdock.ports.api import ApiOrderRecord, IdempotencyRecord

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
DOCUMENT = {"id": "o-1", "number": "API-acme-PO-1", "lines": [{"sku": "SKU-1", "ordered_quantity": {"value": "2"}}]}


def _answer() -> IdempotencyRecord:
    return IdempotencyRecord(
        client_id="acme",
        key="k-1",
        request_hash="h",
        status_code=202,
        body=b'{"id":"o-1"}',
        headers={"content-type": "application/json", "location": "/v1/orders/o-1"},
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
    )


def test_a_submission_crosses_the_link_unchanged() -> None:
    submission = Submission(
        answer=_answer(),
        order=ApiOrderRecord(
            order_id="o-1",
            number="API-acme-PO-1",
            client_id="acme",
            partner_id="cus-acme",
            customer_id="cus-acme",
            event_id="e-1",
            process_id="p-1",
            submitted_at=NOW,
            customer_reference="PO-1",
            document=DOCUMENT,
        ),
        event=CloudEvent(
            type="crossdock.order.submitted.v1",
            source="/api/clients/acme",
            subject="o-1",
            data=DOCUMENT,
            id="e-1",
            businesskeys={"order": "API-acme-PO-1"},
            partnerid="cus-acme",
        ),
        conflict=TakenReference("/v1/orders", "acme", "k-1", "h", "PO-1", NOW, NOW + timedelta(hours=24)),
    )
    wire = pickle.dumps(pack_submission(submission))
    assert unpack_submission(pickle.loads(wire)) == submission


def test_a_refusal_without_order_and_an_outcome_cross_unchanged() -> None:
    refusal = Submission(answer=_answer())
    assert unpack_submission(pickle.loads(pickle.dumps(pack_submission(refusal)))) == refusal
    outcome = Outcome(_answer(), replayed=True)
    assert unpack_outcome(pickle.loads(pickle.dumps(pack_outcome(outcome)))) == outcome
