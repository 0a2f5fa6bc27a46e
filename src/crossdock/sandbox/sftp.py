"""A real SFTP server on loopback (asyncssh) for tests and the demo: partners' mailboxes, each user locked into its
own folder tree, behind a generated host key whose fingerprint clients pin.

    async with SftpSandbox(tmp_path, [SftpUser("acme", password="s3cret")]) as sandbox:
        settings = SftpMailboxSettings(host=sandbox.host, port=sandbox.port, username="acme", password=...,
                                       host_key_fingerprint=sandbox.fingerprint, allowed_hosts=[sandbox.host])

`with SftpSandbox(...)` serves from a background thread's event loop instead, for synchronous tests. The host key is
kept in the sandbox's root, so a restart on the same port presents the same key and pinned clients reconnect.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

DEFAULT_FOLDERS = ("inbound", "processed", "failed", "outbound")
_HOST = "127.0.0.1"
_THREAD_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class SftpUser:
    """A partner account: a password, public keys it may log in with (OpenSSH one-line format), or both."""

    username: str
    password: str | None = None
    public_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A client key pair: the private key's file (mode 0600) and the public key's OpenSSH line."""

    private_key_path: Path
    public_key: str


def generate_key_pair(path: Path, *, passphrase: str | None = None) -> KeyPair:
    """A new ed25519 key pair, the private key written to `path` (encrypted PKCS#8 PEM when given a passphrase)."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Encrypting the OpenSSH format needs bcrypt, which is not a dependency; PKCS#8 is encrypted by cryptography.
    private = key.export_private_key("pkcs8-pem", passphrase) if passphrase else key.export_private_key("openssh")
    _write_private(path, private)
    return KeyPair(path, key.export_public_key("openssh").decode("ascii").strip())


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


class SftpSandbox:
    """SFTP mailboxes on 127.0.0.1: `await start_async()` / `stop_async()`, or `start()` / `stop()` on a thread.

    Each user sees only `root/home/<username>`, created with `folders` in it. Faults for tests: `write_delay_s`
    slows every write request; `fsync_supported` and `posix_rename_supported` switch those extensions off.
    `requests` counts the requests the server served, by kind.
    """

    def __init__(
        self,
        root: Path | None = None,
        users: Sequence[SftpUser] = (),
        *,
        port: int = 0,
        folders: Sequence[str] = DEFAULT_FOLDERS,
    ) -> None:
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="crossdock-sftp-")
            root = Path(self._tempdir.name)
        self.root = root
        self.host = _HOST
        self.port = port
        self.users = {user.username: user for user in users}
        self._keys = {user.username: [asyncssh.import_public_key(line) for line in user.public_keys] for user in users}
        for user in users:
            for folder in folders:
                (self.home(user.username) / folder).mkdir(parents=True, exist_ok=True)
        self._host_key = self._load_host_key()
        self.write_delay_s = 0.0
        self.fsync_supported = True
        self.posix_rename_supported = True
        self.requests: collections.Counter[str] = collections.Counter()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def fingerprint(self) -> str:
        """The host key's SHA256 fingerprint, as `ssh-keygen -lf` prints it: what clients pin."""
        return self._host_key.get_fingerprint("sha256")

    @property
    def host_public_key(self) -> str:
        """The host's public key in OpenSSH one-line format."""
        return self._host_key.export_public_key("openssh").decode("ascii").strip()

    def known_hosts_line(self) -> str:
        """The line a known_hosts file needs to trust this server (`[127.0.0.1]:<port> ssh-ed25519 …`)."""
        return f"[{self.host}]:{self.port} {self.host_public_key}"

    def home(self, username: str) -> Path:
        """The folder `username` sees as `/`."""
        return self.root / "home" / username

    def authorize_key(self, username: str, public_key: str) -> None:
        """Let `username` log in with another public key (OpenSSH one-line format) from now on."""
        self._keys.setdefault(username, []).append(asyncssh.import_public_key(public_key))

    @property
    def connections(self) -> int:
        """How many clients are connected now."""
        return len(self._connections)

    def _load_host_key(self) -> asyncssh.SSHKey:
        path = self.root / "ssh_host_ed25519_key"
        if path.exists():
            return asyncssh.read_private_key(path)
        key = asyncssh.generate_private_key("ssh-ed25519")
        _write_private(path, key.export_private_key("openssh"))
        return key

    # -- on the caller's event loop ------------------------------------------------------------------------------

    async def start_async(self) -> None:
        """Listen on the running event loop; the first start picks a free port, restarts keep it."""
        if self._acceptor is not None:
            raise RuntimeError(f"the SFTP sandbox already listens on port {self.port}; stop it first")
        self._acceptor = await asyncssh.listen(
            self.host,
            self.port,
            server_factory=lambda: _MailboxServer(self),
            server_host_keys=[self._host_key],
            sftp_factory=lambda channel: _MailboxFiles(channel, self),
            allow_scp=False,
            config=None,
        )
        self.port = self._acceptor.get_port()

    async def stop_async(self) -> None:
        """Stop listening and disconnect every client."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is None:
            return
        acceptor.close()
        await acceptor.wait_closed()
        connections = list(self._connections)
        for connection in connections:
            connection.close()
        for connection in connections:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.wait_closed(), _THREAD_TIMEOUT_S)
        self._connections.clear()

    async def restart_async(self) -> None:
        """Stop and start again on the same port with the same host key and files."""
        await self.stop_async()
        await self.start_async()

    async def __aenter__(self) -> SftpSandbox:
        await self.start_async()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()
        self._cleanup()

    # -- on a background thread ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve from a background thread's event loop (for synchronous tests); returns once it listens."""
        if self._thread is not None:
            raise RuntimeError("the SFTP sandbox thread is already running; stop() it first")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="sftp-sandbox", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._on_thread(self.start_async())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._on_thread(self.stop_async())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_THREAD_TIMEOUT_S)
            loop.close()
            self._loop, self._thread = None, None

    def restart(self) -> None:
        """Stop and start again on the same port (on the thread)."""
        self._on_thread(self.restart_async())

    def __enter__(self) -> SftpSandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._cleanup()

    def _on_thread(self, coroutine: Any) -> None:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the SFTP sandbox thread is not running; call start() first")
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_THREAD_TIMEOUT_S)

    def _cleanup(self) -> None:
        tempdir, self._tempdir = self._tempdir, None
        if tempdir is not None:
            tempdir.cleanup()


class _MailboxServer(asyncssh.SSHServer):
    """Logs partners in by password or public key, and keeps track of connections so stop() can end them."""

    def __init__(self, sandbox: SftpSandbox) -> None:
        self._sandbox = sandbox
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        """Remember the connection."""
        self._connection = conn
        self._sandbox._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        if self._connection is not None:
            self._sandbox._connections.discard(self._connection)

    def begin_auth(self, username: str) -> bool:
        """Every login needs authentication, known user or not (so probing reveals nothing)."""
        return True

    def password_auth_supported(self) -> bool:
        """Passwords are accepted for users that have one."""
        return True

    def validate_password(self, username: str, password: str) -> bool:
        """True for the user's password."""
        user = self._sandbox.users.get(username)
        if user is None or user.password is None:
            return False
        return hmac.compare_digest(user.password.encode(), password.encode())

    def public_key_auth_supported(self) -> bool:
        """Public keys are accepted for users that list them."""
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """True for a key the user lists."""
        return any(key.public_data == known.public_data for known in self._sandbox._keys.get(username, ()))


class _MailboxFiles(asyncssh.SFTPServer):
    """The SFTP server of one session, chrooted to the user's home, with the sandbox's faults and counters."""

    def __init__(self, channel: Any, sandbox: SftpSandbox) -> None:
        username = str(channel.get_extra_info("username"))
        super().__init__(channel, chroot=os.fsencode(sandbox.home(username)))
        self._sandbox = sandbox

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        """Write, after the sandbox's write delay (so tests can watch a write in progress)."""
        self._sandbox.requests["write"] += 1
        if self._sandbox.write_delay_s:
            await asyncio.sleep(self._sandbox.write_delay_s)
        written = super().write(file_obj, offset, data)
        assert isinstance(written, int)
        return written

    def fsync(self, file_obj: object) -> None:
        """fsync@openssh.com, unless switched off."""
        if not self._sandbox.fsync_supported:
            raise asyncssh.SFTPOpUnsupported("fsync is switched off in this sandbox")
        self._sandbox.requests["fsync"] += 1
        super().fsync(file_obj)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        """posix-rename@openssh.com, unless switched off."""
        if not self._sandbox.posix_rename_supported:
            raise asyncssh.SFTPOpUnsupported("posix-rename is switched off in this sandbox")
        self._sandbox.requests["posix_rename"] += 1
        super().posix_rename(oldpath, newpath)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        """Plain SFTP rename: refuses to overwrite."""
        self._sandbox.requests["rename"] += 1
        super().rename(oldpath, newpath)
