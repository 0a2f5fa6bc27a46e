"""Tryton connector settings: a loopback or private ERP must be allowed explicitly."""

from __future__ import annotations

import pytest

from crossdock.config import ConfigError
from crossdock.connectors.tryton.connector import from_settings

OPTIONS = {"type": "tryton", "url": "http://127.0.0.1:8000", "database": "erp", "password": "env:TRYTON_PASSWORD"}


def test_a_loopback_erp_is_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError, match="allow_private_network") as refused:
        from_settings("erp", OPTIONS)
    assert "systems.erp" in str(refused.value)
    assert from_settings("erp", {**OPTIONS, "allow_private_network": True}).system == "erp"


def test_the_cloud_metadata_address_is_refused() -> None:
    with pytest.raises(ConfigError, match="link-local"):
        from_settings("erp", {**OPTIONS, "url": "http://169.254.169.254"})
