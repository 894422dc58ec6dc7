"""What the client subcommands (`grants`, `messages`, `send`, `events`) share: options
to reach the daemon, opening the Python client, server errors as exit status 1, and
output as rich tables for people or JSON for scripts."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Final, TextIO

import grpc
from rich.console import Console
from rich.table import Table

from tidings.cli_support import CliError
from tidings_client import Tidings, TidingsError, Unavailable

__all__ = [
    "ADDRESS_ENV",
    "API_KEY_ENV",
    "DEFAULT_ADDRESS",
    "Connection",
    "Output",
    "add_client_options",
    "client_command",
    "describe_error",
    "jsonable",
    "when",
]

ADDRESS_ENV: Final = "TIDINGS_ADDRESS"
API_KEY_ENV: Final = "TIDINGS_API_KEY"
DEFAULT_ADDRESS: Final = "127.0.0.1:50051"
# Piped output is read by grep and friends: keep table rows whole instead of wrapping
# them at rich's default of 80 columns.
PIPE_WIDTH: Final = 200

ClientRun = Callable[[argparse.Namespace, Tidings, "Output"], int]


def add_client_options(parser: argparse.ArgumentParser, *, json_help: str = "") -> None:
    """--address, --api-key, --tls, --ca-file, --timeout and --json."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--address", default=os.environ.get(ADDRESS_ENV, DEFAULT_ADDRESS), metavar="HOST:PORT",
        help=f"the daemon's gRPC address (default: ${ADDRESS_ENV}, else {DEFAULT_ADDRESS})")
    group.add_argument(
        "--api-key", default=os.environ.get(API_KEY_ENV), metavar="KEY",
        help=f"API key from `tidings keys create` (default: ${API_KEY_ENV}; required)")
    group.add_argument("--tls", action="store_true",
                       help="connect with TLS, trusting the system's CAs")
    group.add_argument("--ca-file", type=Path, metavar="PEM",
                       help="connect with TLS, trusting this CA certificate (implies --tls)")
    group.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                       help="deadline of each call (default 30)")
    parser.add_argument("--json", action="store_true",
                        help=json_help or "print one JSON document instead of a table")


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the daemon is and how to reach it, from the command line."""

    address: str
    api_key: str
    credentials: Any  # grpc.ChannelCredentials, or None for plaintext
    timeout: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Connection:
        api_key: str | None = args.api_key
        if not api_key:
            raise CliError(f"an API key is required: --api-key or ${API_KEY_ENV}")
        if args.timeout <= 0:
            raise CliError("--timeout must be more than 0")
        ca_file: Path | None = args.ca_file
        credentials = None
        if ca_file is not None:
            try:
                credentials = grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes())
            except OSError as exc:
                raise CliError(f"cannot read --ca-file {ca_file}: {exc.strerror}") from None
        elif args.tls:
            credentials = grpc.ssl_channel_credentials()
        return cls(args.address, api_key, credentials, args.timeout)

    def client(self) -> Tidings:
        return Tidings(self.address, self.api_key,
                       tls=False if self.credentials is None else self.credentials,
                       timeout=self.timeout)


def describe_error(error: TidingsError, address: str) -> str:
    """The line to print for a refused call (after ``tidings: ``)."""
    if isinstance(error, Unavailable):
        return f"cannot reach the daemon at {address}: {error.message}"
    return error.message or error.code


def client_command(run: ClientRun) -> Callable[[argparse.Namespace], int]:
    """A subcommand's ``run``: the client opened from the options, `TidingsError`s
    printed as ``tidings: <message>`` with exit status 1."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        connection = Connection.from_args(args)
        output = Output(json_mode=args.json)
        try:
            with connection.client() as client:
                return run(args, client, output)
        except TidingsError as error:
            output.error(describe_error(error, connection.address))
            return 1

    return wrapper


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def jsonable(value: Any) -> Any:
    """The client's values as JSON-ready data: dataclasses become objects (a trailing
    underscore dropped from field names, so ``from_`` is ``from``), datetimes ISO 8601
    strings, enums their values, bytes base64."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name.rstrip("_"): jsonable(getattr(value, field.name))
                for field in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


class Output:
    """Where a command writes: tables and text for people, JSON for scripts."""

    def __init__(self, *, json_mode: bool, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        width = None if self.stdout.isatty() else PIPE_WIDTH
        self.console = Console(file=self.stdout, highlight=False, width=width)
        self.err_console = Console(file=self.stderr, highlight=False)

    def json(self, value: Any) -> None:
        """One JSON document (or, called per item, JSON lines)."""
        self.stdout.write(json.dumps(jsonable(value), ensure_ascii=False) + "\n")
        self.stdout.flush()

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[str]],
              title: str | None = None) -> None:
        table = Table(title=title, title_justify="left", show_edge=False, box=None,
                      header_style="bold", pad_edge=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        self._print(table)

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        """A record as a two-column table: name, value."""
        table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in pairs:
            table.add_row(name, value)
        self._print(table)

    def _print(self, table: Table) -> None:
        # rich pads every cell to its column's width; trailing blanks only get in the
        # way of whoever reads or pastes the output.
        with self.console.capture() as captured:
            self.console.print(table)
        lines = captured.get().splitlines()
        self.stdout.write("".join(line.rstrip() + "\n" for line in lines))
        self.stdout.flush()

    def line(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)

    def note(self, text: str) -> None:
        """A remark for the person at the terminal, on stderr: never mixed into
        output that scripts parse."""
        self.err_console.print(text, markup=False, soft_wrap=True)

    def error(self, message: str) -> None:
        print(f"tidings: {message}", file=self.stderr)
