"""`tidings grants ...` against a real daemon and Dovecot: tables for people, JSON for
scripts, the initial sync followed to its end, server errors as exit status 1."""

from __future__ import annotations

import pytest

from tests.cli.conftest import CliRunner, table_rows
from tests.clients.conftest import ClientDaemon, call
from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message

pytestmark = pytest.mark.dovecot


def grant_options(daemon: ClientDaemon, user: str) -> list[str]:
    """Custom auth for a Dovecot user: IMAP and SMTP over implicit TLS."""
    return [f"{user}@example.org",
            "--imap-host", daemon.dovecot.host, "--imap-port", str(daemon.dovecot.tls_port),
            "--imap-security", "tls", "--imap-username", user,
            "--smtp-host", daemon.smtp.host, "--smtp-port", str(daemon.smtp.tls_port),
            "--smtp-security", "tls", "--smtp-username", user]


async def test_add_wait_then_list_show_delete(cli: CliRunner, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject=f"kept {n}", message_id=f"<kept{n}@x>")
                        for n in range(4)])
    email = f"{user}@example.org"

    added = await cli("grants", "add", *grant_options(cli.daemon, user), "--new-connector",
                      "mail", "--name", "Ann", "--password-stdin", "--wait",
                      stdin=password + "\n")
    assert added.status == 0, added.stderr
    fields = {row[0]: " ".join(row[1:]) for row in table_rows(added.stdout)}
    grant_id = fields["id"]
    assert fields["email"] == email and fields["name"] == "Ann"
    assert fields["status"] == "valid" and fields["sync"] == "running"
    assert fields["imap"].startswith(f"{dovecot.host}:{dovecot.tls_port} (tls, user {user})")
    # Not a terminal: the progress comes as lines on stderr, ending complete.
    assert "connector " in added.stderr and f"grant {grant_id} created" in added.stderr
    progress = [line for line in added.stderr.splitlines()
                if line.startswith("initial sync: ")]
    assert progress[-1].endswith("messages 4/4"), added.stderr
    assert f"initial sync of {email}: running after" in added.stderr
    assert "4 messages in" in added.stderr

    listed = await cli("grants", "list")
    assert listed.status == 0, listed.stderr
    rows = table_rows(listed.stdout)
    assert rows[0] == ["ID", "EMAIL", "NAME", "STATUS", "SYNC", "PROGRESS", "CREATED"]
    assert rows[1][:5] == [grant_id, email, "Ann", "valid", "running"]
    assert "messages 4/4 (100%)" in " ".join(rows[1])
    assert rows[-1] == ["grants", "1-1", "of", "1"]

    as_json = (await cli("grants", "list", "--json")).json()
    assert as_json["total"] == 1
    [grant] = as_json["grants"]
    assert grant["id"] == grant_id and grant["email"] == email
    assert grant["sync_state"] == "running" and grant["grant_status"] == "valid"
    assert grant["imap"] == {"host": dovecot.host, "port": dovecot.tls_port,
                             "security": "tls", "username": user}
    assert "imap_password" not in grant and "password" not in str(grant)

    shown = (await cli("grants", "show", grant_id, "--json")).json()
    assert shown["id"] == grant_id and shown["connector_id"] == grant["connector_id"]
    assert shown["created_at"].endswith("+00:00")

    # Following a grant whose sync is over ends at once, with the grant.
    followed = await cli("grants", "show", grant_id, "--follow", deadline=30)
    assert followed.status == 0, followed.stderr
    assert ["sync", "running"] in table_rows(followed.stdout)

    deleted = await cli("grants", "delete", grant_id)
    assert (deleted.status, deleted.stdout.strip()) == (0, f"deleted grant {grant_id}")
    missing = await cli("grants", "show", grant_id)
    assert missing.status == 1 and missing.stdout == ""
    assert missing.stderr.startswith("tidings: ") and grant_id in missing.stderr
    assert (await cli("grants", "list", "--json")).json() == {"grants": [], "total": 0}


async def test_add_wait_json_is_one_document_after_the_sync(
        cli: CliRunner, dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    dovecot.seed(user, [make_message(subject="one", message_id="<one@x>")])
    with cli.daemon.client() as client:
        connector = await call(client.create_connector, "mail")
    added = await cli("grants", "add", *grant_options(cli.daemon, user), "--connector-id",
                      connector.id, "--password-stdin", "--wait", "--json",
                      "--sync-window-days", "30", "--state", "opaque",
                      stdin=password + "\n")
    assert added.status == 0, added.stderr
    grant = added.json()  # stdout holds the JSON document only
    assert grant["sync_state"] == "running" and grant["connector_id"] == connector.id
    assert (grant["sync_window_days"], grant["state"]) == (30, "opaque")
    # Nobody watches a --json run that is not on a terminal: no progress lines.
    assert "initial sync:" not in added.stderr


async def test_refused_credentials_are_a_server_error(cli: CliRunner, dovecot: Dovecot
                                                      ) -> None:
    user, _password = dovecot.add_user()
    with cli.daemon.client() as client:
        await call(client.create_connector, "mail")
    refused = await cli("grants", "add", *grant_options(cli.daemon, user),
                        "--password-stdin", stdin="wrong password\n")
    assert refused.status == 1 and refused.stdout == ""
    assert refused.stderr.startswith("tidings: ")
    assert "Traceback" not in refused.stderr


async def test_usage_errors_exit_2_and_bad_keys_exit_1(cli: CliRunner, dovecot: Dovecot
                                                       ) -> None:
    user, _password = dovecot.add_user()
    no_key = await cli("grants", "list", connection=False)
    assert no_key.status == 2
    assert no_key.stderr.strip() == ("tidings: an API key is required: --api-key or "
                                     "$TIDINGS_API_KEY")
    # No --password-stdin and no terminal to prompt on: refused before any call.
    no_password = await cli("grants", "add", *grant_options(cli.daemon, user))
    assert no_password.status == 2 and "--password-stdin" in no_password.stderr
    empty = await cli("grants", "add", *grant_options(cli.daemon, user), "--password-stdin")
    assert empty.status == 2 and "expected 1 non-empty line" in empty.stderr
    # Passwords are not accepted as arguments at all.
    plain = await cli("grants", "add", *grant_options(cli.daemon, user), "--password", "x")
    assert plain.status == 2 and "unrecognized arguments" in plain.stderr
    bad_key = await cli("grants", "list", api_key="not-a-key")
    assert bad_key.status == 1 and bad_key.stderr.startswith("tidings: ")
    assert bad_key.stdout == ""
