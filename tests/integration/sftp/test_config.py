"""Mailbox settings: secrets only by reference, a usable host key pin, a way to log in, distinct folders."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crossdock.connectors.sftp import SftpMailboxSettings

BASE: dict[str, Any] = {"host": "sftp.partner.example", "username": "acme", "password": "env:ACME_SFTP_PASSWORD"}


def test_defaults_wait_for_two_listings_and_pin_nothing() -> None:
    settings = SftpMailboxSettings(**BASE)
    assert settings.port == 22
    assert (settings.inbound_dir, settings.processed_dir, settings.failed_dir) == ("inbound", "processed", "failed")
    assert settings.host_key_fingerprint is None
    assert settings.take_older_than_s is None
    assert repr(settings.password) == "SecretRef('env:ACME_SFTP_PASSWORD')"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"password": "hunter2"}, "a literal secret is not allowed"),
        ({"password": None}, "give `password` or `private_key`"),
        ({"private_key_passphrase": "env:PASSPHRASE"}, "`private_key` is not"),
        ({"host": "sftp://sftp.partner.example"}, "write the host alone"),
        ({"host_key_fingerprint": "MD5:16:27:ac:a5"}, "as `ssh-keygen -lf` prints it"),
        ({"failed_dir": "inbound"}, "must be different folders"),
        ({"inbound_dir": "../elsewhere"}, "without `..`"),
    ],
)
def test_mistakes_are_refused_with_what_to_do(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SftpMailboxSettings(**{**BASE, **overrides})


def test_a_pin_with_base64_padding_is_accepted_without_it() -> None:
    pin = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
    assert SftpMailboxSettings(**BASE, host_key_fingerprint=pin + "=").host_key_fingerprint == pin
