"""The demo's parts on their own: the refusal when it cannot run, the missing-Dovecot
error, and how events are described."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tidings import demo_setup
from tidings.demo import DemoOptions, run_demo
from tidings.demo_script import STEPS, Seen, describe
from tidings.devtools import INSTALL_HINT, Dovecot, DovecotUnavailable
from tidings.devtools import dovecot as dovecot_module
from tidings_client import Event, Folder, FolderRole, Message

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def _message(message_id: str, subject: str, folders: tuple[str, ...], *,
             starred: bool = False) -> Message:
    return Message(
        id=message_id, grant_id="g", thread_id="t", subject=subject, from_=(), to=(),
        cc=(), bcc=(), reply_to=(), date=NOW, unread=True, starred=starred, snippet="",
        body="", folders=folders, attachments=(), synthetic_id=False, message_id_header="")


def _event(kind: str, object_id: str, changed: Message | Folder | None = None) -> Event:
    return Event(cursor="c", id="e", type=kind, grant_id="g", object_id=object_id,
                 created_at=NOW, object=changed)


def test_events_are_described_with_subjects_and_folder_names() -> None:
    seen = Seen(folder_names={"f1": "INBOX", "f2": "Archive"})
    created = _event("message.created", "m1", _message("m1", "Hello", ("f1",)))
    seen.note(created)
    assert describe(created, seen).split(None, 2) == [
        "message.created", "m1", '"Hello" in INBOX (unread)']
    moved = _event("message.updated", "m1",
                   _message("m1", "Hello", ("f2",), starred=True))
    seen.note(moved)
    assert describe(moved, seen).endswith('"Hello" in Archive (unread, starred)')
    # A deletion carries no object: the subject comes from what was seen before.
    assert describe(_event("message.deleted", "m1"), seen).endswith('"Hello"')
    folder = Folder(id="f3", grant_id="g", name="Projects", path="Projects", parent_id=None,
                    role=FolderRole.NONE, attributes=(), total_count=0, unread_count=0,
                    child_count=0)
    created_folder = _event("folder.created", "f3", folder)
    seen.note(created_folder)
    assert describe(created_folder, seen).endswith("folder Projects")
    assert describe(_event("folder.deleted", "f3"), seen).endswith("folder Projects")


def test_each_step_waits_for_its_own_event() -> None:
    seen = Seen()
    created = _event("message.created", "m1",
                     _message("m1", "Quarterly numbers are in", ("f1",)))
    assert STEPS[0].expect(seen)(created)
    assert not STEPS[1].expect(seen)(created)
    seen.note(created)
    flagged = _event("message.updated", "m1",
                     _message("m1", "Quarterly numbers are in", ("f1",), starred=True))
    assert STEPS[2].expect(seen)(flagged)
    move = STEPS[3].expect(seen)
    seen.note(flagged)
    assert not move(flagged)  # same folders: not the move yet
    assert move(_event("message.updated", "m1",
                       _message("m1", "Quarterly numbers are in", ("f2",), starred=True)))


def test_without_root_the_demo_explains_and_exits_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert run_demo(DemoOptions(once=True)) == 2
    error = capsys.readouterr().err
    assert error.startswith("tidings: tidings demo starts a private Dovecot")
    assert error.count("\n") == 1


def test_without_dovecot_off_debian_it_names_the_packages_and_exits_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(demo_setup, "dovecot_available", lambda: False)
    monkeypatch.setattr(demo_setup, "_is_debian", lambda: False)
    assert run_demo(DemoOptions(once=True)) == 2
    assert capsys.readouterr().err == (
        "tidings: tidings demo needs Dovecot: apt-get install dovecot-imapd dovecot-lmtpd\n")


def test_starting_dovecot_that_is_not_installed_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dovecot_module, "_program", lambda name: None)
    with pytest.raises(DovecotUnavailable) as missing:
        Dovecot(tmp_path).start()
    assert str(missing.value) == f"dovecot is not installed: {INSTALL_HINT}"
    assert INSTALL_HINT == "apt-get install dovecot-imapd dovecot-lmtpd"
