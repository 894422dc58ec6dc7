"""Commands and message data as octets: address checks, MAIL/RCPT lines, SASL initial
responses, and the DATA payload (CRLF normalisation and dot-stuffing). No I/O."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from .errors import SmtpCommandError

__all__ = [
    "Payload",
    "check_address",
    "command",
    "data_payload",
    "mail_from",
    "plain_initial_response",
    "rcpt_to",
    "sasl_encode",
    "xoauth2_initial_response",
]

_LINE_END = re.compile(rb"\r\n|\r|\n")
# Octets that would end the command line early or confuse the path syntax:
# controls (CR and LF above all: command injection) and the angle brackets.
_FORBIDDEN_IN_ADDRESS = re.compile(r"[\x00-\x1f\x7f<>]")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")


def check_address(address: str, role: str) -> None:
    """Refuse an address that cannot be written into a command line safely."""
    if _FORBIDDEN_IN_ADDRESS.search(address):
        raise SmtpCommandError(f"{role} address {address!r} contains a control "
                               "character or angle bracket")
    if role == "recipient" and not address:
        raise SmtpCommandError("empty recipient address")


def command(verb: str, argument: str = "", *, utf8: bool = False) -> bytes:
    """One command line. Only SMTPUTF8 sessions may carry UTF-8 (RFC 6531 §3.3)."""
    line = f"{verb} {argument}" if argument else verb
    if "\r" in line or "\n" in line or "\x00" in line:
        raise SmtpCommandError(f"{verb}: CR, LF or NUL in the command")
    try:
        return line.encode("utf-8" if utf8 else "ascii") + b"\r\n"
    except UnicodeEncodeError:
        raise SmtpCommandError(f"{verb}: non-ASCII text outside an SMTPUTF8 transaction"
                               ) from None


def mail_from(sender: str, params: list[str], *, utf8: bool) -> bytes:
    """``MAIL FROM:<sender> params`` (RFC 5321 §4.1.1.2); ``""`` is the null path."""
    return command("MAIL", " ".join([f"FROM:<{sender}>", *params]), utf8=utf8)


def rcpt_to(recipient: str, *, utf8: bool) -> bytes:
    return command("RCPT", f"TO:<{recipient}>", utf8=utf8)


def sasl_encode(data: bytes) -> str:
    """Base64 for AUTH; an empty response is sent as ``=`` (RFC 4954 §4)."""
    return base64.b64encode(data).decode("ascii") or "="


def plain_initial_response(username: str, password: str) -> str:
    """RFC 4616: ``authzid NUL authcid NUL passwd`` with an empty authzid."""
    if "\x00" in username or "\x00" in password:
        raise SmtpCommandError("NUL in user name or password")
    return sasl_encode(f"\x00{username}\x00{password}".encode())


def xoauth2_initial_response(username: str, token: str) -> str:
    """Google / Microsoft XOAUTH2: ``user=... ^A auth=Bearer ... ^A ^A``."""
    if "\x01" in username or "\x01" in token:
        raise SmtpCommandError("\\x01 in user name or token")
    return sasl_encode(f"user={username}\x01auth=Bearer {token}\x01\x01".encode())


@dataclass(frozen=True, slots=True)
class Payload:
    """The message ready for DATA: ``data`` is dot-stuffed and ends with the
    ``CRLF . CRLF`` marker; ``size`` is the message size as RFC 1870 §4 counts it
    (CRLF line ends, without stuffing dots or the end marker)."""

    data: bytes
    size: int
    eight_bit: bool


def data_payload(message: bytes) -> Payload:
    """Normalise every line end to CRLF (RFC 5321 §2.3.8: bare CR or LF is not
    allowed in mail data), make the message end with CRLF, double every leading dot
    (RFC 5321 §4.5.2) and add the end-of-data marker."""
    normalised = _LINE_END.sub(b"\r\n", message)
    if normalised and not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    stuffed = normalised.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return Payload(stuffed + b".\r\n", len(normalised),
                   _EIGHT_BIT.search(normalised) is not None)
