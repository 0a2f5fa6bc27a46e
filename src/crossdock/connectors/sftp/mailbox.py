"""A partner's SFTP drop-box as the partner flows see it (the `PartnerMailbox` port)."""

from __future__ import annotations

from crossdock.connectors.sftp.client import SftpClient
from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.outbound import send
from crossdock.connectors.sftp.poller import FileVerdict, SftpMailboxPoller
from crossdock.ports.partners import AcceptFile


class SftpPartnerMailbox:
    """Sends into the partner's outbound folder; takes files from its inbound folder through the poller."""

    def __init__(self, settings: SftpMailboxSettings, *, system: str) -> None:
        self.client = SftpClient(settings, system=system)
        self._poller: SftpMailboxPoller | None = None
        self._accept: AcceptFile | None = None

    async def send(self, name: str, content: bytes) -> str:
        """Write the file atomically into the outbound folder."""
        return await send(self.client, name, content)

    async def take(self, accept: AcceptFile) -> int:
        """One poll of the inbound folder; files move on only after `accept` answered."""
        if self._poller is None or self._accept is not accept:
            self._accept = accept

            async def verdict(name: str, content: bytes) -> FileVerdict:
                answer = await accept(name, content)
                return FileVerdict.logged() if answer.logged else FileVerdict.rejected(answer.reason or "refused")

            self._poller = SftpMailboxPoller(self.client, verdict)
        report = await self._poller.poll_once()
        return len(report.processed) + len(report.failed)

    async def close(self) -> None:
        """Disconnect."""
        await self.client.close()
