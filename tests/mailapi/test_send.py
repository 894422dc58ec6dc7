"""Sending through the daemon, end to end: alice's grant submits over SMTP, the test SMTP
server hands the mail to Dovecot over LMTP, and bob's grant syncs it. Plus replies, the
idempotency key, the provider's size limit and the server's refusals."""

from __future__ import annotations

import hashlib

import pytest
import trio

from tests.mailapi.changes import events_for, server_flags, server_subjects
from tests.mailapi.conftest import Code, Mailbox, sync_mailbox
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.v1 import (
    attachments_pb2,
    common_pb2,
    events_pb2,
    messages_pb2,
    send_pb2,
    send_pb2_grpc,
)

PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes, every byte value


@pytest.fixture
async def bob(mailbox: Mailbox, dovecot: Dovecot, smtp_server: SmtpServer) -> Mailbox:
    return await sync_mailbox(mailbox.daemon, dovecot, smtp_server, lambda user: ({}, {}))


def _send_stub(mailbox: Mailbox) -> send_pb2_grpc.SendServiceStub:
    return send_pb2_grpc.SendServiceStub(mailbox.daemon.channel)


def _to(box: Mailbox) -> common_pb2.EmailAddress:
    return common_pb2.EmailAddress(name="Bob", email=f"{box.user}@example.org")


async def _download(box: Mailbox, message: messages_pb2.Message) -> bytes:
    attachment = message.attachments[0]
    stream = box.attachments.DownloadAttachment(
        attachments_pb2.DownloadAttachmentRequest(grant_id=box.grant_id, message_id=message.id,
                                                  id=attachment.id),
        metadata=box.daemon.auth, timeout=30)

    def read() -> bytes:
        return b"".join(chunk.data for chunk in stream)

    return await trio.to_thread.run_sync(read)


async def test_send_reaches_bob_with_body_and_attachment(
        mailbox: Mailbox, bob: Mailbox, smtp_server: SmtpServer) -> None:
    watch = bob.daemon.subscribe(events_pb2.SubscribeRequest(
        grant_ids=[bob.grant_id], types=["message.created"]))
    request = send_pb2.SendMessageRequest(
        grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
        to=[_to(bob)], bcc=[common_pb2.EmailAddress(email="hidden@example.net")],
        subject="Plans for Friday", body="<p>See the <b>numbers</b>.</p>",
        attachments=[send_pb2.OutgoingAttachment(filename="numbers.bin", content=PAYLOAD)],
        custom_headers=[common_pb2.Header(name="X-Campaign", value="friday")]))
    reply = await mailbox.call(_send_stub(mailbox).SendMessage, request)
    sent = reply.message
    assert not reply.idempotent_replay
    folders = await mailbox.folder_ids()
    assert list(sent.folders) == [folders["Sent"]]
    assert sent.subject == "Plans for Friday"
    # What went over the wire: Bcc in the envelope only (RFC 5322 §3.6.3).
    envelope = smtp_server.received[-1]
    assert "hidden@example.net" in envelope.recipients
    assert b"hidden@example.net" not in envelope.data
    assert b"X-Campaign: friday" in envelope.data
    # The Sent copy keeps Bcc and is read.
    sent_flags = {f.lower() for f in await server_flags(mailbox, "Sent", "Plans for Friday")}
    assert "\\seen" in sent_flags
    assert [e.email for e in sent.bcc] == ["hidden@example.net"]
    event = await watch.wait_for(lambda e: e.message.subject == "Plans for Friday", seconds=60)
    received = await bob.call(bob.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=bob.grant_id, id=event.object_id))
    assert "numbers" in received.body
    assert [a.filename for a in received.attachments] == ["numbers.bin"]
    downloaded = await _download(bob, received)
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(PAYLOAD).digest()
    assert await events_for(mailbox, sent.id, "message.send_success") == 1


async def test_reply_keeps_the_thread_and_marks_the_original_answered(
        mailbox: Mailbox, bob: Mailbox) -> None:
    listed = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, subject="Lunch plans"))
    original = listed.messages[0]
    reply = await mailbox.call(_send_stub(mailbox).SendMessage, send_pb2.SendMessageRequest(
        grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
            to=[_to(bob)], subject="Re: Lunch plans", body="Yes, noodles.", is_plaintext=True,
            reply_to_message_id=original.id)))
    assert reply.message.thread_id == original.thread_id
    flags = {f.lower() for f in await server_flags(mailbox, "INBOX", "Lunch plans")}
    assert "\\answered" in flags
    raw = await mailbox.call(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=mailbox.grant_id, id=reply.message.id, include_raw=True))
    assert b"In-Reply-To: <lunch@example.net>" in raw.raw_mime


async def test_idempotency_key_sends_once(mailbox: Mailbox, bob: Mailbox,
                                          smtp_server: SmtpServer) -> None:
    request = send_pb2.SendMessageRequest(
        grant_id=mailbox.grant_id, idempotency_key="order-42",
        message=send_pb2.OutgoingMessage(to=[_to(bob)], subject="Once only", body="hi"))
    before = len(smtp_server.received)
    first = await mailbox.call(_send_stub(mailbox).SendMessage, request)
    second = await mailbox.call(_send_stub(mailbox).SendMessage, request)
    assert len(smtp_server.received) == before + 1
    assert second.idempotent_replay and not first.idempotent_replay
    assert second.message.id == first.message.id
    assert list(await server_subjects(mailbox, "Sent")).count("Once only") == 1


async def test_too_large_for_the_preset_is_refused_before_any_smtp(
        mailbox: Mailbox, smtp_server: SmtpServer) -> None:
    connections = smtp_server.connections
    big = bytes(30 * 1024 * 1024)
    request = send_pb2.SendMessageRequest(
        grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
        to=[common_pb2.EmailAddress(email="someone@example.net")], subject="Huge",
        attachments=[send_pb2.OutgoingAttachment(filename="big.bin")]))
    chunks = [send_pb2.SendMessageChunk(request=request)] + [
        send_pb2.SendMessageChunk(attachment_data=send_pb2.AttachmentData(
            attachment_index=0, data=big[start:start + 1024 * 1024]))
        for start in range(0, len(big), 1024 * 1024)]
    failure = await mailbox.failure(_send_stub(mailbox).SendMessageStream, iter(chunks))
    assert failure.code() == Code.RESOURCE_EXHAUSTED
    assert "25" in failure.details() or "26,214,400" in failure.details()
    assert smtp_server.connections == connections
    assert "Huge" not in await server_subjects(mailbox, "Sent")


async def test_refusal_by_the_server_is_reported_and_nothing_is_saved(
        mailbox: Mailbox, smtp_server: SmtpServer) -> None:
    smtp_server.fail_next(554, "5.7.1 Message rejected as spam", "DATA")
    try:
        failure = await mailbox.failure(
            _send_stub(mailbox).SendMessage, send_pb2.SendMessageRequest(
            grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
                to=[common_pb2.EmailAddress(email="someone@example.net")], subject="Spammy")))
    finally:
        smtp_server.reset()
    assert failure.code() == Code.FAILED_PRECONDITION
    assert "554" in failure.details() and "spam" in failure.details()
    assert "Spammy" not in await server_subjects(mailbox, "Sent")
    failed = [e for e in await mailbox.daemon.log()
              if e.type == "message.send_failed" and e.payload.get("subject") == "Spammy"]
    assert len(failed) == 1


async def test_smtp_login_refused_is_reported(mailbox: Mailbox, dovecot: Dovecot,
                                              smtp_server: SmtpServer) -> None:
    # The grant's SMTP account changes its password after the grant was made.
    sender, password = dovecot.add_user()
    grants = mailbox.daemon.grants
    from tests.daemon.conftest import grant_request  # noqa: PLC0415

    grant = await mailbox.call(grants.CreateGrant, grant_request(
        dovecot, smtp_server, mailbox.user + "x", "unused",
        email=f"{sender}@example.org", imap_username=mailbox.user,
        imap_password=mailbox.password, smtp_username=sender, smtp_password=password))
    lines = dovecot.users_path.read_text().replace(
        f"{sender}:{{PLAIN}}{password}", f"{sender}:{{PLAIN}}changed")
    dovecot.users_path.write_text(lines)
    failure = await mailbox.failure(_send_stub(mailbox).SendMessage, send_pb2.SendMessageRequest(
        grant_id=grant.id, message=send_pb2.OutgoingMessage(
            to=[common_pb2.EmailAddress(email="someone@example.net")], subject="No login")))
    assert failure.code() == Code.FAILED_PRECONDITION
    assert "SMTP login refused" in failure.details()


async def test_bad_requests(mailbox: Mailbox) -> None:
    stub = _send_stub(mailbox)
    cases = [
        send_pb2.SendMessageRequest(grant_id=mailbox.grant_id,
                                    message=send_pb2.OutgoingMessage(subject="nobody")),
        send_pb2.SendMessageRequest(grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
            to=[common_pb2.EmailAddress(email="not an address")])),
        send_pb2.SendMessageRequest(grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
            to=[common_pb2.EmailAddress(email="a@example.net")],
            custom_headers=[common_pb2.Header(name="Received", value="forged")])),
        send_pb2.SendMessageRequest(grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
            to=[common_pb2.EmailAddress(email="a@example.net")], subject="two\r\nlines")),
        send_pb2.SendMessageRequest(grant_id=mailbox.grant_id, message=send_pb2.OutgoingMessage(
            to=[common_pb2.EmailAddress(email="a@example.net")],
            reply_to_message_id="missing")),
    ]
    for request in cases:
        failure = await mailbox.failure(stub.SendMessage, request)
        assert failure.code() == Code.INVALID_ARGUMENT, (request, failure.details())
