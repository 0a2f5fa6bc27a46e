"""A partner's SFTP drop-box as the partner flows see it (the `PartnerMailbox` port)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from crossdock.connectors.sftp.client import SftpClient
from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.outbound import send
from crossdock.connectors.sftp.poller import FileVerdict, SftpMailboxPoller
from crossdock.ports.partners import AcceptFile, FileAttempts, InboundVerdict, StreamedFiles


class SftpPartnerMailbox:
    """Sends into the partner's outbound folder; takes files from its inbound folder through the poller.

    `attempts` is where the poller counts failed attempts at a file (the store, for partners: the count survives a
    restart); without it they are counted in memory.
    """

    def __init__(self, settings: SftpMailboxSettings, *, system: str, attempts: FileAttempts | None = None) -> None:
        self.client = SftpClient(settings, system=system)
        self._attempts = attempts
        self._poller: SftpMailboxPoller | None = None
        self._callbacks: tuple[AcceptFile, StreamedFiles | None] | None = None

    async def send(self, name: str, content: bytes) -> str:
        """Write the file atomically into the outbound folder."""
        return await send(self.client, name, content)

    async def take(self, accept: AcceptFile, streamed: StreamedFiles | None = None) -> int:
        """One poll of the inbound folder; files move on only after `accept` (or `streamed.accept`) answered."""
        # Compared by equality: a bound method is a new object at each access, but equal to the last one.
        if self._poller is None or self._callbacks != (accept, streamed):
            self._callbacks = (accept, streamed)
            self._poller = self._make_poller(accept, streamed)
        report = await self._poller.poll_once()
        return len(report.processed) + len(report.failed)

    def _make_poller(self, accept: AcceptFile, streamed: StreamedFiles | None) -> SftpMailboxPoller:
        async def verdict(name: str, content: bytes) -> FileVerdict:
            return _verdict(await accept(name, content))

        if streamed is None:
            return SftpMailboxPoller(self.client, verdict, attempts=self._attempts)
        accept_stream = streamed.accept

        async def stream_verdict(name: str, chunks: AsyncIterator[bytes]) -> FileVerdict:
            return _verdict(await accept_stream(name, chunks))

        return SftpMailboxPoller(
            self.client, verdict, accept_stream=stream_verdict, streamed=streamed.wanted, attempts=self._attempts
        )

    async def close(self) -> None:
        """Disconnect."""
        await self.client.close()


def _verdict(answer: InboundVerdict) -> FileVerdict:
    return FileVerdict.logged() if answer.logged else FileVerdict.rejected(answer.reason or "refused")
