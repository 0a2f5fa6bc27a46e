"""`from_settings`: the factory the composition root calls with a system's settings."""

from __future__ import annotations

import pytest

from crossdock.config import ConfigError, SystemConfig
from crossdock.connectors.salesforce.connector import SalesforceConnector, from_settings
from crossdock.ports.connector import Connector, StampsCanonicalIds


async def test_a_configured_system_becomes_a_connector() -> None:
    system = SystemConfig.model_validate(
        {
            "type": "salesforce",
            "login_url": "https://acme.my.salesforce.com/",
            "auth": {"grant": "client_credentials", "client_id": "3MVG9", "client_secret": "env:SF_SECRET"},
            "daily_call_budget": 20_000,
            "capture": {"mode": "cdc", "cdc_transport": "sandbox"},
        }
    )
    connector = from_settings("crm", system.options())
    assert isinstance(connector, SalesforceConnector)
    assert isinstance(connector, Connector)
    assert isinstance(connector, StampsCanonicalIds)
    assert connector.system == "crm"
    assert connector.client.settings.login_url == "https://acme.my.salesforce.com"
    assert connector.api_usage.budget == 20_000
    assert connector.fields_for("contact")[:3] == ["Id", "SystemModstamp", "Account.Crossdock_Id__c"]
    await connector.close()


def test_wrong_settings_name_each_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        from_settings(
            "crm",
            {"auth": {"grant": "password", "client_id": "c"}, "capture": {"overlap_s": -1}},
        )
    locations = [problem.location for problem in caught.value.problems]
    assert locations[0].startswith("systems.crm.auth")
    assert "systems.crm.capture.overlap_s" in locations
