"""A real SMTP submission server for tests, built on aiosmtpd.

It runs its own asyncio loop in a background thread and listens on 127.0.0.1 twice:
``port`` (clear text with STARTTLS) and ``tls_port`` (implicit TLS), both with the
Dovecot fixture's certificate. It offers PIPELINING, SIZE, 8BITMIME and SMTPUTF8,
requires AUTH (PLAIN or LOGIN, only over TLS) checked against the Dovecot users, and
hands each accepted message to Dovecot's LMTP for every recipient whose local part is
a Dovecot user (``bob@example.org`` → user ``bob``), before it answers 250: once the
client has its reply, the message is in the INBOX.

Knobs for failure tests: :meth:`SmtpServer.fail_next`, :attr:`SmtpServer.max_size`;
records: :attr:`SmtpServer.received`, :attr:`SmtpServer.connections`,
:attr:`SmtpServer.data_commands`. The fixture is shared by the whole run: a test that
turns a knob calls :meth:`SmtpServer.reset` when done.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import smtplib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from aiosmtpd.smtp import Envelope as AioEnvelope
from aiosmtpd.smtp import Session as AioSession

from tests.support.dovecot import Dovecot
from tidings.smtp import Security, SmtpParams

__all__ = ["DEFAULT_MAX_SIZE", "Envelope", "SmtpServer", "smtp_server"]

DEFAULT_MAX_SIZE = 25 * 1024 * 1024
Stage = Literal["MAIL", "RCPT", "DATA"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message the server accepted: envelope addresses, MAIL parameters as the
    client sent them (upper-cased by aiosmtpd), and the data with dot-stuffing undone."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()


class _CountingSMTP(SMTP):
    """aiosmtpd's protocol, counting DATA commands (it has no hook for the command
    itself, only for the finished message)."""

    def __init__(self, owner: SmtpServer, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._owner = owner

    async def smtp_DATA(self, arg: str) -> None:
        self._owner.data_commands += 1
        await super().smtp_DATA(arg)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def handle_EHLO(self, server: SMTP, session: AioSession, envelope: AioEnvelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        # aiosmtpd reads pipelined commands in order but does not say so (RFC 2920).
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: AioSession, envelope: AioEnvelope,
                          address: str, mail_options: list[str]) -> str:
        failure = self._owner._take_failure("MAIL")
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: AioSession, envelope: AioEnvelope,
                          address: str, rcpt_options: list[str]) -> str:
        failure = self._owner._take_failure("RCPT")
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: AioSession,
                          envelope: AioEnvelope) -> str:
        failure = self._owner._take_failure("DATA")
        if failure is not None:
            return failure
        content = envelope.original_content or b""
        record = Envelope(envelope.mail_from or "", tuple(envelope.rcpt_tos), content,
                          tuple(envelope.mail_options))
        self._owner.received.append(record)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, partial(self._owner._deliver, record))
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            return f"451 4.3.0 local delivery failed: {exc}"
        return f"250 2.0.0 OK queued as T{next(self._owner._queue_ids)}"


class SmtpServer:
    """See the module docstring. ``port=0`` picks a free port."""

    host = "127.0.0.1"

    def __init__(self, dovecot: Dovecot, *, port: int = 0) -> None:
        self.dovecot = dovecot
        self.port = port
        self.tls_port = 0
        self.max_size: int | None = DEFAULT_MAX_SIZE
        """SIZE for connections opened from now on; None: no SIZE, no limit."""
        self.received: list[Envelope] = []
        self.connections = 0
        self.data_commands = 0
        self._failures: list[tuple[Stage, str]] = []
        self._lock = threading.Lock()
        self._queue_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._protocols: list[SMTP] = []

    # --- knobs and records ------------------------------------------------------------------

    def fail_next(self, code: int, text: str, stage: Stage) -> None:
        """The next ``stage`` command (MAIL, RCPT, or the end of DATA) gets this reply
        instead of being processed; queued failures are used one per command."""
        with self._lock:
            self._failures.append((stage, f"{code} {text}"))

    def _take_failure(self, stage: Stage) -> str | None:
        with self._lock:
            for index, (wanted, reply) in enumerate(self._failures):
                if wanted == stage:
                    del self._failures[index]
                    return reply
        return None

    def reset(self) -> None:
        """Forget queued failures and restore the default SIZE."""
        with self._lock:
            self._failures.clear()
        self.max_size = DEFAULT_MAX_SIZE

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the server's certificate."""
        return self.dovecot.ssl_context()

    def params(self, security: Security = "tls", **overrides: Any) -> SmtpParams:
        """Client parameters for this server (``tls`` → ``tls_port``, else ``port``)."""
        fields: dict[str, Any] = {
            "host": self.host,
            "port": self.tls_port if security == "tls" else self.port,
            "security": security,
            "ssl_context": self.ssl_context(),
            "server_hostname": "localhost",
            "allow_plaintext": security == "plain",
            "timeout": 20.0,
        }
        fields.update(overrides)
        return SmtpParams(**fields)

    # --- users and delivery -----------------------------------------------------------------

    def _users(self) -> dict[str, str]:
        """Dovecot's passwd-file: ``name:{PLAIN}password`` per line."""
        users: dict[str, str] = {}
        for line in self.dovecot.users_path.read_text().splitlines():
            name, _, rest = line.partition(":")
            if rest.startswith("{PLAIN}"):
                users[name] = rest.removeprefix("{PLAIN}").split(":", 1)[0]
        return users

    def _authenticate(self, server: SMTP, session: AioSession, envelope: AioEnvelope,
                      mechanism: str, auth_data: object) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self._users().get(login) == password
        return AuthResult(success=ok, handled=False)

    def _deliver(self, record: Envelope) -> None:
        """LMTP to Dovecot, by local part (its passwd-file knows bare user names).

        One transaction per recipient: LMTP answers DATA once per recipient
        (RFC 2033 §4.2), and smtplib reads only one reply.
        """
        users = self._users()
        local = [r.rsplit("@", 1)[0] for r in record.recipients]
        local = [name for name in dict.fromkeys(local) if name in users]
        if not local:
            return
        with smtplib.LMTP(self.dovecot.host, self.dovecot.lmtp_port, timeout=30) as lmtp:
            lmtp.ehlo("smtp.test")
            options = []
            if any(b >= 0x80 for b in record.data) and lmtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            sender = record.sender
            if not sender.isascii():
                if lmtp.has_extn("smtputf8"):
                    options.append("SMTPUTF8")
                else:
                    # This Dovecot's LMTP takes no UTF-8 return path; the message
                    # itself is unchanged, the recorded envelope keeps the sender.
                    sender = ""
            for name in local:
                lmtp.sendmail(sender, [name], record.data, mail_options=options)

    # --- lifecycle ----------------------------------------------------------------------

    def _protocol(self, loop: asyncio.AbstractEventLoop, tls_context: ssl.SSLContext | None,
                  implicit_tls: bool) -> SMTP:
        self.connections += 1
        protocol = _CountingSMTP(
            self, _Handler(self), loop=loop, hostname="localhost", ident="tidings-test",
            data_size_limit=self.max_size or 0, enable_SMTPUTF8=True,
            tls_context=tls_context, auth_required=True, auth_require_tls=True,
            authenticator=self._authenticate)
        if implicit_tls:
            # aiosmtpd only knows TLS begun by STARTTLS and warns about AUTH without
            # TLS when told otherwise in its constructor; on this listener every
            # connection is encrypted before the first byte.
            protocol._auth_require_tls = False
        self._protocols = [p for p in self._protocols if p.transport is not None]
        self._protocols.append(protocol)
        return protocol

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.dovecot.cert_path, self.dovecot.root / "key.pem")
            plain = loop.run_until_complete(loop.create_server(
                partial(self._protocol, loop, context, False), self.host, self.port))
            tls = loop.run_until_complete(loop.create_server(
                partial(self._protocol, loop, None, True), self.host, 0, ssl=context))
            self.port = plain.sockets[0].getsockname()[1]
            self.tls_port = tls.sockets[0].getsockname()[1]
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown(plain, tls))
            loop.close()

    async def _shutdown(self, *servers: asyncio.Server) -> None:
        for server in servers:
            server.close()
        for protocol in self._protocols:
            if protocol.transport is not None:
                protocol.transport.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        await asyncio.get_running_loop().shutdown_default_executor()

    def start(self) -> None:
        # aiosmtpd logs every session at INFO and a deprecation notice per AUTH.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._serve, name="smtp-test-server",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the test SMTP server did not start within 30 s")
        if self._startup_error is not None:
            raise RuntimeError("the test SMTP server did not start") from self._startup_error

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)


@pytest.fixture(scope="session")
def smtp_server(dovecot: Dovecot) -> Iterator[SmtpServer]:
    """One SMTP submission server for the whole run, delivering to the shared Dovecot."""
    server = SmtpServer(dovecot)
    server.start()
    try:
        yield server
    finally:
        server.stop()
