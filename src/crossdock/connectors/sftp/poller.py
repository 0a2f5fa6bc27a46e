"""Polls one partner's inbound SFTP folder and hands each finished file to a callback that logs it.

The acknowledgement rule (invariant 1): a file leaves the inbound folder only after `accept` has answered that its
contents are durably in the log (the file moves to processed/) or durably recorded as rejected (failed/). A crash
between that answer and the move leaves the file where it was, and the next pass hands it to `accept` again. So
`accept` must be idempotent: derive event ids from partner + file name + content hash (uuid5 over them), and the
log drops the repeat as a duplicate.

No single file stops the poller: a file over its size limit, or one that `accept` keeps failing on (`max_attempts`,
counted per upload by a `FileAttempts`: in memory by default, in the store for partner mailboxes, so a restart does
not start the count again), goes to failed/ with a `<name>.error.txt` beside it saying why. Files still being
uploaded are left alone until their size and mtime hold still (`settle_s`, `take_older_than_s`).

Whole or streamed: a file is read whole (up to `max_file_size`) and handed to `accept(name, content)`, unless
`streamed(name)` says it is read as it downloads: then `accept_stream(name, chunks)` gets the file as an async
iterator of `chunk_size` chunks, up to `max_stream_size`, and memory does not grow with the file (partners' CSV
batches). A connection lost mid-stream ends the pass; the next pass streams the file again from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import posixpath
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from crossdock.connectors.sftp.client import RemoteFile, SftpClient
from crossdock.connectors.sftp.errors import (
    SftpError,
    SftpFileNotFoundError,
    SftpFileTooLargeError,
    SftpSetupError,
    SftpUnavailableError,
)
from crossdock.ports.partners import FileAttempts, FileKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """What `accept` made of a file: `logged()` (durably in the log) or `rejected(reason)` (durably recorded)."""

    outcome: Literal["logged", "rejected"]
    reason: str | None = None

    @classmethod
    def logged(cls) -> FileVerdict:
        """The file's contents are durably in the log: move it to processed/."""
        return cls("logged")

    @classmethod
    def rejected(cls, reason: str) -> FileVerdict:
        """The file was refused and that is durably recorded (an exception with the raw file): move it to failed/."""
        if not reason.strip():
            raise ValueError("a rejected file needs a reason; say what is wrong with it and what the partner should do")
        return cls("rejected", reason)


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A file the poller itself gives up on: too large, or `accept` kept failing; `content` is None if unread."""

    name: str
    reason: str
    size: int
    content: bytes | None


@dataclass(slots=True)
class PollReport:
    """What one pass did, by file name."""

    processed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    """`accept` or the read failed; the file stays in inbound for the next pass."""
    waiting: list[str] = field(default_factory=list)
    """Not yet settled: possibly still being uploaded."""
    vanished: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Bound for failed/, but `on_failed` could not record it; it stays in inbound until it can."""


AcceptFile = Callable[[str, bytes], Awaitable[FileVerdict]]
AcceptStream = Callable[[str, AsyncIterator[bytes]], Awaitable[FileVerdict]]
RecordFailure = Callable[[FailedFile], Awaitable[None]]


class MemoryFileAttempts:
    """Attempt counts in this process only: a restart starts them again (the default for a bare poller)."""

    def __init__(self) -> None:
        self._counts: dict[FileKey, tuple[int, str]] = {}

    async def attempts(self, file: FileKey) -> tuple[int, str]:
        """Failed attempts at the file so far, and the last reason."""
        return self._counts.get(file, (0, ""))

    async def failed(self, file: FileKey, reason: str) -> int:
        """Count a failed attempt."""
        attempts = self._counts.get(file, (0, ""))[0] + 1
        self._counts[file] = (attempts, reason)
        return attempts

    async def forget(self, file: FileKey) -> None:
        """Drop the file's count."""
        self._counts.pop(file, None)

    async def keep_only(self, present: Collection[FileKey]) -> None:
        """Drop the counts of files no longer listed."""
        self._counts = {key: value for key, value in self._counts.items() if key in present}


@dataclass(slots=True)
class _Sighting:
    size: int
    mtime: int
    since: float


class SftpMailboxPoller:
    """Takes settled files from a partner's inbound folder, oldest first, and files them as processed or failed.

    `accept(file_name, content)` must be idempotent (see the module docstring). `on_failed`, if given, is awaited
    before a file the poller gives up on is moved, so the failure is recorded (with the raw bytes, when read)
    before the file leaves inbound; if it raises, the file stays and the next pass tries again.
    """

    def __init__(
        self,
        client: SftpClient,
        accept: AcceptFile,
        *,
        on_failed: RecordFailure | None = None,
        accept_stream: AcceptStream | None = None,
        streamed: Callable[[str], bool] | None = None,
        attempts: FileAttempts | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if (accept_stream is None) != (streamed is None):
            raise ValueError("give accept_stream and streamed together: which files stream, and who reads them")
        self.client = client
        self.settings = client.settings
        self.passes = 0
        self._accept = accept
        self._accept_stream = accept_stream
        self._streamed = streamed or (lambda _name: False)
        self._on_failed = on_failed
        self._clock = clock
        self._wall_clock = wall_clock
        self._sightings: dict[str, _Sighting] = {}
        self._attempts: FileAttempts = attempts or MemoryFileAttempts()
        self._folders_ready = False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Poll every `poll_interval_s` until `stop` is set or the task is cancelled; no failure ends the loop."""
        stop = stop or asyncio.Event()
        interval = self.settings.poll_interval_s
        while not stop.is_set():
            try:
                await self.poll_once()
            except SftpSetupError as exc:
                logger.error("%s; polling again in %s s", exc, interval)
            except SftpError as exc:
                logger.warning("%s; polling again in %s s", exc, interval)
            except Exception:
                logger.exception("%s: a poll pass failed; polling again in %s s", self.client.where, interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def poll_once(self) -> PollReport:
        """One pass: list inbound, take each settled file; SftpUnavailableError ends the pass early."""
        self.passes += 1
        report = PollReport()
        if not self._folders_ready:
            await self.client.ensure_directory(self.settings.processed_dir)
            await self.client.ensure_directory(self.settings.failed_dir)
            self._folders_ready = True
        files = await self.client.list_inbound()
        await self._forget_gone(files)
        now = self._clock()
        for remote in files:
            if not self._settled(remote, now):
                report.waiting.append(remote.name)
                continue
            try:
                await self._take(remote, report)
            except SftpUnavailableError:
                raise  # every later file would fail the same way; the next pass reconnects
            except SftpFileNotFoundError:
                report.vanished.append(remote.name)
                logger.info("%s: %s disappeared before it was filed", self.client.where, remote.path)
            except SftpError as exc:
                report.retrying.append(remote.name)
                logger.warning("%s; %s stays in inbound and is tried again next pass", exc, remote.name)
            except Exception:
                report.retrying.append(remote.name)
                logger.exception("%s: filing %s failed; it stays in inbound", self.client.where, remote.name)
        return report

    async def _forget_gone(self, files: Sequence[RemoteFile]) -> None:
        names = {f.name for f in files}
        self._sightings = {name: seen for name, seen in self._sightings.items() if name in names}
        await self._attempts.keep_only({_key(f) for f in files})

    def _settled(self, remote: RemoteFile, now: float) -> bool:
        """True once the file's size and mtime held still for `settle_s` over two listings (or it is old enough)."""
        seen = self._sightings.get(remote.name)
        if seen is None or (seen.size, seen.mtime) != (remote.size, remote.mtime):
            self._sightings[remote.name] = _Sighting(remote.size, remote.mtime, now)
            older = self.settings.take_older_than_s
            return older is not None and self._wall_clock() - remote.mtime >= older
        return now - seen.since >= self.settings.settle_s

    async def _take(self, remote: RemoteFile, report: PollReport) -> None:
        if self._accept_stream is not None and self._streamed(remote.name):
            await self._take_streamed(remote, self._accept_stream, report)
            return
        limit = self.settings.max_file_size
        if remote.size > limit:
            reason = f"the file is {remote.size} bytes, over the limit of {limit} bytes (max_file_size)"
            await self._fail(remote, reason, None, report)
            return
        try:
            content = await self.client.read(remote.path, max_size=limit)
        except SftpFileTooLargeError as exc:
            reason = f"the file grew to over {exc.size} bytes while being read, past {limit} bytes (max_file_size)"
            await self._fail(remote, reason, None, report)
            return
        except (SftpUnavailableError, SftpFileNotFoundError):
            raise
        except SftpError as exc:
            await self._failed_attempt(remote, f"it could not be read: {exc}", None, report)
            return
        attempts, last_reason = await self._attempts.attempts(_key(remote))
        if attempts >= self.settings.max_attempts:
            # An earlier pass gave up, but on_failed could not record it then.
            await self._fail(remote, _gave_up(attempts, last_reason), content, report)
            return
        try:
            verdict = await self._accept(remote.name, content)
            if not isinstance(verdict, FileVerdict):
                raise TypeError(f"accept returned {verdict!r}; return FileVerdict.logged() or FileVerdict.rejected()")
        except Exception as exc:
            logger.exception("%s: accept failed for %s", self.client.where, remote.name)
            await self._failed_attempt(remote, f"accept raised {type(exc).__name__}: {exc}", content, report)
            return
        await self._file(remote, verdict, content, report)

    async def _take_streamed(self, remote: RemoteFile, accept: AcceptStream, report: PollReport) -> None:
        """Hand the file to `accept` as it downloads; the size limit is `max_stream_size`."""
        limit = self.settings.max_stream_size
        if remote.size > limit:
            reason = f"the file is {remote.size} bytes, over the limit of {limit} bytes (max_stream_size)"
            await self._fail(remote, reason, None, report)
            return
        attempts, last_reason = await self._attempts.attempts(_key(remote))
        if attempts >= self.settings.max_attempts:
            await self._fail(remote, _gave_up(attempts, last_reason), None, report)
            return
        try:
            # Closed however `accept` ends, so a reader that stops early does not leave the remote file open.
            async with contextlib.aclosing(self.client.read_chunks(remote.path)) as chunks:
                verdict = await accept(remote.name, chunks)
            if not isinstance(verdict, FileVerdict):
                raise TypeError(f"accept returned {verdict!r}; return FileVerdict.logged() or FileVerdict.rejected()")
        except (SftpUnavailableError, SftpFileNotFoundError):
            raise
        except SftpError as exc:
            await self._failed_attempt(remote, f"it could not be read: {exc}", None, report)
            return
        except Exception as exc:
            logger.exception("%s: accept failed for %s", self.client.where, remote.name)
            await self._failed_attempt(remote, f"accept raised {type(exc).__name__}: {exc}", None, report)
            return
        await self._file(remote, verdict, None, report)

    async def _file(self, remote: RemoteFile, verdict: FileVerdict, content: bytes | None, report: PollReport) -> None:
        """Move a file `accept` answered for: to processed/ when logged, to failed/ when rejected."""
        if verdict.outcome == "logged":
            target = await self.client.move(remote.path, self.settings.processed_dir)
            await self._filed(remote)
            report.processed.append(remote.name)
            logger.info("%s: %s logged and moved to %s", self.client.where, remote.name, target)
        else:
            # The callback recorded the rejection itself; the poller only files the file and the note.
            await self._fail(remote, f"rejected: {verdict.reason}", content, report, notify=False)

    async def _failed_attempt(self, remote: RemoteFile, reason: str, content: bytes | None, report: PollReport) -> None:
        attempts = await self._attempts.failed(_key(remote), reason)
        if attempts >= self.settings.max_attempts:
            await self._fail(remote, _gave_up(attempts, reason), content, report)
        else:
            report.retrying.append(remote.name)

    async def _fail(
        self,
        remote: RemoteFile,
        reason: str,
        content: bytes | None,
        report: PollReport,
        *,
        notify: bool = True,
    ) -> None:
        if notify and self._on_failed is not None:
            try:
                await self._on_failed(FailedFile(remote.name, reason, remote.size, content))
            except Exception:
                logger.exception(
                    "%s: could not record the failure of %s (%s); it stays in inbound until it can be recorded",
                    self.client.where,
                    remote.name,
                    reason,
                )
                report.held.append(remote.name)
                return
        target = await self.client.move(remote.path, self.settings.failed_dir)
        await self._filed(remote)
        report.failed.append(remote.name)
        logger.warning("%s: %s moved to %s: %s", self.client.where, remote.name, target, reason)
        # The note comes after the move: the reason is already recorded by accept or on_failed, and a note
        # without its file would point at nothing.
        note = _error_note(remote, reason, self._wall_clock())
        try:
            await self.client.write_atomic(self.settings.failed_dir, f"{posixpath.basename(target)}.error.txt", note)
        except SftpUnavailableError:
            raise
        except SftpError as exc:
            logger.warning("%s: could not write the error note for %s: %s", self.client.where, target, exc)

    async def _filed(self, remote: RemoteFile) -> None:
        # A new upload under the same name must settle again, and start with a fresh attempt count.
        self._sightings.pop(remote.name, None)
        await self._attempts.forget(_key(remote))


def _key(remote: RemoteFile) -> FileKey:
    return (remote.name, remote.size, remote.mtime)


def _gave_up(attempts: int, reason: str) -> str:
    return f"gave up after {attempts} failed attempts; the last: {reason}"


def _error_note(remote: RemoteFile, reason: str, now: float) -> bytes:
    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = [
        f"file: {remote.path}",
        f"size: {remote.size} bytes",
        f"modified: {stamp(remote.mtime)}",
        f"failed at: {stamp(now)}",
        f"reason: {reason}",
        "",
    ]
    return "\n".join(lines).encode("utf-8")
