"""`tidings messages ...` and `tidings events watch` against a real daemon and Dovecot."""

from __future__ import annotations

import pytest

from tests.cli.conftest import CliRunner, table_rows
from tests.clients.conftest import call, imap_session
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message

pytestmark = pytest.mark.dovecot


async def synced_grant(cli: CliRunner, dovecot: Dovecot, count: int
                       ) -> tuple[str, str, str]:
    """(grant id, user, password) of a grant whose initial sync has completed."""
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject=f"note {n}", message_id=f"<note{n}@x>",
                                     body=f"body of note {n}") for n in range(count)])
    with cli.daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await cli.daemon.synced_grant(client, user, password)
    return grant.id, user, password


async def test_messages_list_and_show(cli: CliRunner, dovecot: Dovecot) -> None:
    grant_id, _user, _password = await synced_grant(cli, dovecot, 3)

    listed = await cli("messages", "list", grant_id)
    assert listed.status == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "DATE", "FROM", "SUBJECT", "FOLDERS", "FLAGS"]
    assert sorted(line.split("note ")[1].split()[0] for line in lines[1:]) == ["0", "1", "2"]
    assert all("INBOX" in line and "unread" in line for line in lines[1:])

    page = (await cli("messages", "list", grant_id, "--limit", "2", "--json")).json()
    assert len(page["messages"]) == 2 and page["next_cursor"]
    first = page["messages"][0]
    assert first["grant_id"] == grant_id and first["unread"] is True
    assert first["from"][0]["email"] == "sender@example.com"
    rest = (await cli("messages", "list", grant_id, "--json", "--page-token",
                      page["next_cursor"])).json()
    subjects = {m["subject"] for m in page["messages"] + rest["messages"]}
    assert subjects == {"note 0", "note 1", "note 2"} and rest["next_cursor"] == ""

    # Filters: by folder name and by subject.
    by_subject = (await cli("messages", "list", grant_id, "--subject", "note 1",
                            "--folder", "inbox", "--json")).json()
    assert [m["subject"] for m in by_subject["messages"]] == ["note 1"]
    no_folder = await cli("messages", "list", grant_id, "--folder", "Nowhere")
    assert no_folder.status == 2 and "no folder 'Nowhere'" in no_folder.stderr

    message_id = by_subject["messages"][0]["id"]
    shown = await cli("messages", "show", grant_id, message_id)
    assert shown.status == 0, shown.stderr
    fields = {row[0]: " ".join(row[1:]) for row in table_rows(shown.stdout)}
    assert fields["subject"] == "note 1" and fields["folders"] == "INBOX"
    assert "note1@x" in fields["message-id"]
    assert shown.stdout.rstrip().endswith("body of note 1")

    as_json = (await cli("messages", "show", grant_id, message_id, "--headers",
                         "--json")).json()
    assert as_json["id"] == message_id and "body of note 1" in as_json["body"]
    assert ["Subject", "note 1"] in as_json["headers"]

    missing = await cli("messages", "show", grant_id, "no-such-message")
    assert missing.status == 1 and missing.stderr.startswith("tidings: ")


async def test_events_watch_table_and_json_lines(cli: CliRunner, dovecot: Dovecot) -> None:
    grant_id, user, password = await synced_grant(cli, dovecot, 1)

    # From the start of the log: grant.created ... grant.imap_sync_completed.
    replay = await cli("events", "watch", "--since", "0", "--grant-id", grant_id,
                       "--type", "grant.imap_sync_completed", "--count", "1", "--json")
    assert replay.status == 0, replay.stderr
    [completed] = replay.json_lines()
    assert completed["type"] == "grant.imap_sync_completed"
    assert completed["grant_id"] == grant_id and completed["cursor"]

    # Live: a change made by another IMAP client, after the cursor printed above.
    async with imap_session(dovecot, user, password) as imap:
        await imap.append("INBOX", make_message(subject="fresh", message_id="<fresh@x>"))
    live = await cli("events", "watch", "--cursor", completed["cursor"], "--grant-id",
                     grant_id, "--type", "message.created", "--count", "1")
    assert live.status == 0, live.stderr
    [line] = live.stdout.splitlines()
    assert "message.created" in line and grant_id in line and "'fresh'" in line

    as_json = await cli("events", "watch", "--cursor", completed["cursor"], "--grant-id",
                        grant_id, "--type", "message.created", "--count", "1", "--json")
    [event] = as_json.json_lines()
    assert event["object"]["subject"] == "fresh" and event["object_id"] in line

    # Without filters: every event of the log, in order, the grant's first.
    everything = await cli("events", "watch", "--since", "0", "--count", "3", "--json",
                           deadline=30)
    assert everything.status == 0, everything.stderr
    events = everything.json_lines()
    assert events[0]["type"] == "grant.created"
    assert len({e["cursor"] for e in events}) == 3

    bad = await cli("events", "watch", "--since", "yesterday")
    assert bad.status == 2 and "--since" in bad.stderr

