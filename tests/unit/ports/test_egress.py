"""The egress guard refuses internal addresses unless a system's configuration allows them."""

from __future__ import annotations

import pytest

from crossdock.ports.egress import EgressPolicy, EgressRefusedError


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/rpc/",
        "https://127.0.0.1:8000/",
        "http://localhost:8000/",
        "http://[::1]/",
        "http://192.168.1.20/",
        "http://172.16.5.4/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
    ],
)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(EgressRefusedError, match="allow_private_network"):
        EgressPolicy().check(url, owner="systems.erp")


def test_public_addresses_pass() -> None:
    EgressPolicy().check("https://93.184.216.34/services/data/v62.0/", owner="systems.crm")


def test_private_networks_can_be_allowed_explicitly() -> None:
    EgressPolicy(allow_private_network=True).check("http://127.0.0.1:8000/", owner="systems.erp")
    EgressPolicy(allowed_hosts=["erp.internal"]).check("http://erp.internal:8000/", owner="systems.erp")


def test_other_schemes_are_refused() -> None:
    with pytest.raises(EgressRefusedError, match="not an http"):
        EgressPolicy(allow_private_network=True).check("file:///etc/passwd", owner="systems.erp")


def test_metadata_host_names_are_refused_even_when_they_do_not_resolve() -> None:
    with pytest.raises(EgressRefusedError, match="metadata"):
        EgressPolicy().check("http://metadata.google.internal/computeMetadata/v1/", owner="webhook")
