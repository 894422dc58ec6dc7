"""FETCH responses: message attributes, ENVELOPE, dates and section data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.imap.wire import parse_all
from tidings.imap.errors import LimitExceeded, ProtocolError
from tidings.imap.parse_fetch import parse_date_time
from tidings.imap.responses import Address, Envelope, Fetch


def fetch(data: bytes) -> Fetch:
    (event,) = parse_all(data)
    assert isinstance(event, Fetch)
    return event


def test_rfc9051_fetch_example_with_envelope() -> None:
    event = fetch(
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
        b'"IMAP4rev2 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")'
        b'("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>") '
        b'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n'
    )
    gray = Address("Terry Gray", None, "gray", "cac.washington.edu")
    assert event.seq == 12
    assert event.flags == ("\\Seen",)
    assert event.internaldate == datetime(
        1996, 7, 17, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7))
    )
    assert event.size == 4286
    assert event.envelope == Envelope(
        date="Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        subject="IMAP4rev2 WG mtg summary and minutes",
        from_=(gray,),
        sender=(gray,),
        reply_to=(gray,),
        to=(Address(None, None, "imap", "cac.washington.edu"),),
        cc=(
            Address(None, None, "minutes", "CNRI.Reston.VA.US"),
            Address("John Klensin", None, "KLENSIN", "MIT.EDU"),
        ),
        bcc=(),
        in_reply_to=None,
        message_id="<B27397-0100000@cac.washington.edu>",
    )
    assert event.envelope.from_[0].email == "gray@cac.washington.edu"
    assert event.bodystructure is not None
    assert event.bodystructure.part == "1"
    assert event.bodystructure.mime_type == "text/plain"


def test_envelope_group_syntax_and_literal_subject() -> None:
    event = fetch(
        b'* 1 FETCH (ENVELOPE (NIL {12}\r\nSubj\r\nfolded ((NIL NIL "undisclosed-recipients" NIL)'
        b'(NIL NIL NIL NIL)) NIL NIL ((NIL NIL "team" NIL) ("A" NIL "a" "x.org") '
        b"(NIL NIL NIL NIL)) NIL NIL NIL NIL))\r\n"
    )
    assert event.envelope is not None
    assert event.envelope.subject == "Subj\r\nfolded"
    assert event.envelope.from_ == (
        Address(None, None, "undisclosed-recipients", None),
        Address(None, None, None, None),
    )
    assert [a.email for a in event.envelope.to] == [None, "a@x.org", None]


def test_gmail_fetch_with_extension_items_and_modseq() -> None:
    event = fetch(
        b"* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
        b'X-GM-LABELS (\\Inbox \\Sent Important "Muy Importante") UID 4 MODSEQ (12345) '
        b"FLAGS () EMAILID (M6d99ac3275bb4e) PREVIEW {5}\r\nhello)\r\n"
    )
    assert (event.uid, event.modseq, event.flags) == (4, 12345, ())


def test_section_data_keys_and_literal_kinds() -> None:
    event = fetch(
        b"* 7 FETCH (UID 9 BODY[] {5}\r\nHello BODY[HEADER.FIELDS (From To)] {3}\r\nab\n "
        b'body[1.2]<0> "x" BINARY[2] ~{3}\r\na\x00b BINARY.SIZE[2] 3 BODY[3] NIL '
        b'RFC822.HEADER {2}\r\nhh RFC822.TEXT "t" RFC822 {1}\r\nr)\r\n'
    )
    assert event.sections == {
        "BODY[]": b"Hello",
        "BODY[HEADER.FIELDS (FROM TO)]": b"ab\n",
        "BODY[1.2]<0>": b"x",
        "BINARY[2]": b"a\x00b",
        "BODY[3]": None,
        "RFC822.HEADER": b"hh",
        "RFC822.TEXT": b"t",
        "RFC822": b"r",
    }
    assert event.binary_sizes == {"2": 3}


def test_literal_may_hold_crlf_and_parens() -> None:
    body = b"Subject: x\r\n\r\n(not a list\r\n* 5 EXISTS\r\n"
    event = fetch(b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\n")
    assert event.sections["BODY[]"] == body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"17-Jul-1996 02:44:25 -0700", datetime(1996, 7, 17, 9, 44, 25, tzinfo=UTC)),
        (b" 1-Feb-2024 00:00:00 +0000", datetime(2024, 2, 1, tzinfo=UTC)),
        (b"01-feb-2024 05:30:00 +0530", datetime(2024, 2, 1, tzinfo=UTC)),
        (b"29-Feb-2024 23:59:59 -1200", datetime(2024, 3, 1, 11, 59, 59, tzinfo=UTC)),
    ],
)
def test_internaldate_is_timezone_aware(raw: bytes, expected: datetime) -> None:
    value = parse_date_time(raw)
    assert value.tzinfo is not None
    assert value == expected


@pytest.mark.parametrize(
    "raw",
    [b"30-Feb-2024 00:00:00 +0000", b"1-Foo-2024 00:00:00 +0000", b"1-Jan-2024 25:00:00 +0000",
     b"1-Jan-2024 00:00:00 +2500", b"1-Jan-2024", b""],
)  # fmt: skip
def test_bad_internaldate_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError, match="INTERNALDATE"):
        parse_date_time(raw)


def test_fetch_errors() -> None:
    with pytest.raises(ProtocolError):
        fetch(b"* 1 FETCH (UID)\r\n")
    with pytest.raises(ProtocolError):
        fetch(b"* 1 FETCH (UID 5\r\n")
    with pytest.raises(ProtocolError):
        fetch(b"* 1 FETCH UID 5\r\n")
    with pytest.raises(LimitExceeded):
        fetch(b"* 1 FETCH (X-DEEP " + b"(" * 10_000 + b")" * 10_000 + b")\r\n")
