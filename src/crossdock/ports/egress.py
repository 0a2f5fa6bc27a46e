"""Where Crossdock may send requests: URLs a connector or a webhook calls are checked before they are called.

A URL whose host resolves to a loopback, private, link-local (cloud metadata lives there), shared, reserved,
multicast or unspecified address is refused unless the system's configuration allows private networks or names
the host. An on-premises ERP on 10.x is a legitimate target; it has to be said so explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})


class EgressRefusedError(ValueError):
    """A URL points where Crossdock must not call without explicit permission; the message says how to allow it."""


class EgressUnresolvedError(EgressRefusedError):
    """A URL's host does not resolve right now: nothing was checked, so nothing may be sent (try again later)."""


@dataclass(frozen=True, slots=True)
class PinnedUrl:
    """Where to send a request so that it goes to the address that was checked.

    Checking a name and letting the HTTP client resolve it again leaves a gap: a DNS answer with a short TTL can
    say "public" to the check and "169.254.169.254" to the connect (DNS rebinding). `url` has the checked address
    as its host; `host` is the original authority for the `Host` header, and `sni_hostname` the name TLS must
    present and verify the certificate for (https only). Both are None when nothing was pinned (an allow-listed
    host, private networks allowed, or an address literal).
    """

    url: str
    host: str | None = None
    sni_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Whether private addresses are allowed, and hosts allowed whatever they resolve to."""

    allow_private_network: bool = False
    allowed_hosts: Collection[str] = field(default_factory=tuple)

    def check(self, url: str, *, owner: str) -> None:
        """Raise EgressRefusedError if `url` may not be called; `owner` names the setting to change."""
        try:
            parts = urlsplit(url)
            port = parts.port  # raises for a port that is not a number in range
        except ValueError as error:
            raise EgressRefusedError(f"{owner}: {url!r} is not a valid URL ({error})") from None
        if parts.scheme not in {"http", "https"}:
            raise EgressRefusedError(f"{owner}: {url!r} is not an http(s) URL")
        host = parts.hostname
        if not host:
            raise EgressRefusedError(f"{owner}: {url!r} has no host")
        self.check_host(host, port or (443 if parts.scheme == "https" else 80), owner=owner, shown=url)

    def pin(self, url: str, *, owner: str) -> PinnedUrl:
        """`check` the URL, and answer it with its host replaced by the address checked (see PinnedUrl)."""
        self.check(url, owner=owner)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self.allow_private_network or host.lower() in {h.lower() for h in self.allowed_hosts}:
            return PinnedUrl(url)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return PinnedUrl(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _addresses(host, port)
        if not addresses:
            raise EgressUnresolvedError(f"{owner}: {host} does not resolve now; it is tried again later")
        for address in addresses:  # resolved again: the answer may differ from the one `check` saw
            if not address.is_global or address.is_multicast:
                raise EgressRefusedError(
                    f"{owner}: {url} resolves to {address}, a {_kind(address)} address; Crossdock does not call "
                    "private or internal addresses unless told to"
                )
        address = addresses[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        userinfo, _, authority = parts.netloc.rpartition("@")
        netloc = (f"{userinfo}@" if userinfo else "") + literal + (f":{parts.port}" if parts.port else "")
        return PinnedUrl(
            parts._replace(netloc=netloc).geturl(),
            host=authority,
            sni_hostname=host if parts.scheme == "https" else None,
        )

    def check_host(self, host: str, port: int, *, owner: str, shown: str | None = None) -> None:
        """Raise EgressRefusedError if `host` may not be reached (for protocols other than http: SFTP, AS2)."""
        shown = shown or f"{host}:{port}"
        if self.allow_private_network or host.lower() in {h.lower() for h in self.allowed_hosts}:
            return
        if host.lower().rstrip(".") in _METADATA_HOSTS:
            raise EgressRefusedError(f"{owner}: {shown} names a cloud metadata service; Crossdock never calls it")
        for address in _addresses(host, port):
            if not address.is_global or address.is_multicast:
                raise EgressRefusedError(
                    f"{owner}: {shown} resolves to {address}, a {_kind(address)} address; Crossdock does not call "
                    f"private or internal addresses unless told to. If this system really lives there, set "
                    f"`allow_private_network: true` (or list the host in `allowed_hosts`) for it in crossdock.yaml."
                )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):  # UnicodeError: a name no resolver accepts (a label over 63 bytes)
        # Nothing to reach yet (offline, or a name that resolves elsewhere): the call itself will fail as a
        # connection error. What resolves to an internal address is refused wherever it is checked.
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for attribute, name in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local (cloud metadata)"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, attribute):
            return name
    return "non-public"
