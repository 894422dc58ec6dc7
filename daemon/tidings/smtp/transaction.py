"""The decisions of one mail transaction, apart from the I/O: which MAIL parameters a
message needs, whether the server can take it at all, and what the RCPT replies add up
to (RFC 5321 §3.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .encode import Payload, check_address, data_payload, mail_from, rcpt_to
from .errors import MessageTooLarge, SmtpCommandError, SmtpNotSupported, SmtpRecipientsRefused
from .replies import Reply

__all__ = ["PreparedMail", "SendResult", "all_refused", "prepare_mail", "sort_recipients"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the server accepted. ``refused`` maps each refused recipient to the
    server's ``(code, text)``; ``reply`` is the text of the final 250, which often
    carries the queue id."""

    accepted: tuple[str, ...]
    refused: Mapping[str, tuple[int, str]]
    reply: str


@dataclass(frozen=True, slots=True)
class PreparedMail:
    """A message checked against the server's extensions, with its command lines."""

    mail_line: bytes
    recipients: tuple[str, ...]
    rcpt_lines: tuple[bytes, ...]
    payload: Payload


def prepare_mail(sender: str, recipients: Sequence[str], message: bytes,
                 extensions: Mapping[str, str], max_size: int | None) -> PreparedMail:
    """Check everything that can be checked before a byte is sent.

    Raises :class:`SmtpCommandError` for unusable addresses, :class:`SmtpNotSupported`
    when the message needs an extension the server lacks, :class:`MessageTooLarge`
    when it is over the server's SIZE (RFC 1870 §6.1: the client should not send it).
    """
    if isinstance(recipients, str):
        raise SmtpCommandError("recipients must be a sequence of addresses, not one string")
    unique = tuple(dict.fromkeys(recipients))
    if not unique:
        raise SmtpCommandError("no recipients")
    check_address(sender, "sender")
    for address in unique:
        check_address(address, "recipient")
    payload = data_payload(message)
    if max_size is not None and payload.size > max_size:
        raise MessageTooLarge(payload.size, max_size)
    params: list[str] = []
    if "SIZE" in extensions:
        params.append(f"SIZE={payload.size}")
    if payload.eight_bit:
        # RFC 6152 §3: 8-bit data only to a server that offers 8BITMIME.
        if "8BITMIME" not in extensions:
            raise SmtpNotSupported(
                "the message has 8-bit content and the server does not offer 8BITMIME: "
                "it must be encoded as 7-bit (quoted-printable or base64) first")
        params.append("BODY=8BITMIME")
    utf8 = not (sender.isascii() and all(a.isascii() for a in unique))
    if utf8:
        # RFC 6531 §3.4: non-ASCII addresses only in an SMTPUTF8 transaction.
        if "SMTPUTF8" not in extensions:
            raise SmtpNotSupported(
                "an address is not ASCII and the server does not offer SMTPUTF8 "
                "(RFC 6531): it cannot carry this message")
        params.append("SMTPUTF8")
    return PreparedMail(
        mail_line=mail_from(sender, params, utf8=utf8),
        recipients=unique,
        rcpt_lines=tuple(rcpt_to(a, utf8=utf8) for a in unique),
        payload=payload,
    )


def sort_recipients(recipients: Sequence[str], replies: Sequence[Reply]
                    ) -> tuple[tuple[str, ...], Mapping[str, tuple[int, str]]]:
    """Accepted addresses (250/251, RFC 5321 §4.1.1.3) and the refused ones."""
    accepted: list[str] = []
    refused: dict[str, tuple[int, str]] = {}
    for address, reply in zip(recipients, replies, strict=True):
        if reply.positive:
            accepted.append(address)
        else:
            refused[address] = (reply.code, reply.text)
    return tuple(accepted), MappingProxyType(refused)


def all_refused(recipients: Sequence[str], replies: Sequence[Reply]) -> SmtpRecipientsRefused:
    """The error for a transaction where no recipient was accepted: it takes the code
    of the first permanent refusal, so that it is transient only if every one was."""
    refused = {a: (r.code, r.text) for a, r in zip(recipients, replies, strict=True)}
    worst = next((r for r in replies if r.permanent), replies[0])
    return SmtpRecipientsRefused(refused, worst.code, worst.text, worst.enhanced)
