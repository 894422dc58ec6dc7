"""Command lines and the DATA payload: dot-stuffing, CRLF normalisation, checks."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.smtp import SmtpCommandError, data_payload
from tidings.smtp.encode import (
    check_address,
    command,
    mail_from,
    plain_initial_response,
    rcpt_to,
    xoauth2_initial_response,
)
from tidings.smtp.replies import Reply
from tidings.smtp.session import parse_ehlo


def unstuff(payload: bytes) -> bytes:
    """What a server does (RFC 5321 §4.5.2): strip the end marker, undouble dots."""
    assert payload.endswith(b".\r\n")
    body = payload[:-3]
    lines = body.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def test_dot_stuffing_and_line_ends() -> None:
    payload = data_payload(b".first\nsecond\r\n.\r\n..two\rlast")
    assert payload.data == b"..first\r\nsecond\r\n..\r\n...two\r\nlast\r\n.\r\n"
    assert payload.size == len(b".first\r\nsecond\r\n.\r\n..two\r\nlast\r\n")
    assert not payload.eight_bit


def test_empty_message_is_just_the_end_marker() -> None:
    assert data_payload(b"").data == b".\r\n"


def test_eight_bit_detection() -> None:
    assert data_payload("Subject: x\r\n\r\nhéllo\r\n".encode()).eight_bit


@given(st.binary(max_size=400) | st.lists(st.sampled_from(
    [b".", b"\r", b"\n", b"\r\n", b"a", b"..", b"\xc3\xa9"]), max_size=60).map(b"".join))
def test_payload_round_trips_through_a_server(message: bytes) -> None:
    payload = data_payload(message)
    normalised = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    if normalised and not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    # The first line "." inside the data would end it early: never there.
    assert payload.data.find(b"\r\n.\r\n") in (-1, len(payload.data) - 5)
    assert not payload.data.startswith(b".\r\n") or payload.data == b".\r\n"
    # No bare CR or LF (RFC 5321 §2.3.8).
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", payload.data) is None
    assert unstuff(payload.data) == normalised
    assert payload.size == len(normalised)


@pytest.mark.parametrize("address", ["a\r\nRCPT TO:<evil@x>", "a\nb", "a>b", "<a>", "a\x00b"])
def test_addresses_that_would_break_the_command_line(address: str) -> None:
    with pytest.raises(SmtpCommandError):
        check_address(address, "recipient")


def test_null_sender_is_allowed_and_empty_recipient_is_not() -> None:
    check_address("", "sender")
    with pytest.raises(SmtpCommandError):
        check_address("", "recipient")
    assert mail_from("", [], utf8=False) == b"MAIL FROM:<>\r\n"


def test_command_lines() -> None:
    assert mail_from("a@x.org", ["SIZE=10", "BODY=8BITMIME"], utf8=False) == \
        b"MAIL FROM:<a@x.org> SIZE=10 BODY=8BITMIME\r\n"
    assert rcpt_to("jörg@x.org", utf8=True) == "RCPT TO:<jörg@x.org>\r\n".encode()
    with pytest.raises(SmtpCommandError, match="non-ASCII"):
        rcpt_to("jörg@x.org", utf8=False)
    with pytest.raises(SmtpCommandError):
        command("NOOP", "a\r\nb")


def test_sasl_initial_responses() -> None:
    assert base64.b64decode(plain_initial_response("bob", "pw")) == b"\x00bob\x00pw"
    assert base64.b64decode(xoauth2_initial_response("bob", "tok")) == \
        b"user=bob\x01auth=Bearer tok\x01\x01"
    with pytest.raises(SmtpCommandError):
        plain_initial_response("bob\x00", "pw")
    with pytest.raises(SmtpCommandError):
        xoauth2_initial_response("bob", "t\x01k")


def test_ehlo_keywords() -> None:
    reply = Reply(250, ("mx.example.org hi", "pipelining", "SIZE  35882577", "AUTH=LOGIN",
                        "AUTH PLAIN LOGIN XOAUTH2", "8BITMIME", "-bad", "X-EXP a b"))
    assert parse_ehlo(reply) == {"PIPELINING": "", "SIZE": "35882577",
                                 "AUTH": "LOGIN PLAIN XOAUTH2", "8BITMIME": "",
                                 "X-EXP": "a b"}
