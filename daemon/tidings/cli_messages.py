"""`tidings messages list | show`: a grant's synced messages, through the daemon's API."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from tidings.cli_client import Output, add_client_options, client_command, when
from tidings.cli_support import CliError
from tidings.mime import html_to_text
from tidings_client import EmailAddress, Folder, Message, Tidings

__all__ = ["add_messages_command", "resolve_folder"]


def _addresses(addresses: Iterable[EmailAddress]) -> str:
    return ", ".join(str(address) for address in addresses) or "-"


def _flags(message: Message) -> str:
    return ("unread " if message.unread else "") + ("starred" if message.starred else "")


def resolve_folder(folders: Iterable[Folder], wanted: str) -> Folder:
    """The folder whose id, path or name is ``wanted`` (names case-insensitively, as
    INBOX is, RFC 9051 §5.1)."""
    folders = list(folders)
    for folder in folders:
        if wanted in (folder.id, folder.path):
            return folder
    matches = [f for f in folders if f.name.casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(f.path for f in folders)) or "none"
    if matches:
        raise CliError(f"folder {wanted!r} is ambiguous; give its path ({known})")
    raise CliError(f"no folder {wanted!r}; the grant has: {known}")


def _folder_names(client: Tidings, grant_id: str) -> dict[str, str]:
    return {folder.id: folder.path for folder in client.list_folders(grant_id)}


def _unread_filter(args: argparse.Namespace) -> bool | None:
    if args.unread:
        return True
    if args.read:
        return False
    return None


@client_command
def _list(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    folder_id: str | None = None
    names: dict[str, str] = {}
    if args.folder is not None or not output.json_mode:
        folders = client.list_folders(args.grant_id)
        names = {folder.id: folder.path for folder in folders}
        if args.folder is not None:
            folder_id = resolve_folder(folders, args.folder).id
    page = client.list_messages(
        args.grant_id, limit=args.limit, page_token=args.page_token, folder_id=folder_id,
        subject=args.subject, unread=_unread_filter(args),
        starred=True if args.starred else None, thread_id=args.thread_id)
    if output.json_mode:
        output.json(page)
        return 0
    output.table(
        ["ID", "DATE", "FROM", "SUBJECT", "FOLDERS", "FLAGS"],
        ([m.id, when(m.date), _addresses(m.from_), m.subject or "(no subject)",
          ", ".join(names.get(f, f) for f in m.folders), _flags(m)]
         for m in page.messages))
    if page.next_cursor:
        output.note(f"more: --page-token {page.next_cursor}")
    return 0


def _body_text(message: Message) -> str:
    # The API serves every body as HTML (text/plain converted); people read text.
    return html_to_text(message.body).strip() if message.body else ""


@client_command
def _show(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    message = client.get_message(args.grant_id, args.message_id,
                                 include_headers=args.headers, include_raw=args.raw)
    if args.raw and not output.json_mode:
        if message.raw_mime is None:
            output.error(f"the daemon sent no raw MIME for message {message.id}")
            return 1
        # The message exactly as received: bytes, in whatever charsets it uses.
        output.stdout.flush()
        buffer = getattr(output.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(message.raw_mime)
            buffer.flush()
        else:
            output.stdout.write(message.raw_mime.decode("utf-8", errors="replace"))
        return 0
    if output.json_mode:
        output.json(message)
        return 0
    names = _folder_names(client, args.grant_id)
    pairs = [("id", message.id), ("date", when(message.date)),
             ("from", _addresses(message.from_)), ("to", _addresses(message.to))]
    pairs += [(name, _addresses(value)) for name, value in
              (("cc", message.cc), ("bcc", message.bcc), ("reply-to", message.reply_to))
              if value]
    pairs += [("subject", message.subject or "(no subject)"),
              ("folders", ", ".join(names.get(f, f) for f in message.folders) or "-"),
              ("thread", message.thread_id), ("flags", _flags(message) or "-"),
              ("message-id", message.message_id_header + (" (synthetic)"
                                                          if message.synthetic_id else ""))]
    pairs += [("attachment", f"{a.filename or '(unnamed)'} ({a.content_type}, "
                             f"{a.size:,} bytes){' inline' if a.is_inline else ''}")
              for a in message.attachments]
    pairs += [("warning", warning) for warning in message.decoding_warnings]
    output.fields(pairs)
    if args.headers:
        output.line("")
        for name, value in message.headers:
            output.line(f"{name}: {value}")
    output.line("")
    output.line(_body_text(message))
    return 0


def add_messages_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("messages", help="list and show a grant's messages")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="one page of messages, newest first")
    listing.add_argument("grant_id", metavar="GRANT_ID")
    listing.add_argument("--limit", type=int, default=20,
                         help="page size, at most 200 (default 20)")
    listing.add_argument("--page-token", default="", metavar="TOKEN",
                         help="the token printed after the previous page")
    listing.add_argument("--folder", metavar="FOLDER", help="folder path, name or id")
    listing.add_argument("--subject", metavar="TEXT", help="subject contains TEXT")
    read_state = listing.add_mutually_exclusive_group()
    read_state.add_argument("--unread", action="store_true", help="only unread messages")
    read_state.add_argument("--read", action="store_true", help="only read messages")
    listing.add_argument("--starred", action="store_true", help="only starred messages")
    listing.add_argument("--thread-id", metavar="ID")
    add_client_options(listing)
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="one message: its headers and body as text")
    show.add_argument("grant_id", metavar="GRANT_ID")
    show.add_argument("message_id", metavar="MESSAGE_ID")
    show.add_argument("--headers", action="store_true", help="also every header field")
    show.add_argument("--raw", action="store_true",
                      help="print the message exactly as received (RFC 5322 bytes); "
                           "with --json, as base64 in raw_mime")
    add_client_options(show)
    show.set_defaults(run=_show)
