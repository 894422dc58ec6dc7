"""The Dovecot fixture itself: both TLS modes answer and seeded mail is visible."""

from __future__ import annotations

import socket
import ssl

import pytest

from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


def _exchange(sock: socket.socket | ssl.SSLSocket, line: bytes, tag: bytes) -> bytes:
    sock.sendall(line)
    data = b""
    while tag + b" " not in data:
        chunk = sock.recv(65536)
        assert chunk, "server closed"
        data += chunk
    return data


def test_implicit_tls_login_and_seeded_mail(dovecot: Dovecot, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    raw = b"From: a@example.org\r\nSubject: hello\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"
    dovecot.seed(user, [raw, raw], folder="Archive", flags="S")
    ctx = dovecot.ssl_context()
    with socket.create_connection((dovecot.host, dovecot.tls_port), timeout=10) as plain, \
            ctx.wrap_socket(plain, server_hostname="localhost") as sock:
        assert sock.recv(4096).startswith(b"* OK")
        assert b"a OK" in _exchange(sock, f"a LOGIN {user} {password}\r\n".encode(), b"a")
        listing = _exchange(sock, b"b LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n", b"b")
        for use in (b"\\Sent", b"\\Drafts", b"\\Trash", b"\\Archive", b"\\Junk"):
            assert use in listing
        status = _exchange(sock, b"c STATUS Archive (MESSAGES UNSEEN)\r\n", b"c")
        assert b"MESSAGES 2 UNSEEN 0" in status


def test_starttls_port_offers_starttls(dovecot: Dovecot) -> None:
    with socket.create_connection((dovecot.host, dovecot.port), timeout=10) as sock:
        greeting = sock.recv(4096)
        assert b"STARTTLS" in greeting
        assert b"a OK" in _exchange(sock, b"a STARTTLS\r\n", b"a")
        with dovecot.ssl_context().wrap_socket(sock, server_hostname="localhost") as tls:
            assert b"b OK" in _exchange(tls, b"b CAPABILITY\r\n", b"b")
