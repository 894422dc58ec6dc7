"""MessageService over a real socket, against a grant synced from the real Dovecot:
every filter, paging, `select`, native search, raw MIME, and the refusals."""

from __future__ import annotations

from typing import Any

from google.protobuf import field_mask_pb2

from tests.mailapi.conftest import FILLER, Code, Mailbox
from tidings.v1 import messages_pb2

ALL = 7 + FILLER


async def _subjects(mailbox: Mailbox, **filters: Any) -> list[str]:
    request = messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id, limit=200, **filters)
    reply = await mailbox.call(mailbox.messages.ListMessages, request)
    assert reply.next_cursor == ""
    return [message.subject for message in reply.messages]


async def _by_subject(mailbox: Mailbox) -> dict[str, messages_pb2.Message]:
    request = messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id, limit=200)
    reply = await mailbox.call(mailbox.messages.ListMessages, request)
    return {message.subject: message for message in reply.messages}


async def test_pages_are_newest_first_without_duplicates_or_gaps(mailbox: Mailbox) -> None:
    everything = await _subjects(mailbox)
    assert len(everything) == ALL
    assert everything == sorted(mailbox.dates, key=lambda s: -mailbox.dates[s])
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        reply = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
            grant_id=mailbox.grant_id, limit=5, page_token=token))
        assert len(reply.messages) <= 5
        seen += [message.subject for message in reply.messages]
        pages += 1
        token = reply.next_cursor
        if not token:
            break
    assert seen == everything
    assert pages == -(-ALL // 5)
    # The default page is 50.
    reply = await mailbox.call(mailbox.messages.ListMessages,
                               messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id))
    assert len(reply.messages) == ALL


async def test_each_filter(mailbox: Mailbox) -> None:
    folders = await mailbox.folder_ids()
    thread_start = {"Quarterly budget", "Re: Quarterly budget", "Re: Re: Quarterly budget"}
    assert await _subjects(mailbox, subject="quarterly BUDGET") == [
        "Re: Re: Quarterly budget", "Re: Quarterly budget", "Quarterly budget"]
    assert set(await _subjects(mailbox, any_email=["carol@example.org, erin@example.com"])) == {
        "Lunch plans", "Re: Re: Quarterly budget"}
    assert await _subjects(mailbox, from_=["ANN@example.com", "bob@example.net"]) == [
        "Lunch plans", "Quarterly budget"]
    assert await _subjects(mailbox, to=["ann@example.com"]) == ["Re: Re: Quarterly budget"]
    assert await _subjects(mailbox, cc=["carol@example.org"]) == ["Lunch plans"]
    assert await _subjects(mailbox, bcc=["erin@example.com"]) == ["Re: Re: Quarterly budget"]
    assert await _subjects(mailbox, in_=folders["Sent"]) == ["Re: Re: Quarterly budget"]
    assert await _subjects(mailbox, in_=folders["Projects/Alpha"]) == ["Alpha status"]
    assert set(await _subjects(mailbox, unread=True)) == {
        "Lunch plans", "Re: Quarterly budget", "Alpha status"}
    assert len(await _subjects(mailbox, unread=False)) == ALL - 3
    assert await _subjects(mailbox, starred=True) == ["Lunch plans"]
    assert len(await _subjects(mailbox, starred=False)) == ALL - 1
    assert await _subjects(mailbox, has_attachment=True) == ["Re: Quarterly budget"]
    assert len(await _subjects(mailbox, has_attachment=False)) == ALL - 1
    budget = mailbox.dates["Quarterly budget"]
    assert set(await _subjects(mailbox, received_after=budget)) == {
        "Lunch plans", "Re: Quarterly budget", "Re: Re: Quarterly budget", "Project kickoff",
        "Alpha status"}
    assert await _subjects(mailbox, received_before=budget, received_after=budget - 1) == []
    assert await _subjects(mailbox, received_before=budget + 1,
                           received_after=budget - 1) == ["Quarterly budget"]
    thread_id = (await _by_subject(mailbox))["Quarterly budget"].thread_id
    assert set(await _subjects(mailbox, thread_id=thread_id)) == thread_start
    # Filters combine.
    assert await _subjects(mailbox, thread_id=thread_id, unread=True) == ["Re: Quarterly budget"]


async def test_select_trims_the_reply(mailbox: Mailbox) -> None:
    request = messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, subject="Lunch",
        select=field_mask_pb2.FieldMask(paths=["subject", "from_", "starred"]))
    reply = await mailbox.call(mailbox.messages.ListMessages, request)
    (message,) = reply.messages
    assert message.id
    assert message.subject == "Lunch plans"
    assert [a.email for a in message.from_] == ["bob@example.net"]
    assert message.starred
    assert message.body == "" and message.thread_id == "" and not message.folders
    # Headers only when asked for by name.
    request = messages_pb2.ListMessagesRequest(
        grant_id=mailbox.grant_id, subject="Lunch",
        select=field_mask_pb2.FieldMask(paths=["headers"]))
    (message,) = (await mailbox.call(mailbox.messages.ListMessages, request)).messages
    assert ("Cc", "carol@example.org") in [(h.name, h.value) for h in message.headers]
    for paths in (["subject", "no_such_field"], ["raw_mime"]):
        request = messages_pb2.ListMessagesRequest(
            grant_id=mailbox.grant_id, select=field_mask_pb2.FieldMask(paths=paths))
        error = await mailbox.failure(mailbox.messages.ListMessages, request)
        assert error.code() == Code.INVALID_ARGUMENT
        assert error.details().startswith("select:")


async def test_native_search_finds_a_word_of_the_body(mailbox: Mailbox) -> None:
    assert await _subjects(mailbox, search_query_native='BODY "zebra"') == ["Quarterly budget"]
    folders = await mailbox.folder_ids()
    # In one folder only, and combined with the other filters.
    assert await _subjects(mailbox, search_query_native='BODY "zebra"',
                           in_=folders["Sent"]) == []
    assert await _subjects(mailbox, search_query_native="FROM news@example.com",
                           received_before=mailbox.dates["Filler 03"] + 1,
                           received_after=mailbox.dates["Filler 06"] - 1) == [
        "Filler 03", "Filler 04", "Filler 05", "Filler 06"]
    assert await _subjects(mailbox, search_query_native="UNSEEN",
                           in_=folders["INBOX"]) == ["Re: Quarterly budget", "Lunch plans"]
    # Pages of hits: none repeated, none missing.
    seen: list[str] = []
    token = ""
    while True:
        reply = await mailbox.call(mailbox.messages.ListMessages, messages_pb2.ListMessagesRequest(
            grant_id=mailbox.grant_id, limit=4, page_token=token,
            search_query_native="FROM news@example.com"))
        seen += [message.subject for message in reply.messages]
        token = reply.next_cursor
        if not token:
            break
    assert seen == [f"Filler {n:02d}" for n in range(FILLER)]


async def test_native_search_refusals_name_the_field(mailbox: Mailbox) -> None:
    for query in ("BODY zebra\r\nX LOGOUT", "a" * 1001, "", "BODY \"unclosed", "NOSUCHKEY 1"):
        request = messages_pb2.ListMessagesRequest(grant_id=mailbox.grant_id,
                                                   search_query_native=query)
        error = await mailbox.failure(mailbox.messages.ListMessages, request)
        assert error.code() == Code.INVALID_ARGUMENT, query
        assert error.details().startswith("search_query_native:"), error.details()


async def test_get_returns_headers_and_the_raw_mime_seeded(mailbox: Mailbox) -> None:
    listed = await _by_subject(mailbox)
    for subject in ("Re: Quarterly budget", "Re: Re: Quarterly budget"):
        message = await mailbox.call(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
            grant_id=mailbox.grant_id, id=listed[subject].id, include_raw=True,
            include_headers=True))
        assert message.raw_mime == mailbox.raw[subject]
        assert ("Subject", subject) in [(h.name, h.value) for h in message.headers]
        assert message.date == mailbox.dates[subject]
        # Without its angle brackets, as the proto documents.
        assert not message.message_id_header.startswith("<")
        assert f"<{message.message_id_header}>".encode() in mailbox.raw[subject]
    plain = await mailbox.call(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=mailbox.grant_id, id=listed["Lunch plans"].id))
    assert not plain.HasField("raw_mime") and not plain.headers
    assert plain == listed["Lunch plans"]
    assert "Noodles?" in plain.body
    trimmed = await mailbox.call(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=mailbox.grant_id, id=listed["Lunch plans"].id, include_raw=True,
        select=field_mask_pb2.FieldMask(paths=["raw_mime"])))
    assert trimmed.raw_mime == mailbox.raw["Lunch plans"] and trimmed.subject == ""
    error = await mailbox.failure(mailbox.messages.GetMessage, messages_pb2.GetMessageRequest(
        grant_id=mailbox.grant_id, id="0" * 24))
    assert error.code() == Code.NOT_FOUND


async def test_invalid_arguments_name_the_field(mailbox: Mailbox) -> None:
    grant = mailbox.grant_id
    cases: list[tuple[str, messages_pb2.ListMessagesRequest]] = [
        ("limit", messages_pb2.ListMessagesRequest(grant_id=grant, limit=201)),
        ("grant_id", messages_pb2.ListMessagesRequest()),
        ("any_email", messages_pb2.ListMessagesRequest(
            grant_id=grant, any_email=[f"u{n}@example.com" for n in range(26)])),
        ("from_", messages_pb2.ListMessagesRequest(grant_id=grant, from_=["a\x00@example.com"])),
        ("received_before", messages_pb2.ListMessagesRequest(grant_id=grant,
                                                             received_before=-1)),
        ("page_token", messages_pb2.ListMessagesRequest(grant_id=grant, page_token="nope!")),
        ("in_", messages_pb2.ListMessagesRequest(grant_id=grant, in_="")),
        ("subject", messages_pb2.ListMessagesRequest(grant_id=grant, subject="x" * 999)),
    ]
    for field, request in cases:
        error = await mailbox.failure(mailbox.messages.ListMessages, request)
        assert error.code() == Code.INVALID_ARGUMENT, field
        assert error.details().startswith(f"{field}:"), error.details()
    error = await mailbox.failure(mailbox.messages.GetMessage,
                                  messages_pb2.GetMessageRequest(grant_id=grant))
    assert error.code() == Code.INVALID_ARGUMENT and error.details().startswith("id:")
