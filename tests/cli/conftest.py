"""Running `tidings.cli.main` against a real daemon: the command runs in a worker thread
(the daemon runs in the test's trio thread), with its own stdin, stdout and stderr.

``sys.stdout`` and friends are process-wide, so they are replaced by proxies that send a
registered thread's reads and writes to its own buffers and everyone else's to the real
streams: the daemon's logs never end up in a command's output."""

from __future__ import annotations

import functools
import io
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import trio

from tests.clients.conftest import ClientDaemon, client_daemon
from tidings.cli import main

__all__ = ["CliResult", "CliRunner", "cli", "client_daemon"]


@dataclass(frozen=True, slots=True)
class CliResult:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class _ThreadStream(io.TextIOBase):
    """A text stream that is a per-thread buffer for registered threads."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.streams: dict[int, io.StringIO] = {}

    def _target(self) -> Any:
        return self.streams.get(threading.get_ident(), self.fallback)

    def write(self, text: str) -> int:
        written: int = self._target().write(text)
        return written

    def read(self, size: int | None = -1) -> str:
        text: str = self._target().read(size)
        return text

    def readline(self, size: int | None = -1) -> str:
        line: str = self._target().readline(size)
        return line

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


class CliRunner:
    def __init__(self, daemon: ClientDaemon, stdin: _ThreadStream, stdout: _ThreadStream,
                 stderr: _ThreadStream) -> None:
        self.daemon = daemon
        self._streams = (stdin, stdout, stderr)

    def _run(self, argv: list[str], stdin_text: str) -> CliResult:
        ident = threading.get_ident()
        buffers = (io.StringIO(stdin_text), io.StringIO(), io.StringIO())
        for proxy, buffer in zip(self._streams, buffers, strict=True):
            proxy.streams[ident] = buffer
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse refusing the arguments
            status = exc.code if isinstance(exc.code, int) else 2
        finally:
            for proxy in self._streams:
                del proxy.streams[ident]
        return CliResult(status, buffers[1].getvalue(), buffers[2].getvalue())

    async def __call__(self, *args: str, stdin: str = "", api_key: str | None = None,
                       connection: bool = True, deadline: float = 120.0) -> CliResult:
        """``tidings ARGS...`` with --address and --api-key of the test daemon (unless
        ``connection`` is false), in a worker thread, within ``deadline`` seconds."""
        argv = list(args)
        if connection:
            key = self.daemon.api_key if api_key is None else api_key
            argv += ["--address", self.daemon.address, f"--api-key={key}"]
        with trio.fail_after(deadline):
            return await trio.to_thread.run_sync(
                functools.partial(self._run, argv, stdin), abandon_on_cancel=True)


@pytest.fixture
def cli(client_daemon: ClientDaemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    proxies = []
    for name in ("stdin", "stdout", "stderr"):
        proxy = _ThreadStream(getattr(sys, name))
        monkeypatch.setattr(sys, name, proxy)
        proxies.append(proxy)
    yield CliRunner(client_daemon, *proxies)


def table_rows(text: str) -> list[Sequence[str]]:
    """The cells of each line of a table printed without borders."""
    return [line.split() for line in text.splitlines() if line.strip()]
