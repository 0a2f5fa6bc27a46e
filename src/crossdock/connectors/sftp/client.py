"""One partner's SFTP mailbox over asyncssh: listings, reads, moves that never overwrite, atomic writes, reconnects
with backoff, and errors sorted into the connector taxonomy (opening the session is `connection.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import posixpath
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar, cast

import asyncssh

from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.connection import describe_failure, open_session
from crossdock.connectors.sftp.errors import (
    SftpError,
    SftpFileError,
    SftpFileNotFoundError,
    SftpFileTooLargeError,
    SftpSetupError,
    SftpUnavailableError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A request that fails this way leaves the connection in an unknown state: drop it and connect again.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
    asyncssh.DisconnectError,
    asyncssh.ChannelOpenError,
    OSError,
    TimeoutError,
)
_SFTP_FAILURES: tuple[type[BaseException], ...] = (*_CONNECTION_LOST, asyncssh.SFTPError)
_MAX_COLLISION_NAMES = 100


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A regular file on the server: its name, full path, size in bytes and modification time (epoch seconds)."""

    name: str
    path: str
    size: int
    mtime: int


def temp_name(name: str) -> str:
    """The name a file is written under before it is renamed into place: hidden, and ending in `.part`."""
    return f".{name}.part"


def check_file_name(name: str) -> None:
    """Raise ValueError unless `name` is a plain file name that partners' pollers will see."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"{name!r} is not a plain file name; give a name without folders, e.g. ORDERS_4711.edi")
    if name.startswith("."):
        raise ValueError(f"{name!r} starts with a dot, so most pollers would ignore it; give a visible name")


def collision_names(name: str, stamp: str) -> Iterator[str]:
    """`name`, then `stem-<stamp>.ext`, then `stem-<stamp>-2.ext` and so on, for a target that is already taken."""
    stem, ext = posixpath.splitext(name)
    yield name
    yield f"{stem}-{stamp}{ext}"
    for counter in range(2, _MAX_COLLISION_NAMES):
        yield f"{stem}-{stamp}-{counter}{ext}"


class SftpClient:
    """A connection to one partner's SFTP server, opened on first use and opened again after it drops.

    `connects` counts logins; `server_host_key` is the SHA256 fingerprint of the connected server's host key.
    """

    def __init__(self, settings: SftpMailboxSettings, *, system: str = "sftp") -> None:
        self.settings = settings
        self.system = system
        self.where = f"{system} (sftp://{settings.username}@{settings.host}:{settings.port})"
        self.connects = 0
        self.server_host_key: str | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()
        self._fsync_supported: bool | None = None

    async def __aenter__(self) -> SftpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect and log in now (operations also connect on demand); setup errors are raised at once."""
        await self._session()

    async def close(self) -> None:
        """Close the SFTP session and the connection."""
        sftp, conn = self._sftp, self._conn
        self._sftp, self._conn = None, None
        if sftp is not None:
            sftp.exit()
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()

    def abort(self) -> None:
        """Drop the connection at once, without closing anything on the server (as a crashed process would)."""
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.abort()

    # -- listing and reading -------------------------------------------------------------------------------------

    async def list_files(self, directory: str, *, glob: str = "*", ignore: Sequence[str] = ()) -> list[RemoteFile]:
        """Regular files in `directory` whose names match `glob` and none of `ignore`, by mtime and then name."""
        try:
            entries = await self._run("list", directory, lambda sftp: self._timed(sftp.readdir(directory)))
        except SftpFileNotFoundError:
            raise SftpSetupError(
                f"{self.where}: the folder {directory} does not exist on the server; ask the partner to create it, "
                "or correct the folder in this system's settings",
                path=directory,
            ) from None
        files = []
        for entry in entries:
            name = str(entry.filename)
            attrs = entry.attrs
            if attrs.type not in (asyncssh.FILEXFER_TYPE_REGULAR, asyncssh.FILEXFER_TYPE_UNKNOWN):
                continue  # folders, and symlinks that could lead outside the mailbox
            if not fnmatch.fnmatchcase(name, glob) or any(fnmatch.fnmatchcase(name, p) for p in ignore):
                continue
            path = posixpath.join(directory, name)
            files.append(RemoteFile(name, path, int(attrs.size or 0), int(attrs.mtime or 0)))
        files.sort(key=lambda f: (f.mtime, f.name))
        return files

    async def list_inbound(self) -> list[RemoteFile]:
        """Files waiting in the inbound folder that match the settings' glob, oldest first."""
        s = self.settings
        return await self.list_files(s.inbound_dir, glob=s.file_glob, ignore=s.ignore_globs)

    async def stat(self, path: str) -> RemoteFile | None:
        """The file at `path`, or None when there is none."""
        try:
            attrs = await self._run("stat", path, lambda sftp: self._timed(sftp.stat(path)))
        except SftpFileNotFoundError:
            return None
        return RemoteFile(posixpath.basename(path), path, int(attrs.size or 0), int(attrs.mtime or 0))

    async def exists(self, path: str) -> bool:
        """True when something exists at `path`."""
        return await self.stat(path) is not None

    async def read(self, path: str, *, max_size: int | None = None) -> bytes:
        """The whole file; SftpFileTooLargeError as soon as it passes `max_size` bytes."""

        async def read_all(sftp: asyncssh.SFTPClient) -> bytes:
            chunks: list[bytes] = []
            total = 0
            async with await self._timed(sftp.open(path, "rb", encoding=None)) as handle:
                while chunk := cast(bytes, await self._timed(handle.read(self.settings.chunk_size))):
                    total += len(chunk)
                    if max_size is not None and total > max_size:
                        raise SftpFileTooLargeError(
                            f"{self.where}: {path} is over {max_size} bytes, the limit set by max_file_size",
                            path=path,
                            size=total,
                        )
                    chunks.append(chunk)
            return b"".join(chunks)

        return await self._run("read", path, read_all)

    async def read_chunks(self, path: str, *, chunk_size: int | None = None) -> AsyncGenerator[bytes, None]:
        """The file in chunks of up to `chunk_size` bytes; a dropped connection ends it with SftpUnavailableError."""
        size = chunk_size or self.settings.chunk_size
        sftp = await self._session()
        try:
            async with await self._timed(sftp.open(path, "rb", encoding=None)) as handle:
                while chunk := cast(bytes, await self._timed(handle.read(size))):
                    yield chunk
        except _SFTP_FAILURES as exc:
            if isinstance(exc, _CONNECTION_LOST):
                self._forget(sftp)
            raise self._translate(exc, "read", path) from exc

    # -- changing ------------------------------------------------------------------------------------------------

    async def move(self, path: str, directory: str) -> str:
        """Move a file into `directory` under its own name, or a timestamped one if that is taken; the new path."""
        name = posixpath.basename(path)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for candidate in collision_names(name, stamp):
            target = posixpath.join(directory, candidate)
            if await self.exists(target):
                continue

            async def rename(sftp: asyncssh.SFTPClient, target: str = target) -> None:
                # Plain SFTP rename, never posix-rename: the server refuses to overwrite, so a file is never lost.
                await self._timed(sftp.rename(path, target))

            try:
                await self._run("move", path, rename, idempotent=False)
            except SftpFileNotFoundError:
                raise
            except SftpFileError:
                if not await self.exists(target):
                    raise
                continue  # another file took the name between the check and the rename
            return target
        raise SftpFileError(
            f"{self.where}: {directory} already holds {_MAX_COLLISION_NAMES} files named like {name}; "
            "archive or clear that folder",
            path=path,
        )

    async def write_atomic(self, directory: str, name: str, content: bytes) -> str:
        """Write `content` as `directory/name` so that readers see the whole file or none; the final path.

        The bytes go to a hidden `.name.part` first, are fsynced where the server offers it, and are then renamed
        into place (replacing an older file of that name). An interrupted write leaves only the `.part` file.
        """
        check_file_name(name)
        final = posixpath.join(directory, name)
        temp = posixpath.join(directory, temp_name(name))
        chunk = self.settings.chunk_size

        async def write(sftp: asyncssh.SFTPClient) -> None:
            async with await self._timed(sftp.open(temp, "wb", encoding=None)) as handle:
                for offset in range(0, len(content), chunk):
                    await self._timed(handle.write(content[offset : offset + chunk], offset))
                await self._fsync(handle)
            await self._replace(sftp, temp, final)

        try:
            # Repeating the whole write after a reconnect is safe: the temporary file is truncated and rewritten.
            await self._run("write", final, write)
        except SftpUnavailableError:
            raise
        except SftpError:
            with contextlib.suppress(SftpError):
                await self.remove(temp)
            raise
        return final

    async def remove(self, path: str) -> None:
        """Delete the file at `path`."""
        await self._run("remove", path, lambda sftp: self._timed(sftp.remove(path)))

    async def ensure_directory(self, path: str) -> None:
        """Create the folder `path` (and its parents) unless it exists."""

        async def make(sftp: asyncssh.SFTPClient) -> None:
            if not await self._timed(sftp.isdir(path)):
                await self._timed(sftp.makedirs(path, exist_ok=True))

        await self._run("create the folder", path, make)

    # -- the connection ------------------------------------------------------------------------------------------

    async def _session(self) -> asyncssh.SFTPClient:
        if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
            return self._sftp
        async with self._lock:
            if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
                return self._sftp
            self.abort()
            await self._connect_with_backoff()
            assert self._sftp is not None
            return self._sftp

    async def _connect_with_backoff(self) -> None:
        s = self.settings
        delay = s.reconnect_backoff_s
        for attempt in range(1, s.reconnect_attempts + 1):
            try:
                await self._open()
                return
            except SftpUnavailableError as exc:
                if attempt == s.reconnect_attempts:
                    raise
                logger.warning("%s; retrying in %.1f s (attempt %d of %d)", exc, delay, attempt, s.reconnect_attempts)
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.reconnect_backoff_max_s)

    async def _open(self) -> None:
        session = await open_session(self.settings, system=self.system, where=self.where)
        self._conn, self._sftp = session.connection, session.sftp
        self.server_host_key = session.host_key
        self._fsync_supported = None
        self.connects += 1
        logger.info("%s: connected, host key %s", self.where, self.server_host_key)

    async def _run(
        self,
        action: str,
        path: str,
        op: Callable[[asyncssh.SFTPClient], Awaitable[T]],
        *,
        idempotent: bool = True,
    ) -> T:
        """Run `op` on a live session; after a dropped connection, reconnect and run it once more if idempotent."""
        attempt = 1
        while True:
            sftp = await self._session()
            try:
                return await op(sftp)
            except _CONNECTION_LOST as exc:
                self._forget(sftp)
                if attempt >= 2 or not idempotent:
                    raise self._translate(exc, action, path) from exc
                logger.info("%s: connection lost during %s %s (%s); reconnecting", self.where, action, path, exc)
                attempt += 1
            except asyncssh.SFTPError as exc:
                raise self._translate(exc, action, path) from exc

    def _forget(self, sftp: asyncssh.SFTPClient) -> None:
        # Only the connection that failed: another call may already have replaced it with a live one.
        if self._sftp is sftp:
            self.abort()

    def _translate(self, exc: BaseException, action: str, path: str) -> SftpError:
        where = self.where
        if isinstance(exc, TimeoutError):
            return SftpUnavailableError(
                f"{where}: no answer within {self.settings.op_timeout_s} s while trying to {action} {path}; "
                "the connection was dropped and is opened again on the next call (raise op_timeout_s for a slow "
                "server)",
                path=path,
            )
        if isinstance(exc, _CONNECTION_LOST):
            return SftpUnavailableError(
                f"{where}: the connection was lost while trying to {action} {path} ({describe_failure(exc)}); it is "
                "opened again on the next call",
                path=path,
            )
        if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
            return SftpFileNotFoundError(f"{where}: {path} does not exist on the server", path=path)
        if isinstance(exc, asyncssh.SFTPPermissionDenied | asyncssh.SFTPWriteProtect):
            return SftpSetupError(
                f"{where}: the server does not let {self.settings.username!r} {action} {path}; ask the partner to "
                "grant read and write rights on the mailbox folders",
                path=path,
            )
        if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
            return SftpUnavailableError(
                f"{where}: the server's disk or quota is full ({describe_failure(exc)}); ask the partner to free space",
                path=path,
            )
        return SftpFileError(f"{where}: could not {action} {path} ({describe_failure(exc)})", path=path)

    async def _timed(self, awaitable: Awaitable[T]) -> T:
        """One request, bounded by op_timeout_s (a hung server must not hang the poller)."""
        return await asyncio.wait_for(awaitable, self.settings.op_timeout_s)

    async def _fsync(self, handle: asyncssh.SFTPClientFile) -> None:
        if self._fsync_supported is False:
            return
        try:
            await self._timed(handle.fsync())
            self._fsync_supported = True
        except asyncssh.SFTPOpUnsupported:
            self._fsync_supported = False
            logger.info("%s: the server offers no fsync; files are renamed into place without it", self.where)

    async def _replace(self, sftp: asyncssh.SFTPClient, temp: str, final: str) -> None:
        try:
            await self._timed(sftp.posix_rename(temp, final))
        except asyncssh.SFTPOpUnsupported:
            # Plain SFTP rename refuses an existing target, so remove it first: a reader may briefly find no file,
            # never a partial one.
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await self._timed(sftp.remove(final))
            await self._timed(sftp.rename(temp, final))
