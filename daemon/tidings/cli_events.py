"""`tidings events watch`: the change stream, one line per event, as it happens.

The client's stream resumes by itself after a dropped connection or a daemon restart,
so nothing is missed or repeated; ``--json`` prints JSON lines, each with the event's
cursor, which ``--cursor`` takes to carry on from there later.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from tidings.cli_client import Output, add_client_options, client_command, when
from tidings.cli_support import CliError
from tidings_client import Event, Tidings

__all__ = ["add_events_command", "event_line", "parse_since"]


def parse_since(text: str) -> datetime | float:
    """Unix seconds, or an ISO 8601 time with its zone (``2026-01-31T09:00:00+00:00``)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since: not Unix seconds nor an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise CliError(f"--since: give the time zone, e.g. {text}+00:00")
    return moment


def event_line(event: Event) -> str:
    """What a person reads: when, what, which grant and object, and the subject."""
    subject = event.subject
    about = f"  {subject!r}" if subject is not None else ""
    if event.truncated:
        about += " (sent without its body: too large)"
    return f"{when(event.created_at)}  {event.type:<26} {event.grant_id}  {event.object_id}{about}"


@client_command
def _watch(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    if args.count is not None and args.count < 1:
        raise CliError("--count must be 1 or more")
    cursor: str | None = args.cursor
    if args.since is not None:
        cursor = client.get_cursor(parse_since(args.since))
    seen = 0
    with client.watch_events(cursor=cursor, grant_ids=args.grant_id or None,
                             types=args.type or None) as stream:
        if not output.json_mode:
            output.note("watching events; Ctrl-C to stop")
        for event in stream:
            if output.json_mode:
                output.json(event)
            else:
                output.line(event_line(event))
                output.stdout.flush()
            seen += 1
            if args.count is not None and seen >= args.count:
                break
    return 0


def add_events_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("events", help="follow the change stream")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    watch = actions.add_parser(
        "watch", help="print events as they happen (Ctrl-C to stop)",
        description="Print events as they happen, from now on unless --cursor or --since "
                    "say where to start; follows across reconnects until Ctrl-C.")
    start = watch.add_mutually_exclusive_group()
    start.add_argument("--cursor", metavar="CURSOR",
                       help="start after this event (the cursor of a --json line)")
    start.add_argument("--since", metavar="TIME",
                       help="start at the first event at or after TIME (Unix seconds or "
                            "ISO 8601 with zone); 0 for the whole retained log")
    watch.add_argument("--grant-id", action="append", default=[], metavar="ID",
                       help="only this grant's events (repeatable)")
    watch.add_argument("--type", action="append", default=[], metavar="TYPE",
                       help="only this type, e.g. message.created (repeatable)")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N events")
    add_client_options(watch, json_help="print JSON lines, one event each")
    watch.set_defaults(run=_watch)
