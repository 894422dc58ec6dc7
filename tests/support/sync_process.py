"""Run the sync supervisor alone in its own process, on a store (a SQLite file or a
PostgreSQL URL), for crash tests and benchmarks:
``python -m tests.support.sync_process DB KEYHEX CAFILE [--poll SECONDS]``."""

from __future__ import annotations

import ssl
import sys

import trio

from tidings.log import configure_logging
from tidings.store import open_store
from tidings.sync.link import SyncSettings
from tidings.sync.supervisor import Supervisor


async def main(db: str, key: bytes, cafile: str, poll: float) -> None:
    context = ssl.create_default_context(cafile=cafile)  # one for every connection
    async with open_store(db, key) as store:
        supervisor = Supervisor(
            store, SyncSettings(poll_interval=poll, min_backoff=0.2, max_backoff=1.0,
                                fetch_batch=50),
            ssl_context_factory=lambda: context)
        await supervisor.run()


if __name__ == "__main__":
    configure_logging("warning")
    poll = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--poll" else 0.5
    trio.run(main, sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3], poll)
