"""Opening an SFTP session to a partner: the egress check, the host key (pinned or in known_hosts) and the login.

Nothing is taken from ~/.ssh (config, keys, agent, known_hosts): the partner's settings say everything, so an
operator's own SSH setup never changes whom Crossdock trusts or how it logs in.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Any

import asyncssh

from crossdock.config import ConfigError
from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.errors import SftpAuthError, SftpHostKeyError, SftpSetupError, SftpUnavailableError
from crossdock.ports.egress import EgressPolicy, EgressRefusedError

_KnownHosts = asyncssh.SSHKnownHosts | tuple[list[asyncssh.SSHKey], list[Any], list[Any]]


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in connection with its SFTP channel, and the SHA256 fingerprint of the server's host key."""

    connection: asyncssh.SSHClientConnection
    sftp: asyncssh.SFTPClient
    host_key: str | None


def check_egress(settings: SftpMailboxSettings, *, owner: str) -> None:
    """Raise SftpSetupError when the host is private or internal and the settings do not allow it."""
    policy = EgressPolicy(settings.allow_private_network, settings.allowed_hosts)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    try:
        policy.check_host(settings.host, settings.port, owner=owner, shown=f"sftp://{host}:{settings.port}")
    except EgressRefusedError as exc:
        raise SftpSetupError(str(exc)) from None


def describe_failure(exc: BaseException) -> str:
    """A short description of a library or socket failure for an error message."""
    if isinstance(exc, asyncssh.SFTPError):
        return f"{exc.reason or type(exc).__name__}, SFTP status {exc.code}"
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def open_session(settings: SftpMailboxSettings, *, system: str, where: str) -> Session:
    """Check egress, connect, verify the host key, log in and start SFTP; setup problems raise SftpSetupError."""
    s = settings
    # The policy may resolve the name: keep the blocking lookup off the event loop.
    await asyncio.to_thread(check_egress, s, owner=f"systems.{system}.host")
    password, client_keys = _credentials(s, where)
    check = _HostKeyCheck(s.host_key_fingerprint)
    options: dict[str, Any] = {
        "username": s.username,
        "password": password,
        "client_keys": client_keys,
        "known_hosts": _known_hosts(s, where),
        "client_factory": lambda: check,
        "agent_path": None,
        "x509_trusted_certs": None,
        "gss_auth": False,
        "kbdint_auth": False,
        "host_based_auth": False,
        "connect_timeout": s.connect_timeout_s,
        "login_timeout": s.connect_timeout_s,
        "keepalive_interval": s.keepalive_interval_s,
        "keepalive_count_max": 3,
    }
    try:
        conn = await asyncssh.connect(s.host, s.port, config=None, **options)
    except asyncssh.HostKeyNotVerifiable:
        raise _host_key_error(s, system, where, check) from None
    except asyncssh.PermissionDenied:
        raise _auth_error(s, where) from None
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        raise SftpUnavailableError(
            f"{where}: cannot connect ({describe_failure(exc)}); the server may be down. Crossdock retries; if "
            "this persists, check host and port, and that the partner's firewall admits this machine"
        ) from exc
    try:
        sftp = await asyncio.wait_for(conn.start_sftp_client(), s.op_timeout_s)
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        conn.abort()
        raise SftpUnavailableError(
            f"{where}: logged in, but the server did not start an SFTP session ({describe_failure(exc)}); "
            "ask the partner whether the account may use SFTP"
        ) from exc
    server_key = conn.get_server_host_key()
    return Session(conn, sftp, server_key.get_fingerprint("sha256") if server_key is not None else None)


class _HostKeyCheck(asyncssh.SSHClient):
    """Accepts a host key not in known_hosts only when it matches the pinned fingerprint; remembers what it saw."""

    def __init__(self, pin: str | None) -> None:
        self.pin = pin
        self.presented: str | None = None
        self.algorithm: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        """True when the key's SHA256 fingerprint is the pinned one."""
        self.presented = key.get_fingerprint("sha256")
        self.algorithm = key.get_algorithm()
        return self.pin is not None and hmac.compare_digest(self.presented, self.pin)


def _credentials(s: SftpMailboxSettings, where: str) -> tuple[str | None, list[asyncssh.SSHKey] | None]:
    try:
        password = s.password.resolve().get_secret_value() if s.password is not None else None
        if s.private_key is None:
            # None, never an empty list: asyncssh reads ~/.ssh/id_* when given no keys.
            return password, None
        key_text = s.private_key.resolve().get_secret_value()
        passphrase = s.private_key_passphrase.resolve().get_secret_value() if s.private_key_passphrase else None
    except ConfigError as exc:
        raise SftpSetupError(f"{where}: {exc}") from None
    try:
        key = asyncssh.import_private_key(key_text, passphrase)
    except (asyncssh.KeyImportError, ValueError) as exc:
        # The library's message names the format problem, never the key material.
        raise SftpSetupError(
            f"{where}: the private key in {s.private_key} cannot be used ({exc}); give an OpenSSH or PEM "
            "private key, and `private_key_passphrase` if it is encrypted"
        ) from None
    return password, [key]


def _known_hosts(s: SftpMailboxSettings, where: str) -> _KnownHosts:
    if s.known_hosts is None:
        # Trust nothing up front: the pin (validate_host_public_key) decides. Never ~/.ssh/known_hosts.
        return ([], [], [])
    try:
        return asyncssh.read_known_hosts(str(s.known_hosts))
    except (OSError, ValueError) as exc:
        raise SftpSetupError(
            f"{where}: the known_hosts file {s.known_hosts} cannot be read ({describe_failure(exc)}); create it "
            "with the partner's confirmed host key, or pin `host_key_fingerprint` instead"
        ) from None


def _host_key_error(s: SftpMailboxSettings, system: str, where: str, check: _HostKeyCheck) -> SftpHostKeyError:
    shown = f"the {check.algorithm} host key {check.presented}" if check.presented else "a host key"
    if s.host_key_fingerprint is not None:
        message = (
            f"{where}: the server presented {shown}, which does not match the pinned host_key_fingerprint "
            f"{s.host_key_fingerprint}. Someone may be intercepting the connection, or the partner replaced "
            "the key: confirm the new fingerprint with the partner (`ssh-keygen -lf` on the server's public host "
            "key) before changing the pin"
        )
    else:
        trusted = f"listed in {s.known_hosts}" if s.known_hosts is not None else "pinned"
        message = (
            f"{where}: the server presented {shown}, which is not {trusted}; Crossdock refuses unknown "
            f"host keys. Confirm the fingerprint with the partner, then set `host_key_fingerprint: "
            f"{check.presented or 'SHA256:…'}` for systems.{system} in crossdock.yaml (or add the key to "
            "the file named by `known_hosts`)"
        )
    return SftpHostKeyError(message, presented=check.presented)


def _auth_error(s: SftpMailboxSettings, where: str) -> SftpAuthError:
    secrets = " and ".join(
        f"the {what} in {ref}" for what, ref in (("password", s.password), ("key", s.private_key)) if ref
    )
    return SftpAuthError(
        f"{where}: the server refused the login as {s.username!r} with {secrets}. Check the username and "
        "that secret, or ask the partner to enable the account (and to authorise the public key)"
    )
