"""A supplier's `partners:` entry pointing at the SFTP sandbox, as tests configure it."""

from __future__ import annotations

from typing import Any

from crossdock.sandbox.sftp import SftpSandbox

PARTNER_PASSWORD_ENV = "ACME_SFTP_PASSWORD"


def supplier_entry(sandbox: SftpSandbox, supplier_id: str, *, user: str = "acme") -> dict[str, Any]:
    """The profile of supplier `supplier_id` whose mailbox is `user` on the sandbox (password from the environment)."""
    return {
        "role": "supplier",
        "canonical_id": supplier_id,
        "x12": {"partner": {"id": "ACMESUPPLY"}, "us": {"id": "CROSSDOCK"}},
        "sftp": {
            "host": "127.0.0.1",
            "port": sandbox.port,
            "username": user,
            "password": f"env:{PARTNER_PASSWORD_ENV}",
            "host_key_fingerprint": sandbox.fingerprint,
            "allowed_hosts": ["127.0.0.1"],
            "take_older_than_s": 0,
        },
        "sla": {"acknowledgement_within_h": 24},
    }
