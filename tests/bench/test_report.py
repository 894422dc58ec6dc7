"""`python -m bench`'s report, built from figures recorded as JSON lines (no benchmark
runs here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import (
    BENCH_NAMES,
    BENCHES,
    Outcome,
    ReportError,
    build_parser,
    format_report,
    read_results,
    report_rows,
)
from bench.common import NAME_ENV, RESULTS_ENV, Figure, print_table

SYNTHETIC = [
    {"bench": "imap_fetch", "table": "IMAP fetch", "name": "client MB/s", "value": 120.0,
     "unit": "MB/s", "baseline_name": "plain socket", "baseline": 240.0,
     "target": ">= 0.40×"},
    {"bench": "imap_fetch", "table": "IMAP fetch", "name": "peak RSS", "value": 41.25,
     "unit": "MB", "baseline_name": "", "baseline": None, "target": "< 100 MB"},
    {"bench": "sync", "table": "Sync engine", "name": "change latency p50 (ms)",
     "value": 547.0, "unit": "ms", "baseline_name": "bare IDLE", "baseline": 501.0,
     "target": "floor + 50 ms"},
]


def synthetic_lines() -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in SYNTHETIC]


def test_results_are_read_in_order_with_every_field() -> None:
    results = read_results(["", *synthetic_lines(), "   "])
    assert [(r.bench, r.table) for r in results] == [
        ("imap_fetch", "IMAP fetch"), ("imap_fetch", "IMAP fetch"), ("sync", "Sync engine")]
    assert results[0].figure == Figure("client MB/s", 120.0, "MB/s", "plain socket", 240.0,
                                       ">= 0.40×")
    assert results[1].figure.baseline is None


def test_rows_carry_value_baseline_ratio_and_target() -> None:
    rows = report_rows(read_results(synthetic_lines()))
    assert rows == [
        ("imap_fetch", "client MB/s", "120 MB/s", "240 MB/s (plain socket)", "0.50×",
         ">= 0.40×"),
        ("imap_fetch", "peak RSS", "41.2 MB", "", "", "< 100 MB"),
        ("sync", "change latency p50 (ms)", "547 ms", "501 ms (bare IDLE)", "1.09×",
         "floor + 50 ms"),
    ]


def test_report_is_one_table_after_the_machine() -> None:
    results = read_results(synthetic_lines())
    text = format_report(results, ["AMD EPYC, 2 cores", "23.5 GB RAM", "Python 3.11.7"])
    lines = text.splitlines()
    assert lines[0] == "Machine: AMD EPYC, 2 cores; 23.5 GB RAM; Python 3.11.7"
    header = lines[2]
    assert header.split() == ["bench", "figure", "value", "baseline", "(same", "run)",
                              "ratio", "target"]
    assert set(lines[3].replace(" ", "")) == {"-"}
    body = lines[4:]
    assert len(body) == 3
    assert body[0].startswith("imap_fetch") and "0.50×" in body[0] and ">= 0.40×" in body[0]
    # Columns line up: every row's ratio ends where the header's does.
    ratio_end = header.index("ratio") + len("ratio")
    assert body[0][:ratio_end].endswith("0.50×")
    assert body[2][:ratio_end].endswith("1.09×")


def test_markdown_report() -> None:
    text = format_report(read_results(synthetic_lines()), ["x"], markdown=True)
    table = text.splitlines()[2:]
    assert table[0] == "| bench | figure | value | baseline (same run) | ratio | target |"
    assert table[1] == "|---|---|---|---|---|---|"
    assert table[2] == ("| imap_fetch | client MB/s | 120 MB/s | 240 MB/s (plain socket) "
                        "| 0.50× | >= 0.40× |")


def test_failed_and_silent_benchmarks_are_named(tmp_path: Path) -> None:
    results = read_results(synthetic_lines())
    outcomes = [
        Outcome("imap_fetch", 0, 7.0, tmp_path / "imap_fetch.log"),
        Outcome("sync", 0, 60.0, tmp_path / "sync.log"),
        Outcome("api", 1, 12.0, tmp_path / "api.log"),
        Outcome("events", None, 300.0, tmp_path / "events.log"),
        Outcome("grpc_bridge", 0, 30.0, tmp_path / "grpc_bridge.log"),
    ]
    tail = format_report(results, ["x"], outcomes).splitlines()[-3:]
    assert tail == [
        f"api: failed (exit status 1) after 12 s; see {tmp_path / 'api.log'}",
        f"events: timed out after 300 s; see {tmp_path / 'events.log'}",
        f"grpc_bridge: ran but recorded no figures; see {tmp_path / 'grpc_bridge.log'}",
    ]


def test_a_line_that_is_not_a_figure_is_reported_with_its_place() -> None:
    with pytest.raises(ReportError, match=r"sync\.jsonl:2: not a figure"):
        read_results([synthetic_lines()[0], '{"bench": "sync"}'], "sync.jsonl")
    with pytest.raises(ReportError, match=r":1: not a figure"):
        read_results(["not json"])


def test_print_table_records_figures_for_the_runner(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(path))
    monkeypatch.setenv(NAME_ENV, "api")
    figures = [Figure("Get: p50 (ms)", 3.5, "ms"),
               Figure("download (MB/s)", 50.0, "MB/s", "plain socket", 100.0, ">= 0.50×")]
    print_table("Mail API", figures)
    print_table("Mail API, again", figures[:1])
    assert "Get: p50 (ms)" in capsys.readouterr().out  # the script's own table stays
    results = read_results(path.read_text(encoding="utf-8").splitlines())
    assert [(r.bench, r.table, r.figure) for r in results] == [
        ("api", "Mail API", figures[0]), ("api", "Mail API", figures[1]),
        ("api", "Mail API, again", figures[0])]


def test_print_table_records_nothing_without_the_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    print_table("t", [Figure("f", 1.0, "s")])
    assert list(tmp_path.iterdir()) == []


def test_runner_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["--quick", "--only", "imap_fetch", "--only", "api"])
    assert args.quick and args.only == ["imap_fetch", "api"]
    assert set(BENCH_NAMES) == {"imap_fetch", "sync", "api", "events", "imap_parse",
                                "mime_parse", "grpc_bridge", "cluster"}
    assert all(bench.script.is_file() for bench in BENCHES)
    with pytest.raises(SystemExit):
        parser.parse_args(["--only", "nonsense"])
