"""`tidings send` against a real daemon: the message reaches the SMTP server and the
sent message comes back as a table or as JSON; and the options as `send_message`'s
fields."""

from __future__ import annotations

import argparse
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tests.clients.conftest import call
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.cli import build_parser
from tidings.cli_send import message_fields
from tidings.cli_support import CliError
from tidings_client import EmailAddress, OutgoingAttachment


def _send_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["send", "g1", *argv])


def test_options_become_the_message_fields() -> None:
    args = _send_args("--to", "Ann <ann@example.org>, bob@example.org", "--cc", "c@x.org",
                      "--subject", "s", "--body", "b", "--from", "Me <me@example.org>",
                      "--header", "X-A: 1", "--reply-to-message-id", "m1")
    files = [OutgoingAttachment("a.txt", b"abc")]
    fields = message_fields(args, files)
    assert fields["to"] == [EmailAddress("ann@example.org", "Ann"),
                            EmailAddress("bob@example.org")]
    assert fields["cc"] == [EmailAddress("c@x.org")]
    assert fields["bcc"] == [] and fields["reply_to"] == []
    assert fields["from_"] == EmailAddress("me@example.org", "Me")
    assert (fields["subject"], fields["body"], fields["is_plaintext"]) == ("s", "b", True)
    assert fields["custom_headers"] == [("X-A", "1")]
    assert fields["reply_to_message_id"] == "m1"
    assert fields["attachments"] == files
    html = message_fields(_send_args("--to", "a@x.org", "--html", "--body", "<p>"), [])
    assert html["is_plaintext"] is False and "from_" not in html
    with pytest.raises(CliError, match="--header"):
        message_fields(_send_args("--to", "a@x.org", "--header", "no colon"), [])
    with pytest.raises(CliError, match="--from: not an email address"):
        message_fields(_send_args("--to", "a@x.org", "--from", "me"), [])


async def grant_for_sending(cli: CliRunner, dovecot: Dovecot) -> tuple[str, str]:
    user, password = dovecot.add_user()
    with cli.daemon.client() as client:
        await call(client.create_connector, "mail")
        grant = await cli.daemon.synced_grant(client, user, password)
    return grant.id, user


def received(smtp: SmtpServer, subject: str) -> Message:
    for envelope in smtp.received:
        parsed = message_from_bytes(envelope.data)
        if parsed["Subject"] == subject:
            return parsed
    raise AssertionError(f"no message {subject!r} reached the SMTP server")


@pytest.mark.dovecot
async def test_send_plain_text_with_an_attachment(cli: CliRunner, dovecot: Dovecot,
                                                  smtp_server: SmtpServer,
                                                  tmp_path: Path) -> None:
    grant_id, user = await grant_for_sending(cli, dovecot)
    rcpt, _ = dovecot.add_user()
    report = tmp_path / "report.txt"
    report.write_text("quarterly figures\n")
    sent = await cli("send", grant_id, "--to", f"Rcpt <{rcpt}@example.org>",
                     "--subject", "from the command line", "--body", "hello there",
                     "--attach", str(report), "--header", "X-Tidings-Test: yes")
    assert sent.status == 0, sent.stderr
    first_line, *rest = sent.stdout.splitlines()
    assert first_line.startswith("sent message ")
    assert any(line.split() == ["subject", "from", "the", "command", "line"]
               for line in rest)
    mail = received(smtp_server, "from the command line")
    assert mail["To"] == f"Rcpt <{rcpt}@example.org>"
    assert mail["X-Tidings-Test"] == "yes"
    assert user in mail["From"]
    parts = {part.get_filename(): part for part in mail.walk() if part.get_filename()}
    assert parts["report.txt"].get_payload(decode=True) == b"quarterly figures\n"


@pytest.mark.dovecot
async def test_send_json_and_idempotent_replay(cli: CliRunner, dovecot: Dovecot) -> None:
    grant_id, _user = await grant_for_sending(cli, dovecot)
    rcpt, _ = dovecot.add_user()
    args = ("send", grant_id, "--to", f"{rcpt}@example.org", "--subject", "once only",
            "--body", "<p>hi</p>", "--html", "--idempotency-key", "cli-test-1", "--json")
    first = await cli(*args)
    assert first.status == 0, first.stderr
    reply = first.json()
    assert reply["idempotent_replay"] is False
    assert reply["message"]["subject"] == "once only"
    assert reply["message"]["to"] == [{"email": f"{rcpt}@example.org", "name": ""}]
    again = (await cli(*args)).json()
    assert again["idempotent_replay"] is True
    assert again["message"]["id"] == reply["message"]["id"]


@pytest.mark.dovecot
async def test_send_refuses_bad_input(cli: CliRunner, dovecot: Dovecot,
                                      tmp_path: Path) -> None:
    no_rcpt = await cli("send", "g", "--subject", "x")
    assert no_rcpt.status == 2 and "at least one recipient" in no_rcpt.stderr
    bad = await cli("send", "g", "--to", "not an address")
    assert bad.status == 2 and "--to: not an email address" in bad.stderr
    unknown = await cli("send", "no-such-grant", "--to", "a@example.org", "--body", "x")
    assert unknown.status == 1 and unknown.stderr.startswith("tidings: ")
    unreadable = await cli("send", "g", "--to", "a@example.org",
                           "--attach", str(tmp_path / "missing.pdf"))
    assert unreadable.status == 2
    assert "cannot read --attach" in unreadable.stderr and "missing.pdf" in unreadable.stderr
