"""The trio SMTP submission client: authenticate and send.

Open one with :func:`open_smtp`; it greets, says EHLO, upgrades with STARTTLS when
asked (and says EHLO again), and on exit sends QUIT under a short shielded deadline.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

from .encode import (
    command,
    plain_initial_response,
    sasl_encode,
    xoauth2_initial_response,
)
from .errors import (
    SmtpAuthError,
    SmtpCommandError,
    SmtpConnectionLost,
    SmtpDeliveryUnknown,
    SmtpError,
    SmtpNotSupported,
    SmtpTimeout,
    SmtpTlsRequired,
)
from .replies import Reply
from .session import SmtpSession, log
from .transaction import PreparedMail, SendResult, all_refused, prepare_mail, sort_recipients
from .transport import SEND_CHUNK, SmtpParams, SmtpTransport, open_transport

__all__ = ["SmtpClient", "connect", "open_smtp", "start_session"]


class SmtpClient(SmtpSession):
    """One SMTP connection. Use :func:`open_smtp` to get one."""

    # --- authentication (RFC 4954) --------------------------------------------------------

    def _before_auth(self, mechanism: str) -> frozenset[str]:
        if not self.tls and not self.params.allow_plaintext:
            raise SmtpTlsRequired(
                f"refusing AUTH {mechanism} over an unencrypted connection to "
                f"{self.params.host}: use TLS or allow plaintext for this account")
        if self.authenticated:
            raise SmtpCommandError("already authenticated (RFC 4954 §4 allows one AUTH)")
        if "AUTH" not in self.extensions:
            raise SmtpNotSupported(f"{self.params.host} does not offer AUTH")
        return self.auth_mechanisms

    async def login(self, username: str, password: str) -> None:
        """AUTH PLAIN with an initial response (RFC 4616), else AUTH LOGIN, whichever
        the server offers. Raises :class:`SmtpAuthError` when refused."""
        with self._operation("AUTH"):
            offered = self._before_auth("PLAIN/LOGIN")
            if "PLAIN" in offered:
                reply = await self._auth_initial(
                    "PLAIN", plain_initial_response(username, password))
            elif "LOGIN" in offered:
                reply = await self._auth_login(username, password)
            else:
                raise SmtpNotSupported(
                    f"{self.params.host} offers neither AUTH PLAIN nor LOGIN "
                    f"(it offers: {' '.join(sorted(offered)) or 'nothing'})")
            self._auth_done("PLAIN" if "PLAIN" in offered else "LOGIN", reply)

    async def authenticate_xoauth2(self, username: str, token: str) -> None:
        """AUTH XOAUTH2 (Google / Microsoft OAuth 2.0 bearer token)."""
        with self._operation("AUTH"):
            offered = self._before_auth("XOAUTH2")
            if "XOAUTH2" not in offered:
                raise SmtpNotSupported(f"{self.params.host} does not offer AUTH XOAUTH2")
            reply = await self._auth_initial(
                "XOAUTH2", xoauth2_initial_response(username, token))
            self._auth_done("XOAUTH2", reply)

    async def _auth_initial(self, mechanism: str, initial: str) -> Reply:
        reply = await self._command(command("AUTH", f"{mechanism} {initial}"), "AUTH")
        if reply.code != 334:
            return reply
        # A challenge after a complete initial response is an error report: XOAUTH2
        # sends its JSON status and waits for an empty line; any other mechanism is
        # cancelled with "*" (RFC 4954 §4). Either way the final reply follows.
        challenge = _decode_challenge(reply.text)
        answer = b"\r\n" if mechanism == "XOAUTH2" else b"*\r\n"
        final = await self._command(answer, "AUTH")
        if not final.positive and challenge:
            final = Reply(final.code, (*final.lines, challenge), final.enhanced)
        return final

    async def _auth_login(self, username: str, password: str) -> Reply:
        """AUTH LOGIN: the server asks for the user name, then the password, each as a
        334 challenge; both answers are base64."""
        reply = await self._command(command("AUTH", "LOGIN"), "AUTH")
        for secret in (username, password):
            if reply.code != 334:
                return reply
            # Written directly: a secret must never reach a code path that could
            # quote it in an error message.
            answer = sasl_encode(secret.encode()).encode("ascii") + b"\r\n"
            reply = await self._command(answer, "AUTH")
        return reply

    def _auth_done(self, mechanism: str, reply: Reply) -> None:
        if reply.code != 235:
            raise SmtpAuthError("AUTH", reply.code, reply.text, reply.enhanced)
        self.authenticated = True
        log.info("smtp.authenticated", host=self.params.host, mechanism=mechanism)

    # --- sending (RFC 5321 §3.3) ----------------------------------------------------------

    async def send(self, sender: str, recipients: Sequence[str], message: bytes
                   ) -> SendResult:
        """Send one message. Some recipients refused: the rest get it and the refusals
        are in the result. All refused: :class:`SmtpRecipientsRefused`. Any other
        failure reply raises :class:`SmtpReplyError` with the server's words."""
        with self._operation("send"):
            mail = prepare_mail(sender, recipients, message, self.extensions,
                                self.max_size)
            if self.has("PIPELINING"):
                mail_reply, rcpt_replies, data_reply = await self._envelope_pipelined(mail)
            else:
                mail_reply, rcpt_replies, data_reply = await self._envelope_stepwise(mail)
            accepted, refused = sort_recipients(mail.recipients[:len(rcpt_replies)],
                                                rcpt_replies)
            if not (mail_reply.positive and accepted and data_reply is not None
                    and data_reply.code == 354):
                await self._abandon(mail_reply, data_reply)
                if not mail_reply.positive:
                    raise self._failure("MAIL", mail_reply)
                if not accepted:
                    raise all_refused(mail.recipients, rcpt_replies)
                assert data_reply is not None
                raise self._failure("DATA", data_reply)
            final = await self._transfer(mail)
            if not final.positive:
                raise self._failure("DATA", final)
            log.info("smtp.sent", host=self.params.host, accepted=len(accepted),
                     refused=len(refused), size=mail.payload.size)
            return SendResult(accepted, refused, final.text)

    async def _envelope_pipelined(self, mail: PreparedMail
                                  ) -> tuple[Reply, list[Reply], Reply | None]:
        """RFC 2920 §3.1: MAIL, every RCPT and DATA go in one write; the replies come
        back in the same order and are all read before deciding anything."""
        log.debug("smtp.command", verb="MAIL+RCPT+DATA", host=self.params.host,
                  recipients=len(mail.rcpt_lines))
        await self._transport.send(b"".join((mail.mail_line, *mail.rcpt_lines,
                                             command("DATA"))))
        mail_reply = await self._reply("MAIL")
        rcpt_replies = [await self._reply("RCPT") for _ in mail.rcpt_lines]
        return mail_reply, rcpt_replies, await self._reply("DATA")

    async def _envelope_stepwise(self, mail: PreparedMail
                                 ) -> tuple[Reply, list[Reply], Reply | None]:
        mail_reply = await self._command(mail.mail_line, "MAIL")
        if not mail_reply.positive:
            return mail_reply, [], None
        rcpt_replies = [await self._command(line, "RCPT") for line in mail.rcpt_lines]
        if not any(r.positive for r in rcpt_replies):
            return mail_reply, rcpt_replies, None
        return mail_reply, rcpt_replies, await self._command(command("DATA"), "DATA")

    async def _abandon(self, mail_reply: Reply, data_reply: Reply | None) -> None:
        """Leave a failed transaction so the connection can carry the next one. The
        failure that brought us here is what the caller needs to see, so a failure
        while leaving is not raised (a broken transport stays marked broken)."""
        with suppress(SmtpError):
            if data_reply is not None and data_reply.code == 354:
                # RFC 2920 §3.1: a server that takes DATA although the transaction
                # already failed gets an empty message, which it must then reject.
                await self._command(b".\r\n", "DATA")
            if mail_reply.positive:
                await self._rset()

    async def _transfer(self, mail: PreparedMail) -> Reply:
        """The message data after 354, then the server's verdict. A failure after the
        end marker started out cannot tell whether the server kept the message."""
        log.debug("smtp.command", verb="DATA-BODY", host=self.params.host,
                  size=mail.payload.size)
        data = memoryview(mail.payload.data)
        starts = range(0, len(data), SEND_CHUNK)  # never empty: the marker is there
        for start in starts[:-1]:
            await self._transport.send(bytes(data[start:start + SEND_CHUNK]))
        try:
            await self._transport.send(bytes(data[starts[-1]:]))
            return await self._reply("DATA")
        except (SmtpConnectionLost, SmtpTimeout) as exc:
            raise SmtpDeliveryUnknown(
                f"the connection to {self.params.host} failed after the whole message "
                f"was sent and before the server confirmed it ({exc}); it may or may "
                "not have been accepted") from exc


def _decode_challenge(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text


async def connect(params: SmtpParams) -> SmtpClient:
    """Open a connection, greet, EHLO, and (for ``starttls``) upgrade it. Prefer
    :func:`open_smtp`, which also closes it."""
    return await start_session(await open_transport(params), params)


async def start_session(transport: SmtpTransport, params: SmtpParams) -> SmtpClient:
    """Greet and secure a connection over an already open transport (any trio
    stream: also how tests drive the client over memory streams)."""
    client = SmtpClient(transport, params)
    try:
        await client._setup()
    except BaseException:
        await client.aclose()
        raise
    return client


@asynccontextmanager
async def open_smtp(params: SmtpParams) -> AsyncIterator[SmtpClient]:
    """``async with open_smtp(params) as client:`` — connected, EHLO done (and
    STARTTLS when asked), not yet authenticated; QUIT and closed on exit."""
    client = await connect(params)
    try:
        yield client
    finally:
        await client.aclose()
