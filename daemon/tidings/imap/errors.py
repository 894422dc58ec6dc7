"""The one exception family of the IMAP layer.

Everything the IMAP layer raises derives from :class:`ImapError`. Errors carry what a
person needs to act: the server's response code and text, or the limit that was hit.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CommandError",
    "ConnectionLost",
    "ImapError",
    "ImapTimeout",
    "LimitExceeded",
    "ProtocolError",
    "ServerBad",
    "ServerBye",
    "ServerNo",
    "ServerResponseError",
    "TlsRequired",
]


class ImapError(Exception):
    """Base of every error raised by :mod:`tidings.imap`."""


class ProtocolError(ImapError):
    """The server sent bytes that are not valid IMAP (or that we refuse to accept).

    The connection cannot be trusted afterwards and must be dropped.
    """


class LimitExceeded(ProtocolError):
    """A hard limit (line length, literal size, nesting depth...) was exceeded."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        super().__init__(f"server exceeded {limit}: {value} > {maximum}")
        self.limit = limit
        self.value = value
        self.maximum = maximum


class ServerResponseError(ImapError):
    """A tagged NO or BAD. ``code`` is the response code atom (``"LIMIT"``...) or None."""

    def __init__(self, command: str, code: str | None, text: str) -> None:
        shown = f"[{code}] {text}" if code else text
        super().__init__(f"{command} failed: {shown}")
        self.command = command
        self.code = code
        self.text = text


class ServerNo(ServerResponseError):
    """The server answered NO (the command failed; the connection is still usable)."""


class ServerBad(ServerResponseError):
    """The server answered BAD (it did not understand the command)."""


class AuthError(ServerNo):
    """Login was refused (wrong credentials, account disabled, app password needed)."""


class ServerBye(ImapError):
    """The server closed the session with BYE (shutdown, idle timeout, throttling)."""

    def __init__(self, code: str | None, text: str) -> None:
        super().__init__(f"server said BYE: {f'[{code}] ' if code else ''}{text}")
        self.code = code
        self.text = text


class ConnectionLost(ImapError):
    """The transport closed or failed before the exchange completed."""


class ImapTimeout(ImapError):
    """A network wait passed its deadline."""


class TlsRequired(ImapError):
    """The connection would send credentials in clear text and the grant does not allow it."""


class CommandError(ImapError):
    """A command could not be sent as asked: an invalid argument (NUL, a CR/LF in a
    flag), a feature the server lacks, or misuse of the client. Nothing was sent."""
