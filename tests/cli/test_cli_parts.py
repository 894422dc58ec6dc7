"""The client commands' pieces that need no daemon: JSON of the client's values,
passwords from stdin, folder names, --since, and SendMessageStream's chunks."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tidings.cli import build_parser
from tidings.cli_client import DEFAULT_ADDRESS, Connection, Output, jsonable
from tidings.cli_events import parse_since
from tidings.cli_grants import SyncView, read_passwords
from tidings.cli_messages import resolve_folder
from tidings.cli_support import CliError
from tidings_client import (
    EmailAddress,
    Folder,
    FolderRole,
    Grant,
    GrantStatus,
    Security,
    ServerSettings,
    SyncProgress,
    SyncState,
)


def test_jsonable_turns_client_values_into_json_data() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert jsonable(EmailAddress("a@example.org", "Ann")) == {"email": "a@example.org",
                                                              "name": "Ann"}
    assert jsonable(ServerSettings("h", 993, Security.TLS, "u")) == {
        "host": "h", "port": 993, "security": "tls", "username": "u"}
    assert jsonable({"at": when, "raw": b"\x00\xff", "ids": ("a", "b"),
                     "p": SyncProgress(1, 2, 3, 4)}) == {
        "at": "2026-01-02T03:04:05+00:00", "raw": "AP8=", "ids": ["a", "b"],
        "p": {"folders_done": 1, "folders_total": 2, "messages_done": 3,
              "messages_total": 4}}


def test_passwords_from_stdin() -> None:
    assert read_passwords("a@x", from_stdin=True, separate_smtp=False,
                          stdin=io.StringIO("p a s s\nignored\n")) == ("p a s s", None)
    assert read_passwords("a@x", from_stdin=True, separate_smtp=True,
                          stdin=io.StringIO("imap\r\nsmtp\n")) == ("imap", "smtp")
    assert read_passwords("a@x", from_stdin=True, separate_smtp=False,
                          stdin=io.StringIO("no newline")) == ("no newline", None)
    with pytest.raises(CliError, match="expected 2 non-empty"):
        read_passwords("a@x", from_stdin=True, separate_smtp=True,
                       stdin=io.StringIO("only one\n"))
    with pytest.raises(CliError, match="no terminal"):
        read_passwords("a@x", from_stdin=False, separate_smtp=False,
                       stdin=io.StringIO(""))


def _folder(folder_id: str, path: str, name: str) -> Folder:
    return Folder(folder_id, "g", name, path, None, FolderRole.NONE, (), 0, 0, 0)


def test_folders_by_id_path_or_name() -> None:
    folders = [_folder("f1", "INBOX", "INBOX"), _folder("f2", "Work/Reports", "Reports"),
               _folder("f3", "Home/Reports", "Reports")]
    assert resolve_folder(folders, "f2").id == "f2"
    assert resolve_folder(folders, "Work/Reports").id == "f2"
    assert resolve_folder(folders, "inbox").id == "f1"
    with pytest.raises(CliError, match="ambiguous"):
        resolve_folder(folders, "reports")
    with pytest.raises(CliError, match="no folder 'Spam'"):
        resolve_folder(folders, "Spam")


def test_since_takes_unix_seconds_or_iso_with_zone() -> None:
    assert parse_since("0") == 0.0
    assert parse_since("2026-01-31T09:00:00+01:00") == datetime.fromisoformat(
        "2026-01-31T09:00:00+01:00")
    with pytest.raises(CliError, match="time zone"):
        parse_since("2026-01-31T09:00:00")
    with pytest.raises(CliError, match="not Unix seconds"):
        parse_since("last tuesday")


def test_connection_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDINGS_ADDRESS", raising=False)
    monkeypatch.delenv("TIDINGS_API_KEY", raising=False)
    args = build_parser().parse_args(["grants", "list"])
    assert args.address == DEFAULT_ADDRESS and args.api_key is None
    with pytest.raises(CliError, match="API key is required"):
        Connection.from_args(args)
    monkeypatch.setenv("TIDINGS_ADDRESS", "daemon.example:7000")
    monkeypatch.setenv("TIDINGS_API_KEY", "k123")
    args = build_parser().parse_args(["grants", "list"])
    connection = Connection.from_args(args)
    assert (connection.address, connection.api_key) == ("daemon.example:7000", "k123")
    assert connection.credentials is None
    tls = Connection.from_args(build_parser().parse_args(["grants", "list", "--tls"]))
    assert tls.credentials is not None
    missing_ca = build_parser().parse_args(["grants", "list", "--ca-file", "/nonexistent.pem"])
    with pytest.raises(CliError, match="cannot read --ca-file"):
        Connection.from_args(missing_ca)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sync_view_draws_progress_bars_on_a_terminal() -> None:
    terminal = _Terminal()
    output = Output(json_mode=False, stdout=io.StringIO(), stderr=terminal)
    grant = _grant(SyncState.RUNNING)
    with SyncView(output) as view:
        view.show(SyncState.INITIAL_SYNC, SyncProgress(1, 3, 10, 40))
        view.finish(grant, SyncProgress(3, 3, 40, 40), 1.5)
    drawn = terminal.getvalue()
    assert "folders" in drawn and "messages" in drawn
    assert "3/3" in drawn and "40/40" in drawn  # the last frame: all done
    assert "initial sync of ann@example.org: running after 1.5 s" in drawn


def test_sync_view_prints_lines_when_not_on_a_terminal() -> None:
    stderr = io.StringIO()
    output = Output(json_mode=False, stdout=io.StringIO(), stderr=stderr)
    with SyncView(output) as view:
        view.show(SyncState.INITIAL_SYNC, SyncProgress(1, 3, 10, 40))
        view.show(SyncState.INITIAL_SYNC, SyncProgress(1, 3, 10, 40))  # unchanged: no line
        view.finish(_grant(SyncState.RUNNING), SyncProgress(3, 3, 40, 40), 2.0)
    assert stderr.getvalue().splitlines() == [
        "initial sync: initial_sync, folders 1/3, messages 10/40",
        "initial sync: running, folders 3/3, messages 40/40",
        "initial sync of ann@example.org: running after 2.0 s (40 messages in 3 folders)",
    ]
    quiet = io.StringIO()
    with SyncView(Output(json_mode=True, stdout=io.StringIO(), stderr=quiet)) as view:
        view.show(SyncState.INITIAL_SYNC, SyncProgress(1, 3, 10, 40))
    assert quiet.getvalue() == ""


def _grant(state: SyncState) -> Grant:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    server = ServerSettings("h", 993, Security.TLS, "ann")
    return Grant("g1", "c1", "imap", "generic", "ann@example.org", "", GrantStatus.VALID, "",
                 server, server, False, 90, state, "", SyncProgress(), when, when)
