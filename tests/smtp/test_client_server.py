"""The client against a real SMTP server (aiosmtpd) that delivers into Dovecot."""

from __future__ import annotations

import uuid

import pytest

from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.imap import ConnectParams, open_imap
from tidings.smtp import (
    MessageTooLarge,
    SmtpAuthError,
    SmtpNotSupported,
    SmtpRecipientsRefused,
    SmtpReplyError,
    SmtpTlsRequired,
    open_smtp,
    send_with_retry,
    verify_login,
)
from tidings.smtp.transport import Security

pytestmark = pytest.mark.dovecot

MODES: list[Security] = ["tls", "starttls"]


def message(subject: str, body: str = "hello") -> bytes:
    return (f"From: a@example.org\r\nTo: someone@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4()}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n").encode()


async def inbox(dovecot: Dovecot, user: str, password: str) -> list[bytes]:
    """Every message in the user's INBOX, over IMAP."""
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port,
                           ssl_context=dovecot.ssl_context(), server_hostname="localhost",
                           timeout=20.0)
    async with open_imap(params) as imap:
        await imap.login(user, password)
        await imap.examine("INBOX")
        uids = await imap.uid_search()
        if not uids:
            return []
        return [f.sections["BODY[]"] or b""
                async for f in imap.uid_fetch(uids, ["BODY.PEEK[]"])]


@pytest.mark.parametrize("mode", MODES)
async def test_message_arrives_in_the_inbox(smtp: SmtpServer, dovecot: Dovecot,
                                            imap_user: tuple[str, str],
                                            mode: Security) -> None:
    user, password = imap_user
    sent = message(f"over {mode}", body="8-bit: grüße, ½ € — ✓\r\n.line with a dot")
    async with open_smtp(smtp.params(mode)) as client:
        assert client.tls
        assert not client.has("STARTTLS")  # after the upgrade, or never offered
        assert client.has("PIPELINING") and client.max_size == smtp.max_size
        await client.login(user, password)
        result = await client.send("a@example.org", [f"{user}@example.org"], sent)
    assert result.accepted == (f"{user}@example.org",) and not result.refused
    assert result.reply.startswith("OK queued as")
    envelope = smtp.received[-1]
    assert envelope.data == sent and "BODY=8BITMIME" in envelope.mail_options
    (stored,) = await inbox(dovecot, user, password)
    # Dovecot puts Return-Path / Delivered-To / Received above the message.
    assert stored.endswith(sent)


async def test_several_recipients_and_messages_on_one_connection(
        smtp: SmtpServer, dovecot: Dovecot) -> None:
    bob, password = dovecot.add_user()
    carol, _ = dovecot.add_user()
    async with open_smtp(smtp.params("tls")) as client:
        await client.login(bob, password)
        first = await client.send("", [f"{bob}@example.org", f"{carol}@example.org",
                                       "nobody@elsewhere.example"], message("one"))
        await client.send(f"{bob}@example.org", [f"{carol}@example.org"], message("two"))
    assert len(first.accepted) == 3
    assert len(await inbox(dovecot, bob, password)) == 1
    assert len(await inbox(dovecot, carol, password)) == 2


async def test_utf8_sender(smtp: SmtpServer, dovecot: Dovecot,
                           imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    async with open_smtp(smtp.params("tls")) as client:
        await client.login(user, password)
        await client.send("jörg@example.org", [f"{user}@example.org"], message("utf8"))
    assert smtp.received[-1].sender == "jörg@example.org"
    assert "SMTPUTF8" in smtp.received[-1].mail_options
    assert len(await inbox(dovecot, user, password)) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_password(smtp: SmtpServer, imap_user: tuple[str, str],
                              mode: Security) -> None:
    user, _ = imap_user
    async with open_smtp(smtp.params(mode)) as client:
        with pytest.raises(SmtpAuthError) as info:
            await client.login(user, "not the password")
    assert info.value.code == 535 and info.value.enhanced == "5.7.8"
    assert info.value.permanent


async def test_verify_login(smtp: SmtpServer, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    before = smtp.data_commands
    await verify_login(smtp.params("starttls"), user, password)
    with pytest.raises(SmtpAuthError):
        await verify_login(smtp.params("tls"), user, "wrong")
    assert smtp.data_commands == before


async def test_plain_connection(smtp: SmtpServer, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    async with open_smtp(smtp.params("plain", allow_plaintext=False)) as client:
        assert not client.tls and client.has("STARTTLS")
        with pytest.raises(SmtpTlsRequired):
            await client.login(user, password)
    async with open_smtp(smtp.params("plain", allow_plaintext=True)) as client:
        # This server offers AUTH only after TLS, like any careful one.
        with pytest.raises(SmtpNotSupported, match="does not offer AUTH"):
            await client.login(user, password)


async def test_sending_without_login_is_refused(smtp: SmtpServer) -> None:
    async with open_smtp(smtp.params("tls")) as client:
        with pytest.raises(SmtpReplyError) as info:
            await client.send("a@example.org", ["b@example.org"], message("anon"))
    assert info.value.command == "MAIL" and info.value.code == 530


async def test_recipient_refused_at_rcpt(smtp: SmtpServer, dovecot: Dovecot,
                                         imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    async with open_smtp(smtp.params("tls")) as client:
        await client.login(user, password)
        smtp.fail_next(550, "5.1.1 mailbox unavailable", "RCPT")
        with pytest.raises(SmtpRecipientsRefused) as info:
            await client.send("a@example.org", ["gone@example.org"], message("refused"))
        assert info.value.refused == {"gone@example.org": (550, "mailbox unavailable")}
        assert info.value.enhanced == "5.1.1" and info.value.permanent

        smtp.fail_next(550, "5.1.1 mailbox unavailable", "RCPT")
        result = await client.send("a@example.org",
                                   ["gone@example.org", f"{user}@example.org"],
                                   message("partly"))
    assert result.accepted == (f"{user}@example.org",)
    assert dict(result.refused) == {"gone@example.org": (550, "mailbox unavailable")}
    assert smtp.received[-1].recipients == (f"{user}@example.org",)
    assert len(await inbox(dovecot, user, password)) == 1


async def test_message_refused_after_data(smtp: SmtpServer,
                                          imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    smtp.fail_next(554, "5.7.1 message content rejected", "DATA")
    async with open_smtp(smtp.params("tls")) as client:
        await client.login(user, password)
        with pytest.raises(SmtpReplyError) as info:
            await client.send("a@example.org", [f"{user}@example.org"], message("spam"))
    assert (info.value.command, info.value.code) == ("DATA", 554)
    assert info.value.text == "message content rejected"


async def test_size_limit_stops_before_any_data(smtp: SmtpServer,
                                                imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    smtp.max_size = 2000
    received, data_commands = len(smtp.received), smtp.data_commands
    async with open_smtp(smtp.params("tls")) as client:
        assert client.max_size == 2000
        await client.login(user, password)
        with pytest.raises(MessageTooLarge):
            await client.send("a@example.org", [f"{user}@example.org"],
                              message("big", body="x" * 3000))
    assert (len(smtp.received), smtp.data_commands) == (received, data_commands)


async def test_send_with_retry_after_a_transient_failure(
        smtp: SmtpServer, dovecot: Dovecot, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    smtp.fail_next(451, "4.3.2 try again later", "MAIL")
    connections = smtp.connections
    result = await send_with_retry(smtp.params("tls"), user, password, "a@example.org",
                                   [f"{user}@example.org"], message("retried"),
                                   base_delay=0.01)
    assert result.accepted == (f"{user}@example.org",)
    assert smtp.connections == connections + 2
    assert len(await inbox(dovecot, user, password)) == 1
