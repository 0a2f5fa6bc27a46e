"""List prices out of a real Tryton: one base price list per variant, captured once per price change, priced under
the item's canonical id, and accepted by the Salesforce connector as a standard price book entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from crossdock.config import SecretRef
from crossdock.connectors.tryton.connector import TrytonConnector
from crossdock.events.registry import SchemaRegistry
from crossdock.log.memory import MemoryEventLog
from crossdock.mapping.catalog import MappingCatalog
from crossdock.mapping.flows import CatalogMappings
from crossdock.model.item import Item
from crossdock.model.pricing import PriceList
from crossdock.ports.connector import ErrorKind, UpsertRequest
from crossdock.store.memory import MemoryStore
from crossdock.sync.capture import CaptureRunner, canonical_id_for
from crossdock.sync.flow import Flow, FlowTarget
from crossdock.sync.publish import Publisher
from tests.integration.tryton.conftest import SYSTEM, item
from tests.integration.tryton.test_capture import drain, of

pytestmark = pytest.mark.tryton

CRM = "crm"
CRM_HOST = "http://crm.test"


class ErpToCrm:
    """The item and price list flows from the session's Tryton, captured into an in-memory log and store."""

    def __init__(self, connector: TrytonConnector, catalog: MappingCatalog) -> None:
        self.store, self.log = MemoryStore(), MemoryEventLog(partitions=4)
        publisher = Publisher(self.log, SchemaRegistry.default().validate)
        self.runners = {
            entity: CaptureRunner(
                Flow(f"{entity}-erp-to-crm", SYSTEM, entity, (FlowTarget(CRM, entity),)),
                connector,
                self.store,
                publisher,
                CatalogMappings(catalog),
                # The catalogue has price_list.updated only: a price list new to Crossdock is an update of the list.
                verbs=("created", "updated") if entity == "item" else ("updated", "updated"),
            )
            for entity in ("item", "price_list")
        }
        self._connector = connector

    async def start_from_now(self) -> None:
        """Capture only what changes from now on, as after a bulk load."""
        with self.store.unit_of_work() as uow:
            for entity, runner in self.runners.items():
                uow.cursors.set(runner.cursor_name, await self._connector.cursor_at_end(entity))
            uow.commit()

    async def poll(self, entity: str) -> list[dict[str, Any]]:
        """One capture pass of a flow; the data of the events it logged."""
        seen = len(await self.log.read(None, 0, 100_000))
        report = await self.runners[entity].poll_once()
        if report.quarantined:
            with self.store.unit_of_work(read_only=True) as uow:
                pytest.fail("; ".join(e.reason for e in uow.exceptions.list()))
        logged = (await self.log.read(None, 0, 100_000))[seen:]
        return [dict(entry.event.data) for entry in logged]


async def tryton_product(connector: TrytonConnector, sku: str, price: str) -> tuple[int, int]:
    """A product made in Tryton by a person (no Crossdock identifier on it); its (template, variant) ids."""
    client = connector.client
    (unit,) = await client.search("product.uom", [("symbol", "=", "u")], limit=1)
    (goods,) = await client.search("product.category", [("name", "=", "Goods"), ("accounting", "=", True)], limit=1)
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": f"Hex nut {sku}",
                "type": "goods",
                "default_uom": unit,
                "sale_uom": unit,
                "purchase_uom": unit,
                "salable": True,
                "account_category": goods,
                "list_price": Decimal(price),
                "products": [["create", [{"suffix_code": sku}]]],
            }
        ],
    )
    (variant,) = await client.search("product.product", [("template", "=", template)], limit=1)
    return template, variant


@pytest.fixture
async def salesforce(tmp_path: Path) -> AsyncIterator[Any]:
    """A Salesforce connector on a sandbox org served in process."""
    pytest.importorskip("fastapi", reason="the Salesforce sandbox needs the sandbox extra (fastapi)")
    from crossdock.connectors.salesforce.client import SalesforceClient
    from crossdock.connectors.salesforce.config import SalesforceSettings
    from crossdock.connectors.salesforce.connector import SalesforceConnector
    from crossdock.sandbox.salesforce.app import create_app

    secret = tmp_path / "sf-secret"
    secret.write_text("sandbox-secret")
    app = create_app(
        tmp_path / "org.db", client_id="3MVG9tryton", client_secret="sandbox-secret", admin_token="sandbox-admin"
    )
    settings = SalesforceSettings.model_validate(
        {
            "login_url": CRM_HOST,
            "auth": {
                "grant": "client_credentials",
                "client_id": "3MVG9tryton",
                "client_secret": SecretRef(f"file:{secret}"),
            },
            "allow_private_network": True,
        }
    )
    client = SalesforceClient(CRM, settings, transport=httpx.ASGITransport(app=app))
    connector = SalesforceConnector(CRM, settings, client=client)
    yield connector
    await connector.close()
    app.state.org.close()


async def test_a_price_change_is_captured_once_and_lands_in_the_standard_price_book(
    connector: TrytonConnector, catalog: MappingCatalog, salesforce: Any, unique: str
) -> None:
    from crossdock.connectors.salesforce.connector import mapping_catalog as salesforce_mappings

    flows = ErpToCrm(connector, catalog)
    await flows.start_from_now()
    template, variant = await tryton_product(connector, f"HN-{unique}", "12.5")
    (item_event,) = await flows.poll("item")
    (first,) = await flows.poll("price_list")
    item_id = item_event["id"]
    assert item_id == canonical_id_for("item", SYSTEM, str(variant))  # minted by the item flow: no marker on it
    assert first["id"] == canonical_id_for("price_list", SYSTEM, str(variant))
    base = PriceList.model_validate(first)
    assert (base.code, base.currency, base.customer_group) == (f"LIST-HN-{unique}", "USD", None)
    ((entry_item, sku, uom, breaks),) = [(e.item_id, e.sku, e.uom, e.breaks) for e in base.entries]
    assert (entry_item, sku, uom) == (item_id, f"HN-{unique}", "EA")
    assert [(b.min_quantity, b.unit_price.amount, b.unit_price.currency) for b in breaks] == [
        (Decimal(0), Decimal("12.50"), "USD")
    ]

    await connector.client.write("product.template", [template], {"list_price": Decimal("13.75")})
    (changed,) = await flows.poll("price_list")
    assert changed["entries"][0]["breaks"][0]["unit_price"] == {"currency": "USD", "amount": "13.75"}
    assert changed["id"] == first["id"]
    assert await flows.poll("price_list") == []  # captured once

    # A rename changes the item, not its price: the price list reads back the same and is no news.
    await connector.client.write("product.template", [template], {"name": f"Hex nut M8 {unique}"})
    assert await flows.poll("price_list") == []
    (renamed,) = await flows.poll("item")
    assert renamed["description"] == f"Hex nut M8 {unique}"

    # The variant's own price wins over its template's.
    await connector.client.write("product.product", [variant], {"list_price": Decimal("11")})
    (own,) = await flows.poll("price_list")
    assert own["entries"][0]["breaks"][0]["unit_price"] == {"currency": "USD", "amount": "11.00"}

    crm = salesforce_mappings(CRM)
    (product,) = await salesforce.upsert(
        "item",
        [
            UpsertRequest(
                item_id, crm.get(CRM, "item", "outbound").apply(Item.model_validate(renamed).model_dump(mode="json"))
            )
        ],
    )
    assert product.ok, product.error
    payload = crm.get(CRM, "price_list", "outbound").apply(PriceList.model_validate(own).model_dump(mode="json"))
    assert payload["IsStandard"] is True
    assert payload["CurrencyIsoCode"] == "USD"
    assert payload["Entries"] == [{"item_id": item_id, "uom": "EA", "UnitPrice": 11.0}]
    (written,) = await salesforce.upsert("price_list", [UpsertRequest(own["id"], payload)])
    assert written.ok, written.error
    rows = await salesforce.client.query_all(
        "SELECT UnitPrice, CurrencyIsoCode, IsActive, Product2.Crossdock_Id__c, Product2.ProductCode "
        "FROM PricebookEntry WHERE Pricebook2.IsStandard = true"
    )
    assert [
        (
            r["Product2"]["Crossdock_Id__c"],
            r["Product2"]["ProductCode"],
            r["UnitPrice"],
            r["CurrencyIsoCode"],
            r["IsActive"],
        )
        for r in rows
    ] == [(item_id, f"HN-{unique}", 11.0, "USD", True)]


async def test_an_item_crossdock_created_is_priced_under_its_canonical_id_while_it_can_be_sold(
    connector: TrytonConnector, catalog: MappingCatalog, unique: str
) -> None:
    cursor = await connector.cursor_at_end("price_list")
    items = await connector.cursor_at_end("item")
    document = item(unique)
    outbound = catalog.get(SYSTEM, "item", "outbound")
    (created,) = await connector.upsert("item", [UpsertRequest(document["id"], outbound.apply(document))])
    local = str(created.local_id)
    (captured,) = of((await drain(connector, "item", items))[0], local)
    assert captured.canonical_id == document["id"]  # the item flow keeps the id Crossdock wrote into the variant
    inbound = catalog.get(SYSTEM, "price_list", "inbound")

    async def price_list() -> PriceList:
        nonlocal cursor
        records, cursor = await drain(connector, "price_list", cursor)
        (record,) = of(records, local)
        return PriceList.model_validate({**inbound.apply(record.payload), "id": f"prl_{unique}"})

    assert (await price_list()).entries == []  # no list price yet: nothing to sell it at
    (variant,) = await connector.client.read("product.product", [int(local)], ["template"])
    await connector.client.write("product.template", [variant["template"]], {"list_price": Decimal("0.4")})
    priced = await price_list()
    assert [(e.item_id, e.sku, e.uom, e.breaks[0].unit_price.amount) for e in priced.entries] == [
        (document["id"], document["sku"], "EA", Decimal("0.40"))
    ]
    await connector.client.write("product.template", [variant["template"]], {"salable": False})
    assert (await price_list()).entries == []


async def test_price_lists_are_not_written_into_tryton(connector: TrytonConnector, unique: str) -> None:
    (result,) = await connector.upsert("price_list", [UpsertRequest(f"prl_{unique}", {"code": "LIST"})])
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONFIGURATION
    assert "does not write price lists into Tryton" in str(result.error)
