"""What can go wrong talking to a partner's SFTP server, sorted by what to do about it."""

from __future__ import annotations

from crossdock.ports.connector import ConnectorError, ErrorKind


class SftpError(ConnectorError):
    """A failed SFTP operation; `kind` says whether to retry, wait or fix the setup."""

    def __init__(self, kind: ErrorKind, message: str, *, path: str | None = None) -> None:
        super().__init__(kind, message)
        self.path = path


class SftpUnavailableError(SftpError):
    """The server cannot be reached or the connection dropped: wait; the client reconnects with backoff."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(ErrorKind.DOWNSTREAM_OUTAGE, message, path=path)


class SftpSetupError(SftpError):
    """The mailbox is set up wrongly (egress, folders, permissions): a person must fix it; retrying will not help."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(ErrorKind.CONFIGURATION, message, path=path)


class SftpHostKeyError(SftpSetupError):
    """The server's host key is not the trusted one; `presented` is the fingerprint the server showed."""

    def __init__(self, message: str, *, presented: str | None) -> None:
        super().__init__(message)
        self.presented = presented


class SftpAuthError(SftpSetupError):
    """The server refused the login (user, password or key)."""


class SftpFileError(SftpError):
    """One file could not be read, moved or written; other files may well work."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(ErrorKind.TRANSIENT, message, path=path)


class SftpFileNotFoundError(SftpFileError):
    """The file is not there (any more): another process moved it, or the partner withdrew it."""


class SftpFileTooLargeError(SftpError):
    """The file is larger than `max_file_size`; it is not read."""

    def __init__(self, message: str, *, path: str, size: int) -> None:
        super().__init__(ErrorKind.DATA_QUALITY, message, path=path)
        self.size = size
