"""`python -m bench`: every benchmark on reproducible data, then one report.

    .venv/bin/python -m bench [--quick] [--only NAME ...] [--markdown] [--log-dir DIR]

Each benchmark runs as a subprocess of its own (a fresh interpreter, its own private
Dovecot and daemon), with ``TIDINGS_BENCH_RESULTS`` naming a file where `print_table`
appends its figures as JSON lines. When all have run, the report prints the machine and
ONE table: every figure, the baseline measured in the same run, their ratio and the
target. A benchmark's full output (extra lines, checks, errors) goes to its log file.

Default sizes keep the whole report within about 15 minutes on two cores; ``--quick``
uses small ones (about 3 minutes), enough to see that everything runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import NAME_ENV, RESULTS_ENV, Figure  # noqa: E402

__all__ = [
    "BENCHES",
    "Bench",
    "Outcome",
    "ReportError",
    "Result",
    "format_report",
    "machine_lines",
    "main",
    "read_results",
    "report_rows",
]


@dataclass(frozen=True, slots=True)
class Bench:
    """One benchmark script and its arguments for a full and a quick report."""

    name: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    timeout: float  # seconds for a full run; a quick run gets a third of it

    @property
    def script(self) -> Path:
        return ROOT / "bench" / f"{self.name}.py"

    def arguments(self, quick: bool) -> tuple[str, ...]:
        return self.quick if quick else self.full


BENCHES: Final = (
    Bench("imap_fetch", ("--count", "5000", "--rounds", "2"),
          ("--count", "2000", "--rounds", "1"), 600),
    # The idle footprint alone takes two 125 s CPU windows; --quick leaves it out.
    Bench("sync", ("--count", "5000", "--appends", "100", "--grants", "100", "--rtt-ms", "40"),
          ("--count", "1000", "--appends", "30", "--skip", "idle"), 1500),
    Bench("api", ("--count", "5000", "--calls", "300", "--attachment-mb", "20"),
          ("--count", "1000", "--calls", "100", "--attachment-mb", "5"), 900),
    Bench("events", ("--events", "10000", "--subscribers", "50"),
          ("--events", "5000", "--subscribers", "20"), 900),
    Bench("imap_parse", ("--count", "5000", "--rounds", "5"),
          ("--count", "1000", "--rounds", "3"), 600),
    Bench("mime_parse", ("--count", "3000", "--rounds", "5"), ("--count", "1000"), 300),
    Bench("grpc_bridge", ("--calls", "2000", "--messages", "100000"),
          ("--calls", "1000", "--messages", "20000"), 600),
    # Seeding 200 mailboxes and two one-minute rest windows take most of the full run.
    Bench("cluster", ("--grants", "200"),
          ("--grants", "30", "--rest-window", "15"), 1200),
)
BENCH_NAMES: Final = tuple(bench.name for bench in BENCHES)
HEADER: Final = ("bench", "figure", "value", "baseline (same run)", "ratio", "target")


class ReportError(Exception):
    """A results file holds a line that is not a figure; the message says where."""


@dataclass(frozen=True, slots=True)
class Result:
    """One figure as a benchmark recorded it."""

    bench: str
    table: str
    figure: Figure


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one benchmark's subprocess ended."""

    name: str
    returncode: int | None  # None: killed at its timeout
    seconds: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def read_results(lines: Iterable[str], source: str = "results") -> list[Result]:
    """The figures of JSON lines written by `bench.common.record_figures`."""
    results: list[Result] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            results.append(Result(str(record["bench"]), str(record["table"]),
                                  Figure.from_record(record)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportError(f"{source}:{number}: not a figure ({exc})") from None
    return results


def _number(value: float) -> str:
    if not math.isfinite(value):  # a figure that could not be measured (nan, inf)
        return str(value)
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}".rstrip()


def report_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    """One row per figure, in the order recorded: bench, figure, value, baseline (with
    what it is), ratio, target."""
    rows: list[tuple[str, ...]] = []
    for result in results:
        figure = result.figure
        baseline = ""
        if figure.baseline is not None:
            baseline = _with_unit(figure.baseline, figure.unit)
            if figure.baseline_name:
                baseline += f" ({figure.baseline_name})"
        rows.append((result.bench, figure.name, _with_unit(figure.value, figure.unit),
                     baseline, figure.ratio, figure.target))
    return rows


def _plain_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    table = [HEADER, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(HEADER))]
    right = {2, 3, 4}  # numbers line up on the right

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(width) if column in right else cell.ljust(width)
                 for column, (cell, width) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [line(HEADER), "  ".join("-" * width for width in widths), *map(line, rows)]


def _markdown_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"

    return [line(HEADER), "|" + "---|" * len(HEADER), *map(line, rows)]


def format_report(results: Sequence[Result], machine: Sequence[str],
                  outcomes: Sequence[Outcome] = (), *, markdown: bool = False) -> str:
    """The report: the machine, one table of every figure, then any benchmark that
    failed or recorded nothing."""
    lines = [f"Machine: {'; '.join(machine)}", ""]
    rows = report_rows(results)
    lines += _markdown_table(rows) if markdown else _plain_table(rows)
    recorded = {result.bench for result in results}
    for outcome in outcomes:
        if not outcome.ok:
            ending = ("timed out" if outcome.returncode is None
                      else f"failed (exit status {outcome.returncode})")
            lines.append(f"{outcome.name}: {ending} after {outcome.seconds:.0f} s; "
                         f"see {outcome.log}")
        elif outcome.name not in recorded:
            lines.append(f"{outcome.name}: ran but recorded no figures; see {outcome.log}")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3


def _dovecot_version() -> str | None:
    program = shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
         if os.access(path, os.X_OK)), None)
    if program is None:
        return None
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.split()[0] if out.stdout.strip() else None


def machine_lines() -> list[str]:
    """CPU model, cores, RAM, OS, Python and Dovecot versions, load when measured."""
    lines = [
        f"{_cpu_model()}, {os.cpu_count()} cores",
        f"{_ram_gb():.1f} GB RAM",
        platform.platform(terse=True),
        f"Python {platform.python_version()} ({platform.python_implementation()})",
    ]
    dovecot = _dovecot_version()
    if dovecot:
        lines.append(f"Dovecot {dovecot}")
    one, five, _fifteen = os.getloadavg()
    lines.append(f"load average {one:.2f} / {five:.2f} (1 / 5 min) at the start")
    return lines


def run_bench(bench: Bench, quick: bool, log_dir: Path) -> tuple[Outcome, Path]:
    """Run one benchmark to its end (or its timeout); returns how it ended and the
    file its figures went to."""
    results = log_dir / f"{bench.name}.jsonl"
    log = log_dir / f"{bench.name}.log"
    results.unlink(missing_ok=True)
    env = {**os.environ, RESULTS_ENV: str(results), NAME_ENV: bench.name}
    command = [sys.executable, str(bench.script), *bench.arguments(quick)]
    timeout = bench.timeout / 3 if quick else bench.timeout
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        try:
            done = subprocess.run(command, cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
            returncode: int | None = done.returncode
        except subprocess.TimeoutExpired:
            returncode = None
    return Outcome(bench.name, returncode, time.monotonic() - started, log), results


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (about 3 minutes in all) instead of the defaults")
    parser.add_argument("--only", action="append", choices=BENCH_NAMES, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCH_NAMES)}")
    parser.add_argument("--markdown", action="store_true",
                        help="print the table in Markdown (for bench/README.md)")
    parser.add_argument("--log-dir", type=Path, metavar="DIR",
                        help="where each benchmark's output and figures go "
                             "(default: a new temporary directory, kept)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [bench for bench in BENCHES if not args.only or bench.name in args.only]
    log_dir: Path = args.log_dir or Path(tempfile.mkdtemp(prefix="tidings-bench-report-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_lines()
    outcomes: list[Outcome] = []
    results: list[Result] = []
    for bench in chosen:
        print(f"{bench.name}: running{' (quick)' if args.quick else ''}...",
              file=sys.stderr, flush=True)
        outcome, results_file = run_bench(bench, args.quick, log_dir)
        outcomes.append(outcome)
        if results_file.exists():
            with results_file.open(encoding="utf-8") as lines:
                results += read_results(lines, str(results_file))
        if outcome.ok:
            print(f"{bench.name}: done in {outcome.seconds:.0f} s", file=sys.stderr)
        else:
            print(f"{bench.name}: FAILED; last lines of {outcome.log}:\n"
                  f"{_tail(outcome.log)}", file=sys.stderr)
    mode = "quick sizes" if args.quick else "default sizes"
    print(f"Tidings benchmarks ({mode}); logs and raw figures in {log_dir}\n")
    print(format_report(results, machine, outcomes, markdown=args.markdown))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
