"""Partner mailboxes over SFTP (asyncssh): poll an inbound folder into the log, write outbound files atomically."""

from crossdock.connectors.sftp.client import RemoteFile, SftpClient
from crossdock.connectors.sftp.config import SftpMailboxSettings
from crossdock.connectors.sftp.errors import (
    SftpAuthError,
    SftpError,
    SftpFileError,
    SftpFileNotFoundError,
    SftpFileTooLargeError,
    SftpHostKeyError,
    SftpSetupError,
    SftpUnavailableError,
)
from crossdock.connectors.sftp.outbound import send
from crossdock.connectors.sftp.poller import FailedFile, FileVerdict, PollReport, SftpMailboxPoller

__all__ = [
    "FailedFile",
    "FileVerdict",
    "PollReport",
    "RemoteFile",
    "SftpAuthError",
    "SftpClient",
    "SftpError",
    "SftpFileError",
    "SftpFileNotFoundError",
    "SftpFileTooLargeError",
    "SftpHostKeyError",
    "SftpMailboxPoller",
    "SftpMailboxSettings",
    "SftpSetupError",
    "SftpUnavailableError",
    "send",
]
