"""Credit limits on a real Tryton (module account_credit_limit): the canonical credit_limit both ways, in the
company currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.mapping.catalog import MappingCatalog
from crossdock.model.common import Money
from crossdock.model.party import Customer
from crossdock.ports.connector import ErrorKind, UpsertRequest
from tests.integration.tryton.conftest import SYSTEM, customer
from tests.integration.tryton.test_capture import drain, of

pytestmark = pytest.mark.tryton


async def test_the_party_credit_limit_field_is_credit_limit_amount(connector: TrytonConnector) -> None:
    fields = await connector.client.fields_get("party.party", ["credit_limit_amount"])
    assert fields["credit_limit_amount"]["type"] == "numeric"


async def test_a_credit_limit_goes_in_and_comes_back_and_a_change_in_tryton_comes_out(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    cursor = await connector.cursor_at_end("customer")
    inbound, outbound = catalog.get(SYSTEM, "customer", "inbound"), catalog.get(SYSTEM, "customer", "outbound")
    original = Customer.model_validate(
        customer(unique, credit_limit=Money.of("25000", "USD").model_dump(mode="json"))
    ).model_dump(mode="json")
    sent = outbound.apply(original)
    (created,) = await connector.upsert("customer", [UpsertRequest(original["id"], sent)])
    assert created.ok, created.error
    party = int(str(created.local_id))
    (row,) = await connector.client.read("party.party", [party], ["credit_limit_amount"])
    assert row["credit_limit_amount"] == Decimal(25000)

    records, cursor = await drain(connector, "customer", cursor)
    (record,) = of(records, str(party))
    assert record.payload["credit_limit"] == {"amount": "25000.00", "currency": "USD"}
    back = Customer.model_validate({**inbound.apply(record.payload), "id": original["id"]})
    assert back.model_dump(mode="json") == original
    assert inbound.apply(record.payload) == inbound.apply(sent)  # what the echo check relies on

    # Finance raises the limit in Tryton: the account changes with it.
    await connector.client.write("party.party", [party], {"credit_limit_amount": Decimal("30000.5")})
    records, cursor = await drain(connector, "customer", cursor)
    (record,) = of(records, str(party))
    raised = Customer.model_validate({**inbound.apply(record.payload), "id": original["id"]})
    assert raised.credit_limit == Money.of("30000.50", "USD")

    # A write that knows no limit (say, from a CRM that does not hold it) leaves Tryton's as it is.
    (update,) = await connector.upsert(
        "customer",
        [UpsertRequest(original["id"], outbound.apply({**original, "credit_limit": None}), local_id=str(party))],
    )
    assert update.ok, update.error
    assert update.details == {"changed": False}
    (row,) = await connector.client.read("party.party", [party], ["credit_limit_amount"])
    assert row["credit_limit_amount"] == Decimal("30000.50")

    (lowered,) = await connector.upsert(
        "customer",
        [
            UpsertRequest(
                original["id"],
                outbound.apply({**original, "credit_limit": {"currency": "USD", "amount": "20000.00"}}),
                local_id=str(party),
            )
        ],
    )
    assert lowered.details == {"changed": True}
    (row,) = await connector.client.read("party.party", [party], ["credit_limit_amount"])
    assert row["credit_limit_amount"] == Decimal(20000)


async def test_a_limit_outside_the_company_currency_is_refused_and_never_read_as_the_accounts(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    euro = customer(unique, currency="EUR", credit_limit={"currency": "EUR", "amount": "10000.00"})
    outbound = catalog.get(SYSTEM, "customer", "outbound")
    (refused,) = await connector.upsert("customer", [UpsertRequest(euro["id"], outbound.apply(euro))])
    assert refused.error is not None
    assert refused.error.kind is ErrorKind.DATA_QUALITY
    assert "company currency USD, not EUR" in str(refused.error)

    # Tryton's limit of a euro account is in dollars: the canonical account (in EUR) has none rather than a wrong one.
    cursor = await connector.cursor_at_end("customer")
    (created,) = await connector.upsert(
        "customer", [UpsertRequest(euro["id"], outbound.apply({**euro, "credit_limit": None}))]
    )
    assert created.ok, created.error
    await connector.client.write("party.party", [int(str(created.local_id))], {"credit_limit_amount": Decimal(9000)})
    records, _ = await drain(connector, "customer", cursor)
    (record,) = of(records, str(created.local_id))
    assert record.payload["credit_limit"] == {"amount": "9000.00", "currency": "USD"}
    account = Customer.model_validate(
        {**catalog.get(SYSTEM, "customer", "inbound").apply(record.payload), "id": euro["id"]}
    )
    assert (account.currency, account.credit_limit) == ("EUR", None)
