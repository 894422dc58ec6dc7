"""Section numbers checked against a real server: Dovecot's ``BINARY[n]`` (RFC 3516) must
return the same decoded bytes as :func:`iter_part_bytes` for the same number."""

from __future__ import annotations

import re
import socket

import pytest

from tests.mime.samples import (
    FORWARDED,
    MIXED_WITH_ATTACHMENTS,
    RFC9051_LEAVES,
    rfc9051_example,
)
from tests.support.dovecot import Dovecot
from tidings.mime import iter_part_bytes, parse_message

pytestmark = pytest.mark.dovecot

SAMPLES: list[tuple[bytes, tuple[str, ...]]] = [
    (rfc9051_example(), RFC9051_LEAVES),
    (MIXED_WITH_ATTACHMENTS, ("1.1.1", "1.1.2", "1.2", "2", "3", "4")),
    (FORWARDED, ("1", "2.1", "2.2")),
]


class _Session:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.tags = 0
        self.buffer = b""

    def command(self, line: str) -> bytes:
        self.tags += 1
        tag = f"t{self.tags}".encode()
        self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        done = re.compile(rb"(?:^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n")
        while (match := done.search(self.buffer)) is None:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            self.buffer += chunk
        reply, self.buffer = self.buffer[: match.end()], self.buffer[match.end() :]
        assert match.group(1) == b"OK", reply[-300:]
        return reply


def _binary_section(reply: bytes, number: str) -> bytes:
    match = re.search(rb"BINARY\[" + number.encode() + rb"\] ~?\{(\d+)\}\r\n", reply)
    assert match is not None, reply[:300]
    return reply[match.end() : match.end() + int(match.group(1))]


def test_section_numbers_match_dovecot(dovecot: Dovecot, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    dovecot.seed(user, [raw for raw, _ in SAMPLES])
    with socket.create_connection((dovecot.host, dovecot.port), timeout=10) as sock:
        session = _Session(sock)
        greeting = b""
        while b"\r\n" not in greeting:
            greeting += sock.recv(4096)
        session.command(f"LOGIN {user} {password}")
        session.command("SELECT INBOX")
        for sequence, (raw, numbers) in enumerate(SAMPLES, start=1):
            for number in numbers:
                reply = session.command(f"FETCH {sequence} (BINARY.PEEK[{number}])")
                assert _binary_section(reply, number) == iter_part_bytes(raw, number), number
            for attachment in parse_message(raw).attachments:
                if attachment.content_type == "message/rfc822":
                    continue  # regenerated, not byte-exact; its leaves are compared above
                reply = session.command(f"FETCH {sequence} (BINARY.SIZE[{attachment.part}])")
                size = re.search(rb"BINARY\.SIZE\[[0-9.]+\] (\d+)", reply)
                assert size is not None
                assert int(size.group(1)) == attachment.size, attachment.part
        session.command("LOGOUT")
