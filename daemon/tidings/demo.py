"""`tidings demo`: the whole system on one machine with nothing configured.

A private Dovecot in a temporary directory gets a mailbox of realistic mail; the daemon
starts in this process on free ports with its own data directory; then, through the
Python client only, a connector and a grant are created, the initial sync is shown as
it runs, and the events caused by a second IMAP client's changes are printed as they
stream in. Without ``--once`` it keeps following events until Ctrl-C; either way it
ends with the daemon, Dovecot and the temporary directory gone (``--keep`` keeps the
directory).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import trio
from rich.console import Console
from rich.live import Live
from rich.text import Text

from tidings.app import RunningDaemon, run_daemon
from tidings.demo_script import ARCHIVE, STEPS, SUBJECT_SENT, Seen, describe
from tidings.demo_setup import (
    POLL_SECONDS,
    DemoEnvironment,
    DemoUnavailable,
    Mailbox,
    ensure_dovecot,
)
from tidings.devtools import DovecotError
from tidings.imap import ConnectParams, ImapError, open_imap
from tidings_client import Event, EventStream, Grant, Security, SyncProgress, Tidings, TidingsError

__all__ = ["DemoOptions", "add_demo_command", "run_demo"]

T = TypeVar("T")
SYNC_DEADLINE: Final = 600.0
STEP_DEADLINE: Final = 60.0
PROGRESS_REFRESH: Final = 0.25
INTERRUPTED: Final = 130


@dataclass(frozen=True, slots=True)
class DemoOptions:
    messages: int = 300
    keep: bool = False
    once: bool = False


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking client call, off the trio thread (the daemon runs on it)."""
    return await trio.to_thread.run_sync(functools.partial(fn, *args, **kwargs),
                                         abandon_on_cancel=True)


class EventPump:
    """Reads an `EventStream` in a worker thread into a channel the demo awaits."""

    def __init__(self, stream: EventStream, nursery: trio.Nursery) -> None:
        self.stream = stream
        send, self._receive = trio.open_memory_channel[Event | Exception](math.inf)
        nursery.start_soon(self._pump, send)

    async def _pump(self, send: trio.MemorySendChannel[Event | Exception]) -> None:
        def read() -> None:
            try:
                for event in self.stream:
                    trio.from_thread.run_sync(send.send_nowait, event)
            except (trio.RunFinishedError, trio.Cancelled):
                pass  # the demo is over
            except Exception as exc:
                with contextlib.suppress(trio.RunFinishedError, trio.Cancelled):
                    trio.from_thread.run_sync(send.send_nowait, exc)

        await trio.to_thread.run_sync(read, abandon_on_cancel=True)

    async def next(self) -> Event:
        item = await self._receive.receive()
        if isinstance(item, Exception):
            raise item
        return item


_KNOWN_FAILURES: Final = (TidingsError, ImapError, OSError, trio.TooSlowError, LookupError)


def _known_failure(exc: BaseException) -> BaseException | None:
    """The failure to report (a lost server, a refused call, a missed deadline), also
    from inside the groups that nurseries raise; None for anything else (a bug)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, _KNOWN_FAILURES) else None


def _progress_line(grant: Grant, progress: SyncProgress, elapsed: float) -> Text:
    return Text.assemble(
        ("initial sync ", "bold"), f"{grant.sync_state.value:<12} ",
        f"folders {progress.folders_done}/{progress.folders_total}  ",
        f"messages {progress.messages_done}/{progress.messages_total}  ",
        f"({progress.fraction:.0%}, {elapsed:.1f} s)")


class DemoSession:
    """One run against a started daemon: grant, initial sync, scripted changes, then
    (unless ``once``) following events."""

    def __init__(self, client: Tidings, running: RunningDaemon, mailbox: Mailbox,
                 console: Console, nursery: trio.Nursery) -> None:
        self.client = client
        self.running = running
        self.mailbox = mailbox
        self.console = console
        self.nursery = nursery
        self.seen = Seen()
        self.scripted = False

    async def run(self, once: bool) -> int:
        try:
            start = await _call(self.client.get_cursor)
            grant = await self._create_grant()
            stream = self.client.watch_events(cursor=start, grant_ids=[grant.id])
            pump = EventPump(stream, self.nursery)
            await self._initial_sync(grant, pump)
            await self._script(pump)
            await self._through_the_api(grant, pump)
        except Exception as exc:
            failure = _known_failure(exc)
            if failure is None:
                raise
            self.console.print(f"[red]demo failed:[/] {type(failure).__name__}: {failure}",
                               markup=True)
            return 1
        self.scripted = True
        if once:
            return 0
        box = self.mailbox
        self.console.print(
            f"\nFollowing events. Change the mailbox with any IMAP client: "
            f"{box.imap_host}:{box.imap_tls_port} (TLS), user {box.user}, password "
            f"{box.password}. Ctrl-C to stop.")
        while True:
            self._show(await pump.next())

    async def _create_grant(self) -> Grant:
        box = self.mailbox
        connector = await _call(self.client.create_connector, "demo",
                                poll_interval_seconds=POLL_SECONDS)
        self.console.print(f"connector {connector.id} created")
        grant = await _call(
            self.client.create_grant, box.email, box.password, connector_id=connector.id,
            name="Demo", imap_host=box.imap_host, imap_port=box.imap_tls_port,
            imap_security=Security.TLS, imap_username=box.user, smtp_host=box.smtp_host,
            smtp_port=box.smtp_tls_port, smtp_security=Security.TLS, smtp_username=box.user,
            state="tidings-demo")
        self.console.print(f"grant {grant.id} created for {grant.email}")
        return grant

    async def _initial_sync(self, grant: Grant, pump: EventPump) -> None:
        """A live progress line from GetGrant until `grant.imap_sync_completed`."""
        completed = trio.Event()
        started = trio.current_time()

        async def wait_completed() -> None:
            while True:
                event = await pump.next()
                self.seen.note(event)
                if event.type == "grant.imap_sync_completed":
                    completed.set()
                    return

        latest = SyncProgress()
        with trio.fail_after(SYNC_DEADLINE), Live(console=self.console,
                                                  refresh_per_second=8) as live:
            async with trio.open_nursery() as waiting:
                waiting.start_soon(wait_completed)
                while not completed.is_set():
                    current = await _call(self.client.get_grant, grant.id)
                    if current.sync_progress.folders_total:
                        latest = current.sync_progress  # zero again once it has ended
                    live.update(_progress_line(current, latest,
                                               trio.current_time() - started))
                    with trio.move_on_after(PROGRESS_REFRESH):
                        await completed.wait()
            live.update(Text(""))
        elapsed = trio.current_time() - started
        folders = await self.running.store.list_folders(grant.id)
        self.seen.folder_names.update({f.id: f.name for f in folders})
        counts = ", ".join(f"{f.name} {f.total_count}" for f in folders if f.total_count)
        total = sum(f.total_count for f in folders)
        self.console.print(f"[green]initial sync complete[/] in {elapsed:.1f} s: "
                           f"{total} messages in {len(folders)} folders ({counts})")

    async def _script(self, pump: EventPump) -> None:
        box = self.mailbox
        params = ConnectParams(host=box.imap_host, port=box.imap_tls_port, security="tls",
                               ssl_context=ssl.create_default_context(
                                   cafile=str(box.ca_file)))
        self.console.print("\nChanges from a second IMAP client, and the events they cause:")
        async with open_imap(params) as imap:
            await imap.login(box.user, box.password)
            for step in STEPS:
                self.console.print(f"[bold]> {step.title}[/]")
                expected = step.expect(self.seen)
                await step.change(imap)
                with trio.fail_after(STEP_DEADLINE):
                    while not expected(self._show(await pump.next())):
                        pass
        self.console.print("[green]every change arrived as its event[/]")

    async def _expect(self, pump: EventPump, wanted: Callable[[Event], bool]) -> Event:
        with trio.fail_after(STEP_DEADLINE):
            while True:
                event = self._show(await pump.next())
                if wanted(event):
                    return event

    async def _through_the_api(self, grant: Grant, pump: EventPump) -> None:
        """Send, move and delete through Tidings itself: each call changes the server
        before it returns, and makes exactly one event per change."""
        self.console.print("\nChanges through the Tidings API, and their events:")
        self.console.print(f'[bold]> SendMessage "{SUBJECT_SENT}" to {grant.email}[/]')
        sent = await _call(functools.partial(
            self.client.send_message, grant.id, to=grant.email, subject=SUBJECT_SENT,
            body="<p>Sent over SMTP by the daemon, saved in <b>Sent</b>.</p>"))
        await self._expect(pump, lambda e: e.type == "message.send_success")
        inbox = await self._expect(pump, lambda e: e.type == "message.created"
                                   and e.subject == SUBJECT_SENT
                                   and e.object_id != sent.message.id)
        self.console.print(f'[bold]> UpdateMessage: star "{SUBJECT_SENT}" and move it to '
                           f"{ARCHIVE}[/]")
        folders = {f.name: f.id for f in await _call(self.client.list_folders, grant.id)}
        await _call(functools.partial(self.client.update_message, grant.id, inbox.object_id,
                                      starred=True, folders=[folders[ARCHIVE]]))
        await self._expect(pump, lambda e: e.type == "message.updated"
                           and e.object_id == inbox.object_id)
        self.console.print(f'[bold]> DeleteMessage: the Sent copy of "{SUBJECT_SENT}"[/]')
        await _call(self.client.delete_message, grant.id, sent.message.id)
        await self._expect(pump, lambda e: e.type == "message.updated"
                           and e.object_id == sent.message.id)
        self.console.print("[green]every call made its change and its event[/]")

    def _show(self, event: Event) -> Event:
        self.seen.note(event)
        self.console.print("  " + describe(event, self.seen), markup=False)
        return event


async def _demo(env: DemoEnvironment, options: DemoOptions, console: Console) -> int:
    assert env.mailbox is not None
    outcome = INTERRUPTED
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def stop_on_signal() -> None:
                async for _signum in signals:
                    console.print("\nstopping")
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(stop_on_signal)
            running: RunningDaemon = await nursery.start(
                functools.partial(run_daemon, env.daemon_config(), handle_signals=False))
            console.print(f"daemon: gRPC 127.0.0.1:{running.grpc_port}, web "
                          f"{running.public_url}, data in {env.root / 'data'}")
            _key_id, api_key = await running.accounts.create_api_key("tidings demo")
            client = Tidings(f"127.0.0.1:{running.grpc_port}", api_key)
            session = DemoSession(client, running, env.mailbox, console, nursery)
            try:
                outcome = await session.run(options.once)
            finally:
                if session.scripted and outcome == INTERRUPTED:
                    outcome = 0  # Ctrl-C is how following ends
                client.close()
                nursery.cancel_scope.cancel()
    return outcome


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo; the exit status (2: it cannot run here, 1: it failed)."""
    console = console or Console(highlight=False, soft_wrap=True)
    try:
        ensure_dovecot(console.print)
    except DemoUnavailable as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 2
    try:
        with DemoEnvironment(options.messages, keep=options.keep) as env:
            box = env.mailbox
            assert box is not None
            seeded = ", ".join(f"{folder} {count}" for folder, count in env.seeded.items())
            console.print(f"Dovecot: IMAP 127.0.0.1:{box.imap_tls_port} (TLS), user "
                          f"{box.user}, {options.messages} messages ({seeded}); SMTP "
                          f"submission 127.0.0.1:{box.smtp_tls_port}")
            outcome = trio.run(_demo, env, options, console)
    except DovecotError as exc:
        print(f"tidings: {exc}", file=sys.stderr)
        return 1
    if options.keep:
        console.print(f"kept {env.root}")
    return outcome


def _run(args: argparse.Namespace) -> int:
    if args.messages < 0:
        print("tidings: --messages must be 0 or more", file=sys.stderr)
        return 2
    return run_demo(DemoOptions(messages=args.messages, keep=args.keep, once=args.once))


def add_demo_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run a private Dovecot, the daemon and the Python client together")
    parser.add_argument("--messages", type=int, default=300, metavar="N",
                        help="messages to put in the demo mailbox (default 300)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (Dovecot, data dir) afterwards")
    parser.add_argument("--once", action="store_true",
                        help="make the scripted changes, print their events and exit")
    parser.set_defaults(run=_run)
