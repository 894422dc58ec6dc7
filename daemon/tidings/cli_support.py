"""What every `tidings` subcommand shares: the config option and its loading."""

from __future__ import annotations

import argparse
import os

from tidings.config import Config, load_config

__all__ = ["CONFIG_ENV", "CliError", "add_config_option", "load_config_from"]

CONFIG_ENV = "TIDINGS_CONFIG"


class CliError(Exception):
    """A command cannot do what was asked; the message says why (exit status 2)."""


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", metavar="PATH", default=os.environ.get(CONFIG_ENV),
        help=f"TOML settings file (default: ${CONFIG_ENV}, else built-in defaults"
             " and TIDINGS_* variables)",
    )


def load_config_from(args: argparse.Namespace) -> Config:
    path: str | None = args.config
    return load_config(path)
