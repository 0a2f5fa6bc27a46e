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


class _Resolver:
    """getaddrinfo that answers from a script: one answer per call, the last repeated (a rebinding DNS server)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(2, 1, 6, "", (answer, port))]


def test_a_pinned_url_goes_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crossdock.ports.egress.socket.getaddrinfo", _Resolver("93.184.215.14"))
    pinned = EgressPolicy().pin("https://hooks.partner.example:8443/in?x=1", owner="webhook URL")
    assert pinned.url == "https://93.184.215.14:8443/in?x=1"
    assert (pinned.host, pinned.sni_hostname) == ("hooks.partner.example:8443", "hooks.partner.example")


def test_a_name_that_rebinds_to_an_internal_address_is_never_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Public for the check, the metadata service a moment later: the second answer is the one refused.
    monkeypatch.setattr("crossdock.ports.egress.socket.getaddrinfo", _Resolver("93.184.215.14", "169.254.169.254"))
    with pytest.raises(EgressRefusedError, match=r"169\.254\.169\.254"):
        EgressPolicy().pin("http://rebind.example/hook", owner="webhook URL")


def test_allow_listed_hosts_and_address_literals_are_sent_as_written() -> None:
    assert EgressPolicy(allowed_hosts=["erp.local"]).pin("http://erp.local/x", owner="o").host is None
    assert EgressPolicy().pin("http://93.184.215.14/x", owner="o").url == "http://93.184.215.14/x"
