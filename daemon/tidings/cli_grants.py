"""`tidings grants add | list | show | delete`: connected mailboxes, through the daemon's
gRPC API, with a live view of a grant's initial sync (`add --wait`, `show --follow`).

Passwords never travel as arguments (other users see those in the process list): they
come from standard input with ``--password-stdin`` or from a prompt on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Final, Self, TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from tidings.cli_client import Output, add_client_options, client_command, when
from tidings.cli_support import CliError
from tidings_client import Grant, GrantStatus, Security, SyncProgress, SyncState, Tidings

__all__ = ["SyncView", "add_grants_command", "follow_initial_sync", "read_passwords"]

FOLLOW_INTERVAL: Final = 0.25
# States in which the initial sync has not ended yet: BACKOFF is a failed attempt that
# the daemon retries by itself.
_SYNCING: Final = frozenset({SyncState.UNSPECIFIED, SyncState.PENDING,
                             SyncState.INITIAL_SYNC, SyncState.BACKOFF})
_SECURITY_CHOICES: Final = [mode.value for mode in Security]


def read_passwords(email: str, *, from_stdin: bool, separate_smtp: bool,
                   stdin: TextIO | None = None) -> tuple[str, str | None]:
    """(IMAP password, SMTP password or None for "the same"): one line each from
    standard input, or asked for on the terminal."""
    stdin = stdin or sys.stdin
    wanted = 2 if separate_smtp else 1
    if from_stdin:
        lines = [stdin.readline() for _ in range(wanted)]
        passwords = [line.removesuffix("\n").removesuffix("\r") for line in lines]
        if not all(lines) or not all(passwords):
            raise CliError(f"--password-stdin: expected {wanted} non-empty line(s) "
                           "on standard input")
    else:
        if not stdin.isatty():
            raise CliError("no terminal to ask for the password on: give it with "
                           "--password-stdin")
        passwords = [getpass.getpass(f"IMAP password for {email}: ")]
        if separate_smtp:
            passwords.append(getpass.getpass(f"SMTP password for {email}: "))
        if not all(passwords):
            raise CliError("the password must not be empty")
    return passwords[0], passwords[1] if separate_smtp else None


class SyncView:
    """The initial sync as it runs, on stderr: live progress bars on a terminal, a line
    per change otherwise, nothing for JSON output that nobody watches."""

    def __init__(self, output: Output) -> None:
        self.output = output
        interactive = output.stderr.isatty()
        self.lines = not interactive and not output.json_mode
        self._last_line = ""
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if interactive:
            self._progress = Progress(
                TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=output.err_console)

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
            for name in ("folders", "messages"):
                self._tasks[name] = self._progress.add_task(name, total=None)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(self, state: SyncState, progress: SyncProgress) -> None:
        counts = {"folders": (progress.folders_done, progress.folders_total),
                  "messages": (progress.messages_done, progress.messages_total)}
        if self._progress is not None:
            for name, (done, total) in counts.items():
                self._progress.update(self._tasks[name], completed=done,
                                      total=total or None)
        elif self.lines:
            line = (f"initial sync: {state.value}, folders {progress.folders_done}/"
                    f"{progress.folders_total}, messages {progress.messages_done}/"
                    f"{progress.messages_total}")
            if line != self._last_line:
                self._last_line = line
                self.output.note(line)

    def finish(self, grant: Grant, last: SyncProgress, seconds: float) -> None:
        # Progress is all zero again once the sync has ended: show the last totals done.
        done = SyncProgress(last.folders_total, last.folders_total, last.messages_total,
                            last.messages_total)
        self.show(SyncState.RUNNING, done)
        if self._progress is not None or self.lines:
            summary = (f"{done.messages_total} messages in {done.folders_total} folders"
                       if done.folders_total else "no progress was reported")
            self.output.note(f"initial sync of {grant.email}: {grant.sync_state.value} "
                             f"after {seconds:.1f} s ({summary})")


def _poll(client: Tidings, grant_id: str) -> Iterator[Grant]:
    while True:
        yield client.get_grant(grant_id)
        time.sleep(FOLLOW_INTERVAL)  # a CLI process of its own: nothing else to run


def follow_initial_sync(client: Tidings, grant_id: str, output: Output,
                        timeout: float | None = None) -> Grant | None:
    """The grant once its initial sync has ended (in whatever state: RUNNING, DEGRADED,
    STOPPED), shown as it goes; None when ``timeout`` seconds pass first."""
    started = time.monotonic()
    last = SyncProgress()
    with SyncView(output) as view:
        for grant in _poll(client, grant_id):
            if grant.sync_progress.folders_total:
                last = grant.sync_progress
            if grant.sync_state not in _SYNCING:
                view.finish(grant, last, time.monotonic() - started)
                return grant
            view.show(grant.sync_state, grant.sync_progress)
            if timeout is not None and time.monotonic() - started > timeout:
                return None
    raise AssertionError("unreachable: polling ends only by returning")


def _server(settings: Any) -> str:
    if not settings.host:
        return "-"
    security = settings.security.value if settings.security else "preset"
    return f"{settings.host}:{settings.port} ({security}, user {settings.username or '-'})"


def _progress_text(grant: Grant) -> str:
    p = grant.sync_progress
    if not p.folders_total:
        return "-"
    return (f"folders {p.folders_done}/{p.folders_total}, messages "
            f"{p.messages_done}/{p.messages_total} ({p.fraction:.0%})")


def _show_grant(output: Output, grant: Grant) -> None:
    if output.json_mode:
        output.json(grant)
        return
    sync = grant.sync_state.value
    if grant.sync_state_reason:
        sync += f": {grant.sync_state_reason}"
    output.fields([
        ("id", grant.id), ("email", grant.email), ("name", grant.name or "-"),
        ("connector", grant.connector_id), ("provider", grant.provider_type or grant.provider),
        ("status", grant.grant_status.value), ("sync", sync),
        ("progress", _progress_text(grant)), ("imap", _server(grant.imap)),
        ("smtp", _server(grant.smtp)), ("plaintext", "allowed" if grant.allow_plaintext
                                        else "refused"),
        ("window", f"{grant.sync_window_days} days"), ("state", grant.state or "-"),
        ("created", when(grant.created_at)), ("updated", when(grant.updated_at)),
    ])


def _wait_outcome(output: Output, grant: Grant | None, timeout: float | None) -> int:
    """Exit status after waiting: 0 once synced (or degraded, which still serves what
    it has), 1 when the sync stopped or did not end in time."""
    if grant is None:
        output.error(f"the initial sync did not end within {timeout:g} s")
        return 1
    if grant.sync_state is SyncState.STOPPED or grant.grant_status is GrantStatus.INVALID:
        reason = grant.sync_state_reason or "the credentials no longer work"
        output.error(f"the sync of {grant.email} stopped: {reason}")
        return 1
    if grant.sync_state is SyncState.DEGRADED:
        output.note(f"warning: the sync of {grant.email} is degraded: "
                    f"{grant.sync_state_reason or 'no reason given'}")
    return 0


@client_command
def _add(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    imap_password, smtp_password = read_passwords(
        args.email, from_stdin=args.password_stdin, separate_smtp=args.separate_smtp_password)
    connector_id: str | None = args.connector_id
    if args.new_connector is not None:
        connector = client.create_connector(args.new_connector)
        connector_id = connector.id
        output.note(f"connector {connector.id} created ({connector.name})")
    grant = client.create_grant(
        args.email, imap_password, connector_id=connector_id,
        provider_type=args.provider_type, name=args.name, imap_host=args.imap_host,
        imap_port=args.imap_port, imap_security=args.imap_security,
        imap_username=args.imap_username, smtp_host=args.smtp_host,
        smtp_port=args.smtp_port, smtp_security=args.smtp_security,
        smtp_username=args.smtp_username, smtp_password=smtp_password,
        allow_plaintext=args.allow_plaintext, sync_window_days=args.sync_window_days,
        state=args.state)
    status = 0
    if args.wait:
        output.note(f"grant {grant.id} created; waiting for its initial sync")
        synced = follow_initial_sync(client, grant.id, output, args.wait_timeout)
        status = _wait_outcome(output, synced, args.wait_timeout)
        grant = synced or client.get_grant(grant.id)
    _show_grant(output, grant)
    return status


@client_command
def _list(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    page = client.list_grants(limit=args.limit, offset=args.offset, email=args.email,
                              grant_status=args.status, provider_type=args.provider_type,
                              connector_id=args.connector_id)
    if output.json_mode:
        output.json(page)
        return 0
    output.table(
        ["ID", "EMAIL", "NAME", "STATUS", "SYNC", "PROGRESS", "CREATED"],
        ([g.id, g.email, g.name or "-", g.grant_status.value, g.sync_state.value,
          _progress_text(g), when(g.created_at)] for g in page.grants))
    first = args.offset + 1 if page.grants else args.offset
    output.line(f"grants {first}-{args.offset + len(page.grants)} of {page.total}")
    return 0


@client_command
def _show(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    status = 0
    if args.follow:
        grant = follow_initial_sync(client, args.grant_id, output, args.wait_timeout)
        status = _wait_outcome(output, grant, args.wait_timeout)
    _show_grant(output, client.get_grant(args.grant_id))
    return status


@client_command
def _delete(args: argparse.Namespace, client: Tidings, output: Output) -> int:
    client.delete_grant(args.grant_id)
    if output.json_mode:
        output.json({"deleted": args.grant_id})
    else:
        output.line(f"deleted grant {args.grant_id}")
    return 0


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _add_parser(actions: Any) -> None:
    add = actions.add_parser(
        "add", help="connect a mailbox (custom auth: IMAP and SMTP credentials)",
        description="Connect a mailbox. The daemon checks the credentials on both servers "
                    "before it keeps them. Unset hosts and ports come from the provider "
                    "preset. The password is read from standard input "
                    "(--password-stdin) or asked for.")
    add.add_argument("email", metavar="EMAIL")
    connector = add.add_mutually_exclusive_group()
    connector.add_argument("--connector-id", metavar="ID",
                           help="connector to add it to (default: the only one)")
    connector.add_argument("--new-connector", metavar="NAME",
                           help="create a connector with this name and add it there")
    add.add_argument("--provider-type", metavar="PRESET",
                     help="gmail, yahoo, aol, icloud, outlook, fastmail or generic")
    add.add_argument("--name", help="display name of the account")
    for side in ("imap", "smtp"):
        add.add_argument(f"--{side}-host", metavar="HOST")
        add.add_argument(f"--{side}-port", type=int, metavar="PORT")
        add.add_argument(f"--{side}-security", choices=_SECURITY_CHOICES)
        add.add_argument(f"--{side}-username", metavar="USER",
                         help="login name (default: the email address)")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--separate-smtp-password", action="store_true",
                     help="SMTP has a password of its own: the second line of standard "
                          "input, or a second prompt")
    add.add_argument("--allow-plaintext", action="store_true",
                     help="allow connections without TLS (never needed on the internet)")
    add.add_argument("--sync-window-days", type=int, metavar="DAYS")
    add.add_argument("--state", help="an opaque string kept with the grant")
    add.add_argument("--wait", action="store_true",
                     help="show the initial sync's progress until it has completed")
    add.add_argument("--wait-timeout", type=_positive, metavar="SECONDS",
                     help="with --wait: give up after this long (exit status 1)")
    add_client_options(add)
    add.set_defaults(run=_add)


def add_grants_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("grants", help="add, list, show and delete grants")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_parser(actions)

    listing = actions.add_parser("list", help="list grants (one page)")
    listing.add_argument("--limit", type=int, default=0, help="page size (default 50)")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--email", help="only this address")
    listing.add_argument("--status", choices=[GrantStatus.VALID.value,
                                              GrantStatus.INVALID.value])
    listing.add_argument("--provider-type", metavar="PRESET")
    listing.add_argument("--connector-id", metavar="ID")
    add_client_options(listing)
    listing.set_defaults(run=_list)

    show = actions.add_parser("show", help="one grant, with its sync state and progress")
    show.add_argument("grant_id", metavar="GRANT_ID")
    show.add_argument("--follow", action="store_true",
                      help="show the initial sync's progress until it has completed")
    show.add_argument("--wait-timeout", type=_positive, metavar="SECONDS",
                      help="with --follow: give up after this long (exit status 1)")
    add_client_options(show)
    show.set_defaults(run=_show)

    delete = actions.add_parser("delete", help="delete a grant and everything synced for it")
    delete.add_argument("grant_id", metavar="GRANT_ID")
    add_client_options(delete)
    delete.set_defaults(run=_delete)
