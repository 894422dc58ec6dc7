"""Domain values to protobuf and back."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2
from hypothesis import given
from hypothesis import strategies as st

from tidings import domain
from tidings.api.convert import (
    bare_message_id,
    body_as_html,
    connector_settings_from_proto,
    connector_to_proto,
    email_address_from_proto,
    email_address_to_proto,
    event_to_proto,
    folder_to_proto,
    grant_to_proto,
    message_to_proto,
    security_from_proto,
    select_fields,
    thread_to_proto,
    unix_seconds,
)
from tidings.api.errors import InvalidArgument
from tidings.v1 import common_pb2, connectors_pb2, folders_pb2, grants_pb2

ANN = domain.EmailAddress("Ann Lee", "ann@example.com")
BOB = domain.EmailAddress(None, "bob@example.org")


def _message(**changes: object) -> domain.Message:
    values: dict[str, object] = {
        "id": "m1",
        "grant_id": "g1",
        "thread_id": "t1",
        "message_id_header": "abc@example.com",
        "content_hash": "h",
        "subject": "Lunch?",
        "from_": (ANN,),
        "to": (BOB,),
        "date": 1_700_000_000,
        "flags": ("\\Seen",),
        "locations": (domain.Location("f-inbox", 10), domain.Location("f-work", 3)),
        "snippet": "Shall we",
        "text_body": "Shall we <eat>?\nAt noon.",
        "headers": (("Subject", "Lunch?"), ("X-Mailer", "mutt")),
        "attachments": (
            domain.Attachment(
                id="a1",
                message_id="m1",
                part="2",
                filename="menu.pdf",
                content_type="application/pdf",
                size=1234,
            ),
        ),
        "warnings": ("replaced undecodable bytes in part 1",),
    }
    values.update(changes)
    return domain.Message(**values)  # type: ignore[arg-type]


def _grant(state: domain.GrantState) -> domain.Grant:
    return domain.Grant(
        id="g1",
        connector_id="c1",
        email="ann@example.com",
        provider_type="yahoo",
        imap=domain.Endpoint("imap.mail.yahoo.com", 993, domain.Security.TLS),
        smtp=domain.Endpoint("smtp.mail.yahoo.com", 587, domain.Security.STARTTLS),
        imap_username="ann",
        smtp_username="ann-smtp",
        state=state,
        state_reason="UIDVALIDITY changes on every session" if state == "degraded" else None,
        progress=domain.SyncProgress(2, 5, 100, 400),
        caller_state="opaque",
        created_at=1_700_000_000.7,
        updated_at=1_700_000_100.2,
    )


def test_message_fields_reach_the_reply() -> None:
    reply = message_to_proto(_message())
    assert (reply.id, reply.grant_id, reply.thread_id, reply.subject) == (
        "m1",
        "g1",
        "t1",
        "Lunch?",
    )
    assert [(a.name, a.email) for a in reply.from_] == [("Ann Lee", "ann@example.com")]
    assert [(a.name, a.email) for a in reply.to] == [("", "bob@example.org")]
    assert reply.date == 1_700_000_000
    assert not reply.unread
    assert not reply.starred
    assert list(reply.folders) == ["f-inbox", "f-work"]
    assert reply.body == "<p>Shall we &lt;eat&gt;?<br>\nAt noon.</p>"
    assert [(a.id, a.grant_id, a.filename, a.size) for a in reply.attachments] == [
        ("a1", "g1", "menu.pdf", 1234)
    ]
    assert list(reply.decoding_warnings) == ["replaced undecodable bytes in part 1"]
    assert reply.message_id_header == "abc@example.com"
    # Headers and raw bytes only on request.
    assert not reply.headers
    assert not reply.HasField("raw_mime")


def test_message_headers_and_raw_on_request() -> None:
    reply = message_to_proto(_message(), include_headers=True, raw_mime=b"Subject: x\r\n\r\n")
    assert [(h.name, h.value) for h in reply.headers] == [
        ("Subject", "Lunch?"),
        ("X-Mailer", "mutt"),
    ]
    assert reply.raw_mime == b"Subject: x\r\n\r\n"


def test_flags_become_unread_and_starred() -> None:
    reply = message_to_proto(_message(flags=("\\flagged",)))
    assert reply.unread
    assert reply.starred


def test_html_body_is_kept_as_is() -> None:
    assert body_as_html(_message(html_body="<p>Hi</p>")) == "<p>Hi</p>"
    assert body_as_html(_message(text_body=None)) == ""


def test_select_trims_to_the_mask_and_keeps_the_id() -> None:
    full = message_to_proto(_message())
    trimmed = select_fields(full, field_mask_pb2.FieldMask(paths=["subject", "from_"]))
    assert trimmed.id == "m1"
    assert trimmed.subject == "Lunch?"
    assert len(trimmed.from_) == 1
    assert not trimmed.body
    assert not trimmed.attachments
    assert select_fields(full, field_mask_pb2.FieldMask()) == full


def test_select_rejects_unknown_fields() -> None:
    with pytest.raises(InvalidArgument) as caught:
        select_fields(message_to_proto(_message()), field_mask_pb2.FieldMask(paths=["nope"]))
    assert caught.value.field == "select"


@pytest.mark.parametrize(
    ("state", "status", "sync_state"),
    [
        (domain.GrantState.VALID, grants_pb2.GRANT_STATUS_VALID, grants_pb2.SYNC_STATE_RUNNING),
        (
            domain.GrantState.SYNCING,
            grants_pb2.GRANT_STATUS_VALID,
            grants_pb2.SYNC_STATE_INITIAL_SYNC,
        ),
        (
            domain.GrantState.INVALID,
            grants_pb2.GRANT_STATUS_INVALID,
            grants_pb2.SYNC_STATE_STOPPED,
        ),
        (
            domain.GrantState.DEGRADED,
            grants_pb2.GRANT_STATUS_VALID,
            grants_pb2.SYNC_STATE_DEGRADED,
        ),
    ],
)
def test_grant_state_splits_into_status_and_sync_state(
    state: domain.GrantState, status: int, sync_state: int
) -> None:
    reply = grant_to_proto(_grant(state))
    assert reply.grant_status == status
    assert reply.sync_state == sync_state


def test_grant_fields_reach_the_reply() -> None:
    reply = grant_to_proto(_grant(domain.GrantState.DEGRADED))
    assert reply.provider == common_pb2.PROVIDER_IMAP
    assert reply.provider_type == "yahoo"
    assert reply.state == "opaque"
    assert (reply.imap.host, reply.imap.port, reply.imap.security, reply.imap.username) == (
        "imap.mail.yahoo.com",
        993,
        common_pb2.SECURITY_MODE_TLS,
        "ann",
    )
    assert reply.smtp.security == common_pb2.SECURITY_MODE_STARTTLS
    assert reply.sync_state_reason == "UIDVALIDITY changes on every session"
    progress = reply.sync_progress
    assert (progress.folders_done, progress.folders_total) == (2, 5)
    assert (progress.messages_done, progress.messages_total) == (100, 400)
    assert (reply.created_at, reply.updated_at) == (1_700_000_000, 1_700_000_100)


def test_connector_round_trip_of_settings() -> None:
    connector = domain.Connector(
        id="c1",
        name="main",
        settings=domain.ConnectorSettings(
            sync_window_days=30, poll_interval=90.0, allowed_redirect_uris=("https://a/cb",)
        ),
        created_at=1.5,
        updated_at=2.5,
    )
    reply = connector_to_proto(connector)
    assert reply.settings.sync_window_days == 30
    assert reply.settings.poll_interval_seconds == 90
    assert connector_settings_from_proto(reply.settings) == connector.settings


def test_connector_settings_unset_fields_keep_the_base() -> None:
    base = domain.ConnectorSettings(sync_window_days=30, strict_message_id=True)
    settings = connector_settings_from_proto(
        connectors_pb2.ConnectorSettings(poll_interval_seconds=15), base
    )
    assert settings == domain.ConnectorSettings(
        sync_window_days=30, strict_message_id=True, poll_interval=15.0
    )


def test_connector_settings_reject_a_zero_window() -> None:
    with pytest.raises(InvalidArgument) as caught:
        connector_settings_from_proto(connectors_pb2.ConnectorSettings(sync_window_days=0))
    assert caught.value.field == "settings.sync_window_days"


def test_security_from_proto() -> None:
    assert security_from_proto(common_pb2.SECURITY_MODE_UNSPECIFIED, "imap_security") is None
    assert security_from_proto(common_pb2.SECURITY_MODE_PLAIN, "x") is domain.Security.PLAIN
    with pytest.raises(InvalidArgument):
        security_from_proto(99, "imap_security")  # type: ignore[arg-type]


def test_folder_name_is_the_last_path_component() -> None:
    folder = domain.Folder(
        id="f2",
        grant_id="g1",
        name="Work/Projects",
        delimiter="/",
        attributes=("\\HasNoChildren",),
        role=domain.FolderRole.NONE,
        parent_id="f1",
        total_count=7,
        unread_count=2,
    )
    reply = folder_to_proto(folder, child_count=3)
    assert (reply.name, reply.path, reply.parent_id) == ("Projects", "Work/Projects", "f1")
    assert reply.role == folders_pb2.FOLDER_ROLE_UNSPECIFIED
    assert (reply.total_count, reply.unread_count, reply.child_count) == (7, 2, 3)
    top = folder_to_proto(domain.Folder(id="f0", grant_id="g1", name="INBOX", role="inbox"))  # type: ignore[arg-type]
    assert not top.HasField("parent_id")
    assert top.role == folders_pb2.FOLDER_ROLE_INBOX


def test_thread_with_latest_message() -> None:
    thread = domain.Thread(
        id="t1",
        grant_id="g1",
        subject="Lunch?",
        participants=(ANN, BOB),
        message_ids=("m0", "m1"),
        folder_ids=("f-inbox",),
        unread=True,
        starred=False,
        has_attachments=True,
        earliest_message_date=1_699_000_000,
        latest_message_date=1_700_000_000,
        snippet="Shall we",
    )
    reply = thread_to_proto(thread, latest_message=_message(), latest_sent_date=1_699_500_000)
    assert list(reply.message_ids) == ["m0", "m1"]
    assert reply.latest_message_received_date == 1_700_000_000
    assert reply.latest_message_sent_date == 1_699_500_000
    assert reply.WhichOneof("latest_draft_or_message") == "latest_message"
    bare = thread_to_proto(thread)
    assert not bare.HasField("latest_message_sent_date")
    assert bare.WhichOneof("latest_draft_or_message") is None


def _event(kind: domain.EventType, object_id: str) -> domain.Event:
    return domain.Event(
        position=42,
        id="e42",
        grant_id="g1",
        type=kind,
        object_id=object_id,
        payload={},
        created_at=1_700_000_000.9,
    )


def test_event_carries_the_changed_object() -> None:
    reply = event_to_proto(
        _event(domain.EventType.MESSAGE_CREATED, "m1"), cursor="c42", changed=_message()
    )
    assert (reply.cursor, reply.id, reply.type, reply.object_id) == (
        "c42",
        "e42",
        "message.created",
        "m1",
    )
    assert reply.created_at == 1_700_000_000
    assert reply.WhichOneof("object") == "message"
    assert reply.message.body


def test_truncated_event_has_no_body() -> None:
    reply = event_to_proto(
        _event(domain.EventType.MESSAGE_CREATED, "m1"),
        cursor="c",
        changed=_message(),
        truncated=True,
    )
    assert reply.truncated
    assert reply.message.subject == "Lunch?"
    assert not reply.message.body


def test_deleted_event_has_only_ids() -> None:
    reply = event_to_proto(_event(domain.EventType.MESSAGE_DELETED, "m1"), cursor="c")
    assert reply.WhichOneof("object") is None
    assert (reply.object_id, reply.grant_id) == ("m1", "g1")


def test_grant_event_carries_the_grant() -> None:
    reply = event_to_proto(
        _event(domain.EventType.GRANT_UPDATED, "g1"),
        cursor="c",
        changed=_grant(domain.GrantState.DEGRADED),
    )
    assert reply.WhichOneof("object") == "grant"
    assert reply.grant.sync_state == grants_pb2.SYNC_STATE_DEGRADED


@given(st.floats(min_value=0, max_value=2**40, allow_nan=False))
def test_unix_seconds_never_rounds_up(value: float) -> None:
    seconds = unix_seconds(value)
    assert seconds <= value < seconds + 1


@given(st.text(max_size=40), st.emails())
def test_email_address_round_trip(name: str, email: str) -> None:
    address = domain.EmailAddress(name or None, email)
    assert email_address_from_proto(email_address_to_proto(address)) == address


def test_message_ids_leave_the_api_without_angle_brackets() -> None:
    assert bare_message_id("<abc@example.com>") == "abc@example.com"
    assert bare_message_id(" <abc@example.com> ") == "abc@example.com"
    assert bare_message_id("abc@example.com") == "abc@example.com"
    assert bare_message_id("<unclosed@example.com") == "<unclosed@example.com"


def test_every_address_field_keeps_its_addresses_in_order() -> None:
    cat = domain.EmailAddress("Cat", "cat@example.net")
    reply = message_to_proto(_message(cc=(BOB, cat), bcc=(cat,), reply_to=(ANN, BOB, cat)))
    assert [(a.name, a.email) for a in reply.cc] == [("", "bob@example.org"),
                                                      ("Cat", "cat@example.net")]
    assert [a.email for a in reply.bcc] == ["cat@example.net"]
    assert [a.email for a in reply.reply_to] == ["ann@example.com", "bob@example.org",
                                                 "cat@example.net"]
    assert [a.email for a in reply.from_] == ["ann@example.com"]
