"""One-call sending with retries, and a credentials check.

Retried: transient failure replies (4yz, RFC 5321 §4.2.1), lost connections and
timeouts before the message was handed over. Raised at once: permanent replies (5yz)
with the server's text, requests the server cannot take, and
:class:`SmtpDeliveryUnknown` (retrying it could deliver the message twice).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import trio

from .client import SmtpClient, open_smtp
from .errors import SmtpConnectionLost, SmtpError, SmtpReplyError, SmtpTimeout
from .session import log
from .transaction import SendResult
from .transport import SmtpParams

__all__ = ["Connector", "backoff_delay", "send_with_retry", "verify_login"]

Connector = Callable[[SmtpParams], AbstractAsyncContextManager[SmtpClient]]


def backoff_delay(attempt: int, base_delay: float) -> float:
    """Exponential backoff with jitter: attempt 1 waits between ``base_delay / 2`` and
    ``base_delay``, each later attempt twice as long. The jitter keeps many senders
    that failed together from retrying together."""
    ceiling: float = base_delay * 2.0 ** (attempt - 1)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retryable(exc: SmtpError) -> bool:
    if isinstance(exc, SmtpReplyError):
        return exc.transient
    return isinstance(exc, SmtpConnectionLost | SmtpTimeout)


async def send_with_retry(params: SmtpParams, username: str, password: str, sender: str,
                          recipients: Sequence[str], message: bytes, *, attempts: int = 3,
                          base_delay: float = 1.0, connect: Connector = open_smtp
                          ) -> SendResult:
    """Connect, authenticate (unless ``username`` is empty), send, QUIT; a new
    connection for each attempt. The last failure is raised as it is."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            async with connect(params) as client:
                if username:
                    await client.login(username, password)
                return await client.send(sender, recipients, message)
        except SmtpError as exc:
            if attempt == attempts or not _retryable(exc):
                raise
            delay = backoff_delay(attempt, base_delay)
            log.warning("smtp.send_retry", host=params.host, attempt=attempt,
                        error=type(exc).__name__, code=getattr(exc, "code", None),
                        delay=round(delay, 3))
        await trio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def verify_login(params: SmtpParams, username: str, password: str, *,
                       connect: Connector = open_smtp) -> None:
    """Connect, authenticate and QUIT: proves that the credentials work before they
    are stored. Raises :class:`SmtpAuthError` when the server refuses them."""
    async with connect(params) as client:
        await client.login(username, password)
