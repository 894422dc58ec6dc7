"""The demo's SMTP submission server: implicit TLS, AUTH against Dovecot's users, and
delivery through Dovecot's LMTP into the recipient's INBOX."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
import trio

from tests.support.dovecot import Dovecot
from tests.support.mailgen import make_message
from tidings.devtools import Submission
from tidings.imap import ConnectParams, open_imap

pytestmark = pytest.mark.dovecot


@pytest.fixture
def submission(dovecot: Dovecot) -> Iterator[Submission]:
    server = Submission(cert_path=dovecot.cert_path, key_path=dovecot.root / "key.pem",
                        check_login=dovecot.can_login, lmtp_host=dovecot.host,
                        lmtp_port=dovecot.lmtp_port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _smtp(dovecot: Dovecot, server: Submission) -> smtplib.SMTP_SSL:
    return smtplib.SMTP_SSL(server.host, server.port, context=dovecot.ssl_context(),
                            timeout=10)


def _send(dovecot: Dovecot, server: Submission, user: str, password: str,
          recipient: str, raw: bytes) -> None:
    with _smtp(dovecot, server) as smtp:
        smtp.login(user, password)
        smtp.sendmail(f"{user}@example.org", [recipient], raw)


async def test_authenticated_mail_lands_in_the_recipients_inbox(
        dovecot: Dovecot, submission: Submission) -> None:
    sender, sender_password = dovecot.add_user()
    recipient, recipient_password = dovecot.add_user()
    raw = make_message(subject="through submission", message_id="<sub@x>",
                       body="a line\n.starting with a dot\n")
    await trio.to_thread.run_sync(_send, dovecot, submission, sender, sender_password,
                                  f"{recipient}@example.org", raw)
    assert submission.delivered == [(f"{sender}@example.org", (recipient,))]
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port, security="tls",
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(recipient, recipient_password)
        await client.select("INBOX")
        assert len(await client.uid_search("SUBJECT", "through submission")) == 1
    # RFC 5321 §4.5.2: the dot the client added to the line was removed again.
    stored = [p.read_bytes() for p in dovecot.maildir(recipient).glob("*/*")]
    assert len(stored) == 1
    assert b"\n.starting with a dot" in stored[0] and b"..starting" not in stored[0]


def test_wrong_password_is_refused(dovecot: Dovecot, submission: Submission) -> None:
    user, _password = dovecot.add_user()
    with _smtp(dovecot, submission) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(user, "wrong")


def test_mail_before_auth_is_refused(dovecot: Dovecot, submission: Submission) -> None:
    with _smtp(dovecot, submission) as smtp:
        smtp.ehlo()
        assert "auth" in smtp.esmtp_features
        code, _text = smtp.mail("someone@example.org")
        assert code == 530
