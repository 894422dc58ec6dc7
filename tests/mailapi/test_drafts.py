"""Drafts against the real Dovecot: they live in Drafts with the \\Draft flag, keep their
id across edits (one version on the server at a time), and sending one delivers it and
removes it."""

from __future__ import annotations

import pytest

from tests.mailapi.changes import events_for, server_flags, server_subjects, settle
from tests.mailapi.conftest import Code, Mailbox, sync_mailbox
from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer
from tidings.v1 import (
    common_pb2,
    drafts_pb2,
    drafts_pb2_grpc,
    events_pb2,
    messages_pb2,
    send_pb2,
)


@pytest.fixture
async def bob(mailbox: Mailbox, dovecot: Dovecot, smtp_server: SmtpServer) -> Mailbox:
    return await sync_mailbox(mailbox.daemon, dovecot, smtp_server, lambda user: ({}, {}))


def _stub(mailbox: Mailbox) -> drafts_pb2_grpc.DraftServiceStub:
    return drafts_pb2_grpc.DraftServiceStub(mailbox.daemon.channel)


def _content(subject: str, to: str, **fields: object) -> send_pb2.OutgoingMessage:
    return send_pb2.OutgoingMessage(
        to=[common_pb2.EmailAddress(name="Bob", email=to)], subject=subject, **fields)


async def test_create_update_list_delete(mailbox: Mailbox) -> None:
    stub = _stub(mailbox)
    folders = await mailbox.folder_ids()
    created = await mailbox.call(stub.CreateDraft, drafts_pb2.CreateDraftRequest(
        grant_id=mailbox.grant_id, draft=_content(
            "Draft one", "bob@example.org", body="first words", is_plaintext=True,
            bcc=[common_pb2.EmailAddress(email="quiet@example.net")],
            attachments=[send_pb2.OutgoingAttachment(filename="a.txt", content=b"abc")],
            custom_headers=[common_pb2.Header(name="X-Note", value="kept")])))
    assert list(created.folders) == [folders["Drafts"]]
    assert created.is_plaintext and created.body.strip() == "first words"
    assert [a.email for a in created.bcc] == ["quiet@example.net"]
    assert [a.filename for a in created.attachments] == ["a.txt"]
    assert [(h.name, h.value) for h in created.custom_headers] == [("X-Note", "kept")]
    flags = {f.lower() for f in await server_flags(mailbox, "Drafts", "Draft one")}
    assert "\\draft" in flags

    updated = await mailbox.call(stub.UpdateDraft, drafts_pb2.UpdateDraftRequest(
        grant_id=mailbox.grant_id, id=created.id,
        draft=_content("Draft one, edited", "bob@example.org", body="<p>better</p>")))
    assert updated.id == created.id
    assert not updated.is_plaintext and "better" in updated.body
    assert set(await server_subjects(mailbox, "Drafts")) == {"Draft one, edited"}

    listed = await mailbox.call(stub.ListDrafts, drafts_pb2.ListDraftsRequest(
        grant_id=mailbox.grant_id))
    assert [d.id for d in listed.drafts] == [created.id]
    got = await mailbox.call(stub.GetDraft, drafts_pb2.GetDraftRequest(
        grant_id=mailbox.grant_id, id=created.id))
    assert got.subject == "Draft one, edited"

    await settle(mailbox, "Drafts")
    assert await events_for(mailbox, created.id, "message.created") == 1
    assert await events_for(mailbox, created.id, "message.updated") == 1
    created_events = [e for e in await mailbox.daemon.log()
                      if e.type == "message.created" and "Draft one" in e.payload["subject"]]
    assert len(created_events) == 1  # the edit is not a new message

    await mailbox.call(stub.DeleteDraft, drafts_pb2.DeleteDraftRequest(
        grant_id=mailbox.grant_id, id=created.id))
    assert "Draft one, edited" not in await server_subjects(mailbox, "Drafts")
    missing = await mailbox.failure(stub.GetDraft, drafts_pb2.GetDraftRequest(
        grant_id=mailbox.grant_id, id=created.id))
    assert missing.code() == Code.NOT_FOUND
    assert await events_for(mailbox, created.id, "message.deleted") == 1


async def test_send_draft_delivers_and_removes_it(mailbox: Mailbox, bob: Mailbox) -> None:
    stub = _stub(mailbox)
    watch = bob.daemon.subscribe(events_pb2.SubscribeRequest(
        grant_ids=[bob.grant_id], types=["message.created"]))
    draft = await mailbox.call(stub.CreateDraft, drafts_pb2.CreateDraftRequest(
        grant_id=mailbox.grant_id, draft=_content(
            "From the drafts", f"{bob.user}@example.org", body="ready now")))
    sent = await mailbox.call(stub.SendDraft, drafts_pb2.SendDraftRequest(
        grant_id=mailbox.grant_id, id=draft.id))
    folders = await mailbox.folder_ids()
    assert list(sent.message.folders) == [folders["Sent"]]
    assert "From the drafts" in await server_subjects(mailbox, "Sent")
    assert "From the drafts" not in await server_subjects(mailbox, "Drafts")
    await watch.wait_for(lambda e: e.message.subject == "From the drafts", seconds=60)


async def test_refusals(mailbox: Mailbox) -> None:
    stub = _stub(mailbox)
    listed = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, limit=1))
    not_a_draft = listed.messages[0].id
    for call, request, code in [
        (stub.GetDraft, drafts_pb2.GetDraftRequest(grant_id=mailbox.grant_id, id=not_a_draft),
         Code.NOT_FOUND),
        (stub.CreateDraft, drafts_pb2.CreateDraftRequest(grant_id=mailbox.grant_id),
         Code.INVALID_ARGUMENT),
        (stub.SendDraft, drafts_pb2.SendDraftRequest(grant_id=mailbox.grant_id, id="nope"),
         Code.NOT_FOUND),
    ]:
        failure = await mailbox.failure(call, request)
        assert failure.code() == code, failure.details()
    empty = await mailbox.call(stub.CreateDraft, drafts_pb2.CreateDraftRequest(
        grant_id=mailbox.grant_id, draft=send_pb2.OutgoingMessage(subject="no one yet")))
    failure = await mailbox.failure(stub.SendDraft, drafts_pb2.SendDraftRequest(
        grant_id=mailbox.grant_id, id=empty.id))
    assert failure.code() == Code.INVALID_ARGUMENT
