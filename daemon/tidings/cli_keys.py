"""`tidings keys create | list | revoke`: API keys, straight on the store.

They work whether or not the daemon runs (the store takes writers from several
processes); a new key works at once, a revoked key stops working at once.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import trio

from tidings.app import open_configured_store
from tidings.cli_support import CliError, add_config_option, load_config_from
from tidings.config import Config
from tidings.log import configure_logging
from tidings.service import ApiKeys, NotFound
from tidings.store.access import ApiKey

__all__ = ["add_keys_command"]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


async def _create(config: Config, name: str) -> tuple[str, str]:
    async with open_configured_store(config) as store:
        created = await ApiKeys(store).create(name)
        return created.record.id, created.key


async def _list(config: Config) -> list[ApiKey]:
    async with open_configured_store(config) as store:
        return await ApiKeys(store).list()


async def _revoke(config: Config, key_id: str) -> ApiKey:
    async with open_configured_store(config) as store:
        return await ApiKeys(store).revoke(key_id)


def _run(args: argparse.Namespace) -> int:
    config = load_config_from(args)
    configure_logging("warning")
    if args.action == "create":
        key_id, key = trio.run(_create, config, args.name)
        print(f"key_id: {key_id}")
        print(f"api_key: {key}")
        print("Store the key now: it is not shown again. Send it as "
              "'authorization: Bearer <key>'.", file=sys.stderr)
    elif args.action == "list":
        keys = trio.run(_list, config)
        print(f"{'ID':<26}{'NAME':<24}{'CREATED':<22}REVOKED")
        for record in keys:
            print(f"{record.id:<26}{record.name[:22]:<24}{_when(record.created_at):<22}"
                  f"{_when(record.revoked_at)}")
    else:
        try:
            record = trio.run(_revoke, config, args.key_id)
        except NotFound as exc:
            raise CliError(str(exc)) from None
        print(f"revoked {record.id} ({record.name})")
    return 0


def add_keys_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--name", default="", help="what the key is for")
    add_config_option(create)
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    add_config_option(listing)
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="ID")
    add_config_option(revoke)
    parser.set_defaults(run=_run)
