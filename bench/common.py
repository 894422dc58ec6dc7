"""Shared pieces of the benchmarks: a seeded private Dovecot, the plain-socket floor,
and result printing.

`print_table` also appends every figure as one JSON line to the file named by
``TIDINGS_BENCH_RESULTS`` when that is set: `python -m bench` sets it (and
``TIDINGS_BENCH_NAME``) for each benchmark it runs and builds its report from the lines.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.mailgen import generate  # noqa: E402

__all__ = [
    "NAME_ENV",
    "RESULTS_ENV",
    "Figure",
    "Seeded",
    "peak_rss_mb",
    "print_table",
    "raw_fetch",
    "record_figures",
    "seeded_dovecot",
]

FOLDERS = ("INBOX", "Sent", "Archive")
RESULTS_ENV = "TIDINGS_BENCH_RESULTS"
NAME_ENV = "TIDINGS_BENCH_NAME"


@dataclass(frozen=True, slots=True)
class Seeded:
    dovecot: Dovecot
    user: str
    password: str
    messages: int
    bytes: int


@contextmanager
def seeded_dovecot(count: int, *, seed: int = 1, days: int = 80) -> Iterator[Seeded]:
    """A private Dovecot with one user holding ``count`` reproducible messages, all inside
    the default 90-day window."""
    root = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    os.chmod(root, 0o755)
    dovecot = Dovecot(root)
    dovecot.start()
    try:
        user, password = dovecot.add_user("bench")
        total = 0
        for item in generate(count, seed=seed, days=days):
            dovecot.seed(user, [item.raw], folder=item.folder, when=item.when,
                         chown=False)
            total += len(item.raw)
        dovecot.chown_mail(user)
        yield Seeded(dovecot, user, password, count, total)
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


def raw_fetch(host: str, port: int, user: str, password: str, items: str,
              folders: Sequence[str] = FOLDERS, context: ssl.SSLContext | None = None
              ) -> tuple[int, float]:
    """The floor: one plain socket, one ``UID FETCH 1:* (items)`` per folder, bytes
    counted, nothing parsed. Returns (bytes read, seconds)."""
    sock: socket.socket = socket.create_connection((host, port))
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="localhost")
    sock.recv(4096)

    def command(tag: str, line: str) -> int:
        sock.sendall(f"{tag} {line}\r\n".encode())
        tail, total, end = b"", 0, f"\r\n{tag} ".encode()
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise EOFError("server closed the connection")
            total += len(chunk)
            tail = (tail + chunk)[-4096:]
            if tail.endswith(b"\r\n") and (end in tail or tail.startswith(end[2:])):
                return total

    command("a", f"LOGIN {user} {password}")
    started, count = time.perf_counter(), 0
    for i, folder in enumerate(folders):
        command(f"s{i}", f"EXAMINE {folder}")
        count += command(f"f{i}", f"UID FETCH 1:* ({items})")
    elapsed = time.perf_counter() - started
    sock.close()
    return count, elapsed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""

    @property
    def ratio(self) -> str:
        if self.baseline in (None, 0):
            return ""
        return f"{self.value / self.baseline:.2f}×"

    def to_record(self, bench: str, table: str) -> dict[str, object]:
        """The JSON object of one results line."""
        return {"bench": bench, "table": table, "name": self.name, "value": self.value,
                "unit": self.unit, "baseline_name": self.baseline_name,
                "baseline": self.baseline, "target": self.target}

    @classmethod
    def from_record(cls, record: dict[str, object]) -> Figure:
        baseline = record.get("baseline")
        return cls(name=str(record["name"]), value=float(str(record["value"])),
                   unit=str(record.get("unit", "")),
                   baseline_name=str(record.get("baseline_name", "")),
                   baseline=None if baseline is None else float(str(baseline)),
                   target=str(record.get("target", "")))


def record_figures(title: str, figures: Sequence[Figure]) -> None:
    """Append the figures as JSON lines to ``$TIDINGS_BENCH_RESULTS``, if set. The bench
    name is ``$TIDINGS_BENCH_NAME``, else the script's file name."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    bench = os.environ.get(NAME_ENV) or Path(sys.argv[0]).stem
    with open(path, "a", encoding="utf-8") as out:
        for figure in figures:
            out.write(json.dumps(figure.to_record(bench, title), ensure_ascii=False) + "\n")


def print_table(title: str, figures: Sequence[Figure]) -> None:
    record_figures(title, figures)
    print(f"\n{title}")
    header = f"{'figure':34} {'value':>14} {'baseline':>28} {'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for f in figures:
        base = f"{f.baseline:,.2f} {f.unit} ({f.baseline_name})" if f.baseline is not None \
            else ""
        print(f"{f.name:34} {f.value:>10,.2f} {f.unit:3} {base:>28} {f.ratio:>8}  {f.target}")
