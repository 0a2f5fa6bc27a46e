"""The JSON-RPC client against a real Tryton: sessions, context, typed values, errors and the UserWarning dance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from crossdock.config import ConfigError, SecretRef
from crossdock.connectors.tryton.client import TrytonClient, TrytonError
from crossdock.connectors.tryton.config import TrytonSettings
from crossdock.connectors.tryton.connector import from_settings
from crossdock.ports.connector import ErrorKind
from crossdock.sandbox.nats_server import free_port
from crossdock.sandbox.tryton import TrytonEndpoint

pytestmark = pytest.mark.tryton

Settings = Callable[..., TrytonSettings]


async def test_login_loads_the_company_context(make_settings: Settings) -> None:
    client = TrytonClient(make_settings())
    try:
        context = await client.context()
        companies = await client.search_read("company.company", [], ["party.name", "currency.code"])
    finally:
        await client.close()
    assert context["company"] == companies[0]["id"]
    assert companies[0]["currency."]["code"] == "USD"
    assert client.logins == 1


async def test_an_ended_session_is_renewed_and_the_call_repeated(make_settings: Settings) -> None:
    client = TrytonClient(make_settings())
    try:
        before = await client.search("res.user", [("login", "=", "admin")])
        # End the session on the server while the client still holds it: the next call is answered with HTTP 401.
        await client.call("common.db.logout")
        after = await client.search("res.user", [("login", "=", "admin")])
    finally:
        await client.close()
    assert before == after
    assert client.logins == 2


async def test_typed_values_round_trip(make_settings: Settings, unique: str) -> None:
    client = TrytonClient(make_settings())
    try:
        (party,) = await client.create(
            "party.party", [{"name": f"Typed {unique}", "supplier_lead_time": timedelta(days=3, hours=4)}]
        )
        (template,) = await client.create(
            "product.template", [{"name": f"Typed {unique}", "default_uom": 1, "list_price": Decimal("19.9900")}]
        )
        content = bytes(range(256))
        (attachment,) = await client.create(
            "ir.attachment", [{"name": "typed.bin", "resource": f"party.party,{party}", "data": content}]
        )
        (year,) = await client.search_read("account.fiscalyear", [], ["start_date"], limit=1, order=[("id", "ASC")])
        (read_party,) = await client.read("party.party", [party], ["supplier_lead_time", "create_date"])
        (read_template,) = await client.read("product.template", [template], ["list_price"])
        (read_attachment,) = await client.read("ir.attachment", [attachment], ["data"])
        found = await client.search("party.party", [("create_date", "<=", datetime.now(UTC) + timedelta(hours=1))])
    finally:
        await client.close()
    assert read_party["supplier_lead_time"] == timedelta(days=3, hours=4)
    assert read_template["list_price"] == Decimal("19.9900")
    assert read_attachment["data"] == content
    assert isinstance(year["start_date"], date)
    assert year["start_date"] == date(year["start_date"].year, 1, 1)
    created = read_party["create_date"]
    assert created.tzinfo is UTC  # Tryton's naive UTC comes back aware
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert party in found  # an aware datetime is sent as Tryton's naive UTC


async def test_a_user_error_is_data_quality_with_trytons_message(make_settings: Settings, unique: str) -> None:
    client = TrytonClient(make_settings())
    try:
        with pytest.raises(TrytonError) as caught:
            await client.create(
                "party.party",
                [{"name": f"Bad {unique}", "identifiers": [["create", [{"type": "us_ein", "code": "1"}]]]}],
            )
    finally:
        await client.close()
    assert caught.value.kind is ErrorKind.DATA_QUALITY
    assert 'The U.S. Employer Identification Number "1"' in str(caught.value)
    assert "is not valid" in str(caught.value)


async def test_a_stale_timestamp_is_a_transient_concurrency_error(make_settings: Settings, unique: str) -> None:
    client = TrytonClient(make_settings())
    try:
        (party,) = await client.create("party.party", [{"name": f"Stale {unique}"}])
        (before,) = await client.read("party.party", [party], ["_timestamp"])
        await client.write("party.party", [party], {"name": f"Changed {unique}"})
        with pytest.raises(TrytonError) as caught:
            await client.write(
                "party.party", [party], {"name": f"Lost {unique}"}, timestamps={party: before["_timestamp"]}
            )
        (after,) = await client.read("party.party", [party], ["name"])
    finally:
        await client.close()
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "changed by someone else" in str(caught.value)
    assert after["name"] == f"Changed {unique}"


async def test_a_user_warning_is_acknowledged_and_the_call_repeated_once(make_settings: Settings, unique: str) -> None:
    client = TrytonClient(make_settings())
    strict = TrytonClient(make_settings(acknowledge_warnings=False))
    try:
        dozen = (await client.search("product.uom", [("symbol", "=", "dz")]))[0]
        (supplier,) = await client.create("party.party", [{"name": f"Supplier {unique}"}])
        (template,) = await client.create(
            "product.template",
            [
                {
                    "name": f"Warned {unique}",
                    "default_uom": 1,
                    "purchasable": True,
                    "purchase_uom": 1,
                    "products": [["create", [{"suffix_code": f"W-{unique}"}]]],
                }
            ],
        )
        variant = (await client.search("product.product", [("template", "=", template)]))[0]
        await client.create(
            "purchase.product_supplier", [{"template": template, "product": variant, "party": supplier}]
        )
        # Changing the purchase UOM of an item that has suppliers asks the user to confirm (PurchaseUOMWarning).
        with pytest.raises(TrytonError) as caught:
            await strict.write("product.template", [template], {"purchase_uom": dozen})
        await client.write("product.template", [template], {"purchase_uom": dozen})
        (written,) = await client.read("product.template", [template], ["purchase_uom"])
    finally:
        await client.close()
        await strict.close()
    assert caught.value.kind is ErrorKind.DATA_QUALITY
    assert "warning" in str(caught.value)
    assert written["purchase_uom"] == dozen


async def test_a_method_not_exposed_is_a_configuration_error(make_settings: Settings) -> None:
    client = TrytonClient(make_settings())
    try:
        with pytest.raises(TrytonError) as caught:
            await client.search_read("ir.model.data", [], ["fs_id"], limit=1)
    finally:
        await client.close()
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "HTTP 403" in str(caught.value)


async def test_a_wrong_password_is_a_configuration_error(make_settings: Settings, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    # Another login than admin's: Tryton slows down the next logins of a name that failed.
    client = TrytonClient(make_settings(username="clerk", password=SecretRef(f"file:{wrong}")))
    try:
        with pytest.raises(TrytonError) as caught:
            await client.context()
    finally:
        await client.close()
    assert caught.value.kind is ErrorKind.CONFIGURATION
    assert "the login was refused; check the username and password ('clerk')" in str(caught.value)


async def test_an_unreachable_server_is_transient(make_settings: Settings) -> None:
    client = TrytonClient(make_settings(url=f"http://127.0.0.1:{free_port()}", connect_timeout_s=2))
    try:
        with pytest.raises(TrytonError) as caught:
            await client.context()
    finally:
        await client.close()
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "is the server running?" in str(caught.value)


async def test_the_factory_takes_the_sandbox_options_and_refuses_a_literal_password(tryton: TrytonEndpoint) -> None:
    connector = from_settings("erp", tryton.options())
    try:
        assert connector.system == "erp"
        assert (await connector.client.context())["company"]
    finally:
        await connector.close()
    with pytest.raises(ConfigError) as caught:
        from_settings("erp", {**tryton.options(), "password": "hunter2"})
    assert "systems.erp" in str(caught.value)
    assert "env:NAME or file:/path" in str(caught.value)
    assert "hunter2" not in str(caught.value)
