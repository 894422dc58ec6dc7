"""`tidings send`: send mail through a grant's SMTP server (SendService).

Attachments travel inside one SendMessage request while they fit well under the
daemon's receive limit; larger ones go through SendMessageStream in chunks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, Final

import grpc

from tidings.cli_client import Connection, Output, add_client_options, describe_error, when
from tidings.cli_support import CliError
from tidings.v1 import common_pb2, send_pb2, send_pb2_grpc
from tidings_client._convert import message_from_proto
from tidings_client.errors import error_from_rpc

__all__ = ["OutgoingFile", "add_send_command", "build_request", "parse_addresses",
           "stream_chunks"]

# SendMessage carries attachments inline up to the daemon's receive limit (32 MB by
# default, send.proto); above this, the streaming call, with room left for the rest.
INLINE_LIMIT: Final = 24 * 1024 * 1024
CHUNK_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """An attachment to send: its name as the recipient sees it, and its bytes."""

    filename: str
    content: bytes


def parse_addresses(values: Iterable[str], option: str) -> list[common_pb2.EmailAddress]:
    """Addresses as people write them (``Ann <ann@example.org>``, comma-separated or
    one per option, RFC 5322 §3.4)."""
    parsed: list[common_pb2.EmailAddress] = []
    for name, email in getaddresses(list(values)):
        if "@" not in email:
            raise CliError(f"{option}: not an email address: {email or name!r}")
        parsed.append(common_pb2.EmailAddress(name=name, email=email))
    return parsed


def _headers(values: Iterable[str]) -> list[common_pb2.Header]:
    headers = []
    for value in values:
        name, colon, body = value.partition(":")
        if not colon or not name.strip():
            raise CliError(f"--header: expected 'Name: value', got {value!r}")
        headers.append(common_pb2.Header(name=name.strip(), value=body.strip()))
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


def _read_files(paths: Sequence[Path]) -> list[OutgoingFile]:
    files = []
    for path in paths:
        try:
            files.append(OutgoingFile(path.name, path.read_bytes()))
        except OSError as exc:
            raise CliError(f"cannot read --attach {path}: {exc.strerror}") from None
    return files


def build_request(args: argparse.Namespace, files: Sequence[OutgoingFile], *,
                  with_content: bool = True) -> send_pb2.SendMessageRequest:
    """The SendMessageRequest for the options; attachment bytes left out when
    ``with_content`` is false (the first chunk of SendMessageStream)."""
    to = parse_addresses(args.to, "--to")
    cc = parse_addresses(args.cc, "--cc")
    bcc = parse_addresses(args.bcc, "--bcc")
    if not (to or cc or bcc):
        raise CliError("at least one recipient is needed: --to, --cc or --bcc")
    message = send_pb2.OutgoingMessage(
        to=to, cc=cc, bcc=bcc, reply_to=parse_addresses(args.reply_to, "--reply-to"),
        subject=args.subject, body=_read_body(args), is_plaintext=not args.html,
        reply_to_message_id=args.reply_to_message_id or "",
        custom_headers=_headers(args.header),
        attachments=[send_pb2.OutgoingAttachment(
            filename=f.filename, content=f.content if with_content else b"")
            for f in files])
    if args.from_address:
        name, email = parseaddr(args.from_address)
        if "@" not in email:
            raise CliError(f"--from: not an email address: {args.from_address!r}")
        message.from_.CopyFrom(common_pb2.EmailAddress(name=name, email=email))
    return send_pb2.SendMessageRequest(grant_id=args.grant_id, message=message,
                                       idempotency_key=args.idempotency_key or "")


def stream_chunks(request: send_pb2.SendMessageRequest, files: Sequence[OutgoingFile],
                  chunk_bytes: int = CHUNK_BYTES) -> Iterator[send_pb2.SendMessageChunk]:
    """SendMessageStream's chunks: the request first, then each attachment's bytes in
    order, at most ``chunk_bytes`` at a time."""
    yield send_pb2.SendMessageChunk(request=request)
    for index, file in enumerate(files):
        for start in range(0, len(file.content), chunk_bytes):
            yield send_pb2.SendMessageChunk(attachment_data=send_pb2.AttachmentData(
                attachment_index=index, data=file.content[start:start + chunk_bytes]))


def _send(connection: Connection, args: argparse.Namespace,
          files: Sequence[OutgoingFile]) -> send_pb2.SendMessageResponse:
    large = sum(len(f.content) for f in files) > INLINE_LIMIT
    request = build_request(args, files, with_content=not large)
    channel = connection.channel()
    try:
        stub = send_pb2_grpc.SendServiceStub(channel)
        reply: send_pb2.SendMessageResponse
        if large:
            reply = stub.SendMessageStream(stream_chunks(request, files),
                                           timeout=connection.timeout,
                                           metadata=connection.metadata)
        else:
            reply = stub.SendMessage(request, timeout=connection.timeout,
                                     metadata=connection.metadata)
        return reply
    finally:
        channel.close()


def _run(args: argparse.Namespace) -> int:
    connection = Connection.from_args(args)
    output = Output(json_mode=args.json)
    files = _read_files(args.attach)
    try:
        reply = _send(connection, args, files)
    except grpc.RpcError as exc:
        output.error(describe_error(error_from_rpc(exc), connection.address))
        return 1
    message = message_from_proto(reply.message)
    if output.json_mode:
        output.json({"message": message, "idempotent_replay": reply.idempotent_replay})
        return 0
    replay = " (already sent with this idempotency key; not sent again)" \
        if reply.idempotent_replay else ""
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
