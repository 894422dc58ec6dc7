"""The committed generated code matches proto/, and the check notices drift."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATE = REPO / "proto" / "generate.py"
COMMITTED = REPO / "daemon" / "tidings" / "v1"


def _check(output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), "--check", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def committed_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "v1"
    shutil.copytree(COMMITTED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_committed_output_is_up_to_date() -> None:
    result = _check(COMMITTED)
    assert result.returncode == 0, result.stderr


def test_check_fails_on_an_edited_file(committed_copy: Path) -> None:
    stub = committed_copy / "messages_pb2.pyi"
    stub.write_text(stub.read_text() + "\n# edited by hand\n")
    result = _check(committed_copy)
    assert result.returncode == 1
    assert "differs: messages_pb2.pyi" in result.stderr


def test_check_fails_on_missing_and_stray_files(committed_copy: Path) -> None:
    (committed_copy / "send_pb2_grpc.py").unlink()
    (committed_copy / "old_pb2.py").write_text("")
    result = _check(committed_copy)
    assert result.returncode == 1
    assert "missing: send_pb2_grpc.py" in result.stderr
    assert "not generated: old_pb2.py" in result.stderr


def test_generated_imports_are_package_qualified() -> None:
    for module in COMMITTED.glob("*.py*"):
        for line in module.read_text().splitlines():
            if "_pb2" in line and line.startswith("import "):
                assert line.startswith("import tidings.v1."), (module.name, line)
