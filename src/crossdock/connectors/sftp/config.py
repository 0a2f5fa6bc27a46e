"""Settings of one partner's SFTP mailbox, as written under `systems.<name>` in crossdock.yaml (secrets by reference
only)."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crossdock.config import SecretRef

_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_HOST = re.compile(r"^[A-Za-z0-9._:\-\[\]]+$")
# Names partners' tools give files while they are still writing them (WinSCP, lftp, rsync, our own outbound).
DEFAULT_IGNORE_GLOBS = (".*", "*.part", "*.tmp", "*.filepart")


class SftpMailboxSettings(BaseModel):
    """Where a partner's SFTP server is, how to log in and verify it, and how its folders are polled and written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    """The server's host name or IP address, without a scheme (`sftp.partner.example`)."""
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretRef | None = None
    """`env:NAME` or `file:/path`; read at each login, so a rotated password is picked up."""
    private_key: SecretRef | None = None
    """A reference to the private key's text (OpenSSH or PEM), e.g. `file:/run/secrets/partner_id_ed25519`."""
    private_key_passphrase: SecretRef | None = None
    host_key_fingerprint: str | None = None
    """The server's host key as `ssh-keygen -lf` prints it (`SHA256:…`), confirmed with the partner."""
    known_hosts: Path | None = None
    """An OpenSSH known_hosts file listing the server's key; used with or instead of `host_key_fingerprint`."""
    inbound_dir: str = "inbound"
    processed_dir: str = "processed"
    failed_dir: str = "failed"
    outbound_dir: str = "outbound"
    file_glob: str = "*"
    """Which inbound files are taken (`*.edi`, `ORDERS_*.csv`); case-sensitive."""
    ignore_globs: tuple[str, ...] = DEFAULT_IGNORE_GLOBS
    """Inbound names never taken: hidden files and the temporary names of uploads still in progress."""
    poll_interval_s: float = Field(default=60.0, gt=0)
    max_file_size: int = Field(default=50 * 1024 * 1024, ge=1)
    """Bytes; a file read whole (an X12 interchange) that is larger goes to the failed folder unread."""
    max_stream_size: int = Field(default=8 * 1024**3, ge=1)
    """Bytes; the limit for files read as they download (CSV batches), whose memory does not grow with them."""
    settle_s: float = Field(default=0.0, ge=0)
    """How long (on Crossdock's clock) a file's size and mtime must stay unchanged, over at least two listings."""
    take_older_than_s: float | None = Field(default=None, ge=0)
    """Take a file at its first listing when its mtime is at least this old; mind clock skew with the server."""
    max_attempts: int = Field(default=5, ge=1)
    """How often the accept callback may fail on one file before the file goes to the failed folder."""
    connect_timeout_s: float = Field(default=10.0, gt=0)
    op_timeout_s: float = Field(default=60.0, gt=0)
    """Per SFTP request (one chunk of a read or write), so large files are not cut off."""
    keepalive_interval_s: float = Field(default=30.0, ge=0)
    reconnect_attempts: int = Field(default=5, ge=1)
    reconnect_backoff_s: float = Field(default=0.5, gt=0)
    reconnect_backoff_max_s: float = Field(default=30.0, gt=0)
    chunk_size: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    allow_private_network: bool = False
    """Allow a host on a private, loopback or link-local address (a partner reached over a VPN); refused otherwise."""
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("host")
    @classmethod
    def _bare_host(cls, host: str) -> str:
        if "://" in host or not _HOST.match(host):
            raise ValueError(f"{host!r} is not a host name or address; write the host alone, e.g. sftp.partner.com")
        return host.strip("[]")

    @field_validator("host_key_fingerprint")
    @classmethod
    def _sha256_fingerprint(cls, fingerprint: str | None) -> str | None:
        if fingerprint is None:
            return None
        # ssh-keygen prints no base64 padding; some partners send it with the padding.
        value = fingerprint.strip().rstrip("=")
        if not _FINGERPRINT.match(value):
            raise ValueError(
                f"{fingerprint!r} is not a SHA256 host key fingerprint; write it as `ssh-keygen -lf` prints it, "
                "e.g. SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
            )
        return value

    @field_validator("inbound_dir", "processed_dir", "failed_dir", "outbound_dir")
    @classmethod
    def _folder(cls, folder: str) -> str:
        normal = posixpath.normpath(folder)
        if not folder or ".." in normal.split("/"):
            raise ValueError(f"{folder!r} is not a usable folder; give a path on the server without `..`")
        return normal

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.password is None and self.private_key is None:
            raise ValueError("give `password` or `private_key` (as env:NAME or file:/path) to log in with")
        if self.private_key_passphrase is not None and self.private_key is None:
            raise ValueError("`private_key_passphrase` is set but `private_key` is not; give the key as well")
        folders = {"inbound_dir": self.inbound_dir, "processed_dir": self.processed_dir, "failed_dir": self.failed_dir}
        if len(set(folders.values())) < len(folders):
            raise ValueError(f"inbound, processed and failed must be different folders (got {folders})")
        if self.reconnect_backoff_max_s < self.reconnect_backoff_s:
            raise ValueError("`reconnect_backoff_max_s` must be at least `reconnect_backoff_s`")
        return self
