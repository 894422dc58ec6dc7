"""The `tidings` command: `tidings serve`, `tidings keys ...`, `tidings nodes`, `tidings demo`,
`tidings --version`, and the API's client commands (they talk to a running daemon over
gRPC, with --address and --api-key): `tidings grants add|list|show|delete`,
`tidings messages list|show`, `tidings send`, `tidings events watch`.

A subcommand is one function that adds its parser to `SUBCOMMANDS`' subparsers and sets
``run`` (``args -> exit status``) as its default; put larger ones in ``cli_<name>.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import trio

from tidings import __version__
from tidings.api.server import GrpcStartError
from tidings.app import run_daemon
from tidings.cli_events import add_events_command
from tidings.cli_grants import add_grants_command
from tidings.cli_keys import add_keys_command
from tidings.cli_messages import add_messages_command
from tidings.cli_nodes import add_nodes_command
from tidings.cli_send import add_send_command
from tidings.cli_support import CliError, add_config_option, load_config_from
from tidings.config import ConfigError
from tidings.demo import add_demo_command
from tidings.store import StoreError
from tidings.sync.supervisor import first_leaf

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

Subparsers = Any  # argparse's _SubParsersAction, which it does not export


def _serve(args: argparse.Namespace) -> int:
    config = load_config_from(args)
    try:
        trio.run(run_daemon, config)
    except KeyboardInterrupt:  # before the signal handler was in place
        return 130
    return 0


def add_serve_command(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("serve", help="run the daemon until SIGTERM or SIGINT")
    add_config_option(parser)
    parser.set_defaults(run=_serve)


SUBCOMMANDS: list[Callable[[Subparsers], None]] = [
    add_serve_command, add_keys_command, add_demo_command,
    add_grants_command, add_messages_command, add_send_command, add_events_command,
    add_nodes_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidings", description="Tidings: many IMAP accounts, kept in sync, served over gRPC."
    )
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except BaseException as exc:
        error = first_leaf(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(error, ConfigError | CliError):
            print(f"tidings: {error}", file=sys.stderr)
            return 2
        if isinstance(error, GrpcStartError | StoreError | OSError):
            print(f"tidings: {error}", file=sys.stderr)
            return 1
        if isinstance(error, KeyboardInterrupt):
            return 130
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
