"""A small SMTP submission server beside the private Dovecot (which ships none without a
relay): implicit TLS on 127.0.0.1 (RFC 8314 §3.3), AUTH PLAIN / LOGIN checked against
Dovecot's users, and delivery over Dovecot's LMTP to every recipient that is a Dovecot
user (``bob@example.org`` → user ``bob``).

It is a development tool, not a mail server: mail for other recipients is accepted and
dropped, since there is nowhere to relay it to. Standard library only, one thread per
connection.
"""

from __future__ import annotations

import base64
import binascii
import smtplib
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["Submission"]

MAX_MESSAGE: Final = 35 * 1024 * 1024
MAX_LINE: Final = 1000 + 2  # RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets
IDLE_TIMEOUT: Final = 300.0  # RFC 5321 §4.5.3.2.7: the server waits 5 minutes for a command
LoginCheck = Callable[[str, str], bool]


class _Closed(Exception):
    """The client went away."""


@dataclass
class Submission:
    """``start()`` binds ``port`` and serves in a background thread until ``stop()``."""

    cert_path: Path
    key_path: Path
    check_login: LoginCheck
    lmtp_host: str
    lmtp_port: int
    host: str = "127.0.0.1"
    port: int = 0
    delivered: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_path), str(self.key_path))
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(IDLE_TIMEOUT)
                try:
                    with context.wrap_socket(sock, server_side=True) as tls:
                        _Session(owner, tls).run()
                except (OSError, _Closed):
                    pass  # the client hung up or failed the handshake; nothing to keep

        server = socketserver.ThreadingTCPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="submission",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def deliver(self, sender: str, recipients: list[str], data: bytes) -> str:
        """Hand the message to LMTP for the local recipients; the SMTP reply to send."""
        if not recipients:
            return "250 2.0.0 accepted (no local recipient: dropped)"
        try:
            with smtplib.LMTP(self.lmtp_host, self.lmtp_port, timeout=30) as lmtp:
                refused = lmtp.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused:
            return "550 5.1.1 no such mailbox"
        except (smtplib.SMTPException, OSError) as exc:
            return f"451 4.3.0 local delivery failed: {exc}"
        accepted = tuple(r for r in recipients if r not in refused)
        self.delivered.append((sender, accepted))
        return "250 2.0.0 delivered"


class _Session:
    """One SMTP conversation (RFC 5321 §4.1, AUTH of RFC 4954)."""

    def __init__(self, owner: Submission, sock: ssl.SSLSocket) -> None:
        self.owner = owner
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.user: str | None = None
        self.sender: str | None = None
        self.recipients: list[str] = []

    def reply(self, *lines: str) -> None:
        *first, last = lines
        text = "".join(f"{line[:3]}-{line[4:]}\r\n" for line in first) + f"{last}\r\n"
        self.sock.sendall(text.encode())

    def line(self) -> str:
        raw = self.reader.readline(MAX_LINE + 1)
        if not raw:
            raise _Closed
        if len(raw) > MAX_LINE:
            self.reply("500 5.5.2 line too long")
            raise _Closed
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def run(self) -> None:
        self.reply("220 localhost ESMTP tidings development submission")
        while True:
            text = self.line()
            verb, _, rest = text.partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            self.command(verb, rest.strip())

    def command(self, verb: str, rest: str) -> None:
        if verb == "EHLO":
            self.reset()
            self.reply("250 localhost", "250 AUTH PLAIN LOGIN", "250 8BITMIME",
                       "250 PIPELINING", f"250 SIZE {MAX_MESSAGE}")
        elif verb == "HELO":
            self.reset()
            self.reply("250 localhost")
        elif verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self.reset()
            self.reply("250 2.0.0 OK")
        elif verb == "AUTH":
            self.auth(rest)
        elif verb == "MAIL":
            self.mail(rest)
        elif verb == "RCPT":
            self.rcpt(rest)
        elif verb == "DATA":
            self.data()
        else:
            self.reply("502 5.5.1 command not implemented")

    def reset(self) -> None:
        self.sender = None
        self.recipients = []

    def auth(self, rest: str) -> None:
        if self.user is not None:
            self.reply("503 5.5.1 already authenticated")
            return
        mechanism, _, initial = rest.partition(" ")
        mechanism = mechanism.upper()
        try:
            if mechanism == "PLAIN":
                # RFC 4616 §2: authzid NUL authcid NUL passwd.
                answer = initial or self.challenge("")
                _authzid, user, password = _b64(answer).split("\0", 2)
            elif mechanism == "LOGIN":
                user = _b64(initial) if initial else _b64(self.challenge("Username:"))
                password = _b64(self.challenge("Password:"))
            else:
                self.reply("504 5.5.4 unrecognized authentication type")
                return
        except ValueError:
            self.reply("501 5.5.2 cannot decode the response")
            return
        if self.owner.check_login(user, password):
            self.user = user
            self.reply("235 2.7.0 authentication successful")
        else:
            self.reply("535 5.7.8 authentication credentials invalid")

    def challenge(self, prompt: str) -> str:
        self.reply("334 " + base64.b64encode(prompt.encode()).decode())
        answer = self.line()
        if answer == "*":  # RFC 4954 §4: the client cancels
            raise ValueError("cancelled")
        return answer

    def mail(self, rest: str) -> None:
        if self.user is None:
            self.reply("530 5.7.0 authentication required")
        elif not rest.upper().startswith("FROM:"):
            self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
        else:
            self.reset()
            self.sender = _path(rest[5:])
            self.reply("250 2.1.0 OK")

    def rcpt(self, rest: str) -> None:
        if self.sender is None:
            self.reply("503 5.5.1 MAIL first")
        elif not rest.upper().startswith("TO:"):
            self.reply("501 5.5.4 syntax: RCPT TO:<address>")
        else:
            self.recipients.append(_path(rest[3:]))
            self.reply("250 2.1.5 OK")

    def data(self) -> None:
        if self.sender is None or not self.recipients:
            self.reply("503 5.5.1 MAIL and RCPT first")
            return
        self.reply("354 end data with <CR><LF>.<CR><LF>")
        chunks: list[bytes] = []
        size = 0
        while True:
            raw = self.reader.readline(MAX_MESSAGE)
            if not raw:
                raise _Closed
            if raw in (b".\r\n", b".\n"):
                break
            # RFC 5321 §4.5.2: remove the dot that the client added to stuffed lines.
            chunk = raw[1:] if raw.startswith(b".") else raw
            size += len(chunk)
            if size <= MAX_MESSAGE:
                chunks.append(chunk)
        if size > MAX_MESSAGE:
            self.reply("552 5.3.4 message too big")
        else:
            local = [r.split("@", 1)[0] for r in self.recipients if "@" in r]
            self.reply(self.owner.deliver(self.sender, local, b"".join(chunks)))
        self.reset()


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("bad base64") from exc


def _path(text: str) -> str:
    """The address of ``<address> PARAMS`` (the parameters are ignored)."""
    address = text.strip().split(" ", 1)[0]
    return address.removeprefix("<").removesuffix(">")
