"""The one exception family of the SMTP layer.

Everything :mod:`tidings.smtp` raises derives from :class:`SmtpError`. A reply error
carries the server's own words (code, enhanced status code, text) so that a person can
act on it; whether it is worth retrying follows from the code's first digit
(RFC 5321 §4.2.1: 4yz transient, 5yz permanent).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "MessageTooLarge",
    "SmtpAuthError",
    "SmtpCommandError",
    "SmtpConnectionLost",
    "SmtpDeliveryUnknown",
    "SmtpError",
    "SmtpLimitExceeded",
    "SmtpNotSupported",
    "SmtpProtocolError",
    "SmtpRecipientsRefused",
    "SmtpReplyError",
    "SmtpTimeout",
    "SmtpTlsRequired",
]


class SmtpError(Exception):
    """Base of every error raised by :mod:`tidings.smtp`."""


class SmtpProtocolError(SmtpError):
    """The server sent bytes that are not a valid SMTP reply, or sent them out of turn.

    The connection cannot be trusted afterwards and is dropped.
    """


class SmtpLimitExceeded(SmtpProtocolError):
    """A hard limit against hostile servers (reply line length, lines per reply)."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        super().__init__(f"server exceeded {limit}: {value} > {maximum}")
        self.limit = limit
        self.value = value
        self.maximum = maximum


class SmtpConnectionLost(SmtpError):
    """The connection failed or closed before the exchange completed."""


class SmtpTimeout(SmtpError):
    """A network wait passed its deadline; the connection was dropped."""


class SmtpDeliveryUnknown(SmtpError):
    """The connection failed after the whole message, end marker included, was handed
    to the server and before its verdict arrived: the message may or may not have been
    accepted. Sending it again risks a duplicate, so this is never retried on its own
    (RFC 5321 §6.1 discusses the same window)."""


class SmtpTlsRequired(SmtpError):
    """TLS was asked for and cannot be had (no STARTTLS offered), or credentials would
    go over clear text without the account allowing it."""


class SmtpCommandError(SmtpError):
    """A command could not be sent as asked (CR/LF or NUL in an address, no recipients,
    the client already busy). Nothing was sent; the connection is still usable."""


class SmtpNotSupported(SmtpCommandError):
    """The server lacks an extension the request needs (AUTH mechanisms, SMTPUTF8 for
    non-ASCII addresses, 8BITMIME for an 8-bit message). Nothing was sent."""


class MessageTooLarge(SmtpError):
    """The message is larger than the server's declared SIZE limit (RFC 1870); it was
    refused before MAIL, so nothing was sent."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"message of {size} octets exceeds the server's limit of {limit}")
        self.size = size
        self.limit = limit


class SmtpReplyError(SmtpError):
    """The server answered a command with a failure reply.

    ``command`` is the verb that failed (``"MAIL"``, ``"RCPT"``, ``"DATA"``, ``"AUTH"``,
    ``"CONNECT"`` for the greeting...); ``enhanced`` is the RFC 3463 status code
    (``"5.7.8"``) when the server gave one.
    """

    def __init__(self, command: str, code: int, text: str, enhanced: str | None = None) -> None:
        shown = f"{code} {enhanced} {text}" if enhanced else f"{code} {text}"
        super().__init__(f"{command} failed: {shown}")
        self.command = command
        self.code = code
        self.enhanced = enhanced
        self.text = text

    @property
    def permanent(self) -> bool:
        """5yz: sending the same thing again will fail the same way."""
        return 500 <= self.code < 600

    @property
    def transient(self) -> bool:
        """4yz: the same command may succeed later."""
        return 400 <= self.code < 500


class SmtpAuthError(SmtpReplyError):
    """Authentication was refused (535 bad credentials, 534 app password or web login
    needed, 454 temporary failure...)."""


class SmtpRecipientsRefused(SmtpReplyError):
    """Every recipient was refused. ``refused`` maps each address to its
    ``(code, text)``; the error's own code, text and enhanced code are those of the
    first permanent refusal (so the error is transient only when every refusal was)."""

    def __init__(self, refused: Mapping[str, tuple[int, str]], code: int, text: str,
                 enhanced: str | None = None) -> None:
        super().__init__("RCPT", code, text, enhanced)
        self.refused: dict[str, tuple[int, str]] = dict(refused)
