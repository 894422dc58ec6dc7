"""SMTP submission for Tidings: a sans-IO reply reader and a trio client.

``tidings.smtp`` imports nothing else of ours. Start with :func:`open_smtp`, or
:func:`send_with_retry` to send one message in one call.
"""

from __future__ import annotations

from .client import SmtpClient, connect, open_smtp, start_session
from .encode import Payload, data_payload
from .errors import (
    MessageTooLarge,
    SmtpAuthError,
    SmtpCommandError,
    SmtpConnectionLost,
    SmtpDeliveryUnknown,
    SmtpError,
    SmtpLimitExceeded,
    SmtpNotSupported,
    SmtpProtocolError,
    SmtpRecipientsRefused,
    SmtpReplyError,
    SmtpTimeout,
    SmtpTlsRequired,
)
from .replies import DEFAULT_REPLY_LIMITS, NEED_DATA, NeedData, Reply, ReplyLimits, ReplyReader
from .retry import backoff_delay, send_with_retry, verify_login
from .transaction import SendResult
from .transport import Security, SmtpParams

__all__ = [
    "DEFAULT_REPLY_LIMITS",
    "NEED_DATA",
    "MessageTooLarge",
    "NeedData",
    "Payload",
    "Reply",
    "ReplyLimits",
    "ReplyReader",
    "Security",
    "SendResult",
    "SmtpAuthError",
    "SmtpClient",
    "SmtpCommandError",
    "SmtpConnectionLost",
    "SmtpDeliveryUnknown",
    "SmtpError",
    "SmtpLimitExceeded",
    "SmtpNotSupported",
    "SmtpParams",
    "SmtpProtocolError",
    "SmtpRecipientsRefused",
    "SmtpReplyError",
    "SmtpTimeout",
    "SmtpTlsRequired",
    "backoff_delay",
    "connect",
    "data_payload",
    "open_smtp",
    "send_with_retry",
    "start_session",
    "verify_login",
]
