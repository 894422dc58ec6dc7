"""Messages of a list reply: a `select` mask gives what trimming the whole message with
the mask gives."""

from __future__ import annotations

from google.protobuf import field_mask_pb2
from hypothesis import given
from hypothesis import strategies as st

from tidings import domain
from tidings.api.convert import listed_message_to_proto, message_to_proto, select_fields
from tidings.v1 import messages_pb2

_MESSAGE = domain.Message(
    id="m1",
    grant_id="g1",
    thread_id="t1",
    message_id_header="abc@example.com",
    content_hash="h",
    subject="Lunch?",
    from_=(domain.EmailAddress("Ann Lee", "ann@example.com"),),
    to=(domain.EmailAddress(None, "bob@example.org"),),
    cc=(domain.EmailAddress(None, "cy@example.org"),),
    date=1_700_000_000,
    flags=("\\Flagged",),
    locations=(domain.Location("f-inbox", 10),),
    snippet="Shall we",
    text_body="Shall we <eat>?\nAt noon.",
    headers=(("Subject", "Lunch?"), ("X-Mailer", "mutt")),
    attachments=(
        domain.Attachment(
            id="a1",
            message_id="m1",
            part="2",
            filename="menu.pdf",
            content_type="application/pdf",
            size=1234,
        ),
    ),
    warnings=("replaced undecodable bytes in part 1",),
)
# raw_mime comes only from GetMessage; a list request that selects it is refused earlier.
_LISTABLE = sorted(set(messages_pb2.Message.DESCRIPTOR.fields_by_name) - {"raw_mime"})


def test_without_select_a_listed_message_is_whole_but_for_headers() -> None:
    assert listed_message_to_proto(_MESSAGE, frozenset()) == message_to_proto(_MESSAGE)
    assert not listed_message_to_proto(_MESSAGE, frozenset()).headers


@given(st.sets(st.sampled_from(_LISTABLE)))
def test_select_gives_what_a_field_mask_trim_gives(paths: set[str]) -> None:
    trimmed = select_fields(
        message_to_proto(_MESSAGE, include_headers="headers" in paths),
        field_mask_pb2.FieldMask(paths=sorted(paths)),
    )
    assert listed_message_to_proto(_MESSAGE, frozenset(paths)) == trimmed
