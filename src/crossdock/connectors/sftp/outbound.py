"""Files Crossdock sends a partner: written into the outbound folder under a temporary name and renamed into place,
so the partner's poller never picks up half a file."""

from __future__ import annotations

import logging

from crossdock.connectors.sftp.client import SftpClient, check_file_name

logger = logging.getLogger(__name__)


async def send(client: SftpClient, name: str, content: bytes) -> str:
    """Write `content` as `name` in the partner's outbound folder, atomically; the final path on the server.

    Sending the same name again replaces the file, so a delivery repeated after a crash leaves one file. Name
    files after the business document (`INVOICE_4711.edi`), not after the attempt, so a repeat stays one file.
    """
    check_file_name(name)
    path = await client.write_atomic(client.settings.outbound_dir, name, content)
    logger.info("%s: sent %s (%d bytes)", client.where, path, len(content))
    return path
