"""`tidings demo` end to end, as a user runs it: a subprocess with a deadline."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

pytestmark = [
    pytest.mark.dovecot, pytest.mark.slow,
    pytest.mark.sqlite_only("`tidings demo` always runs its daemon on the embedded SQLite"
                            " store in its temporary directory: it has no store setting"),
]

DEADLINE = 240.0
EVENT_TYPES = ("message.created", "message.updated", "message.deleted", "folder.created")


async def _demo(*args: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(DEADLINE):
        return await trio.run_process(
            [sys.executable, "-m", "tidings.cli", "demo", "--once", *args],
            capture_stdout=True, capture_stderr=True, check=False)


def _temp_dir(output: str) -> Path:
    found = re.search(r"data in (\S+)/data", output)
    assert found, output
    return Path(found.group(1))


async def test_once_syncs_then_prints_every_scripted_event_and_cleans_up() -> None:
    result = await _demo("--messages", "50")
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert "user demo, 50 messages" in output
    assert re.search(r"initial sync complete in [\d.]+ s: 50 messages in \d+ folders", output)
    by_imap, _, by_api = output.partition("Changes through the Tidings API")
    assert by_api, output

    def kinds(part: str) -> list[str]:
        return [line.split()[0] for line in part.splitlines() if line.startswith("  ")]

    seen = kinds(by_imap)
    for kind in EVENT_TYPES:
        assert kind in seen, output
    # In the order of the scripted changes: two appends, flag, move, expunge, CREATE.
    scripted = [kind for kind in seen if kind in EVENT_TYPES]
    assert scripted == ["message.created", "message.created", "message.updated",
                        "message.updated", "message.deleted", "folder.created"], output
    # Through the API: the send (its Sent copy and its delivery to the INBOX arrive in
    # either order around message.send_success), then one event for the star-and-move
    # and one for the delete to Trash.
    api = [kind for kind in kinds(by_api) if kind.startswith("message.")]
    assert sorted(api[:3]) == ["message.created", "message.created",
                               "message.send_success"], output
    assert api[3:] == ["message.updated", "message.updated"], output
    assert "every call made its change and its event" in output
    assert '"Quarterly numbers are in" in Archive (unread, starred)' in output
    assert "every change arrived as its event" in output
    assert not _temp_dir(output).exists()


async def test_keep_leaves_the_temporary_directory() -> None:
    result = await _demo("--messages", "3", "--keep")
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    root = _temp_dir(output)
    try:
        assert f"kept {root}" in output
        assert (root / "data" / "tidings.db").exists()
        assert (root / "dovecot" / "dovecot.log").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def test_without_once_it_follows_until_interrupted_then_cleans_up() -> None:
    output = b""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tidings.cli", "demo", "--messages", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        with trio.fail_after(DEADLINE):
            while b"Following events" not in output:
                chunk = await process.stdout.receive_some()
                assert chunk, output.decode()
                output += chunk
            process.send_signal(signal.SIGINT)
            async for chunk in process.stdout:
                output += chunk
            status = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert status == 0, text
    assert "stopping" in text
    assert not _temp_dir(text).exists()
