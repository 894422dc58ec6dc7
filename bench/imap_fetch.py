"""Pull every message body of a 5,000-message mailbox with our IMAP client, beside a
plain socket that reads the same FETCH and only counts bytes, in the same run.

Target (issue: IMAP protocol layer): at least 40% of the plain-socket rate, and peak RSS
under 100 MB while pulling the whole mailbox (results stream; nothing accumulates).

    .venv/bin/python bench/imap_fetch.py [--count 5000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import FOLDERS, Figure, peak_rss_mb, print_table, raw_fetch, seeded_dovecot
from tidings.imap import ConnectParams, SeqSet, open_imap
from tidings.log import configure_logging

ITEMS = ("UID", "FLAGS", "INTERNALDATE", "BODY.PEEK[]")


async def pull(host: str, port: int, user: str, password: str) -> dict[str, float]:
    params = ConnectParams(host=host, port=port, security="plain", allow_plaintext=True,
                           timeout=120)
    started = time.perf_counter()
    count = octets = 0
    async with open_imap(params) as client:
        await client.login(user, password)
        started = time.perf_counter()
        for folder in FOLDERS:
            await client.select(folder, readonly=True)
            async for fetch in client.uid_fetch(SeqSet.all(), ITEMS):
                body = fetch.sections.get("BODY[]")
                count += 1
                octets += len(body or b"")
    elapsed = time.perf_counter() - started
    return {"messages": count, "bytes": octets, "seconds": elapsed, "rss_mb": peak_rss_mb()}


def child(argv: list[str]) -> None:
    host, port, user, password = argv[0], int(argv[1]), argv[2], argv[3]
    configure_logging("warning")
    print(json.dumps(trio.run(pull, host, port, user, password)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with seeded_dovecot(args.count) as seeded:
        dv = seeded.dovecot
        print(f"mailbox: {seeded.messages} messages, {seeded.bytes / 1e6:.1f} MB on disk")
        items = " ".join(ITEMS)
        raw_fetch(dv.host, dv.port, seeded.user, seeded.password, items)  # warm the indexes
        best_raw = best_ours = None
        for _ in range(args.rounds):
            raw_bytes, raw_seconds = raw_fetch(dv.host, dv.port, seeded.user, seeded.password,
                                               items)
            rate = raw_bytes / 1e6 / raw_seconds
            best_raw = max(best_raw or 0.0, rate)
            out = subprocess.run(
                [sys.executable, __file__, "--child", dv.host, str(dv.port), seeded.user,
                 seeded.password], check=False, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"client run failed:\n{out.stderr[-3000:]}")
            ours = json.loads(out.stdout)
            if best_ours is None or ours["seconds"] < best_ours["seconds"]:
                best_ours = ours
        assert best_ours is not None and best_raw is not None
        mbs = best_ours["bytes"] / 1e6 / best_ours["seconds"]
        print_table("IMAP fetch: every message body (BODY.PEEK[]), plaintext loopback", [
            Figure("tidings client MB/s (bodies)", mbs, "MB/s", "plain socket", best_raw,
                   ">= 0.40×"),
            Figure("tidings client messages/s", best_ours["messages"] / best_ours["seconds"],
                   "msg/s", target=""),
            Figure("client process peak RSS", best_ours["rss_mb"], "MB", target="< 100 MB"),
        ])
        print(f"(bodies: {best_ours['bytes'] / 1e6:.1f} MB in {best_ours['messages']} "
              f"messages; plain-socket figure counts every byte on the wire)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
