"""`tidings send`: send mail through a grant's SMTP server (SendService).

The Python client's `send_message` does the work: attachments travel inside one request
while they fit well under the daemon's receive limit, larger ones stream in chunks.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable, Sequence
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

from tidings.cli_client import Output, add_client_options, client_command, when
from tidings.cli_support import CliError
from tidings_client import EmailAddress, MessageFields, OutgoingAttachment, Tidings

__all__ = ["add_send_command", "message_fields", "parse_addresses"]


def parse_addresses(values: Iterable[str], option: str) -> list[EmailAddress]:
    """Addresses as people write them (``Ann <ann@example.org>``, comma-separated or
    one per option, RFC 5322 §3.4)."""
    parsed: list[EmailAddress] = []
    for name, email in getaddresses(list(values)):
        if "@" not in email:
            raise CliError(f"{option}: not an email address: {email or name!r}")
        parsed.append(EmailAddress(email=email, name=name))
    return parsed


def _headers(values: Iterable[str]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, colon, body = value.partition(":")
        if not colon or not name.strip():
            raise CliError(f"--header: expected 'Name: value', got {value!r}")
        headers.append((name.strip(), body.strip()))
    return headers


def _read_body(args: argparse.Namespace) -> str:
    if args.body_file is None:
        body: str = args.body or ""
        return body
    if args.body_file == "-":
        return sys.stdin.read()
    try:
        return Path(args.body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read --body-file {args.body_file}: {exc}") from None


def message_fields(args: argparse.Namespace,
                   attachments: Sequence[OutgoingAttachment]) -> MessageFields:
    """What `Tidings.send_message` sends for the options."""
    to = parse_addresses(args.to, "--to")
    cc = parse_addresses(args.cc, "--cc")
    bcc = parse_addresses(args.bcc, "--bcc")
    if not (to or cc or bcc):
        raise CliError("at least one recipient is needed: --to, --cc or --bcc")
    fields = MessageFields(
        to=to, cc=cc, bcc=bcc, reply_to=parse_addresses(args.reply_to, "--reply-to"),
        subject=args.subject, body=_read_body(args), is_plaintext=not args.html,
        reply_to_message_id=args.reply_to_message_id or "",
        custom_headers=_headers(args.header), attachments=attachments)
    if args.from_address:
        name, email = parseaddr(args.from_address)
        if "@" not in email:
            raise CliError(f"--from: not an email address: {args.from_address!r}")
        fields["from_"] = EmailAddress(email=email, name=name)
    return fields


@client_command
def _run(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    with contextlib.ExitStack() as files:
        attachments = []
        for path in args.attach:
            try:
                # Opened now, so an unreadable file is reported before anything is
                # sent; the client reads it as it sends, in pieces when it is large.
                file = files.enter_context(path.open("rb"))
            except OSError as exc:
                raise CliError(f"cannot read --attach {path}: {exc.strerror}") from None
            attachments.append(OutgoingAttachment(path.name, file))
        sent = client.send_message(args.grant_id,
                                   idempotency_key=args.idempotency_key or None,
                                   **message_fields(args, attachments))
    message = sent.message
    if output.json_mode:
        output.json({"message": message, "idempotent_replay": sent.idempotent_replay})
        return 0
    replay = " (already sent with this idempotency key; not sent again)" \
        if sent.idempotent_replay else ""
    output.line(f"sent message {message.id}{replay}")
    output.fields([("subject", message.subject or "(no subject)"),
                   ("to", ", ".join(str(a) for a in message.to) or "-"),
                   ("date", when(message.date)),
                   ("attachments", str(len(message.attachments)))])
    return 0


def add_send_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "send", help="send a message through a grant's SMTP server",
        description="Send a message through the grant's SMTP server; it is saved to Sent "
                    "unless the provider does that itself.")
    parser.add_argument("grant_id", metavar="GRANT_ID")
    for option in ("to", "cc", "bcc", "reply-to"):
        parser.add_argument(f"--{option}", action="append", default=[], metavar="ADDRESS",
                            help="'Name <a@example.org>' or 'a@example.org'; repeatable, "
                                 "or comma-separated")
    parser.add_argument("--from", dest="from_address", metavar="ADDRESS",
                        help="sender (default: the grant's address and name)")
    parser.add_argument("--subject", default="")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT")
    body.add_argument("--body-file", metavar="PATH", help="the body from a file; - for stdin")
    parser.add_argument("--html", action="store_true",
                        help="the body is HTML (default: plain text)")
    parser.add_argument("--attach", action="append", default=[], type=Path, metavar="PATH",
                        help="attach a file (repeatable)")
    parser.add_argument("--reply-to-message-id", metavar="ID",
                        help="the message this one answers (keeps the thread)")
    parser.add_argument("--header", action="append", default=[], metavar="'X-NAME: VALUE'",
                        help="extra header field, X-* or List-* (repeatable)")
    parser.add_argument("--idempotency-key", metavar="KEY",
                        help="a repeated send with the same key within an hour is not "
                             "sent again")
    add_client_options(parser)
    parser.set_defaults(run=_run)
