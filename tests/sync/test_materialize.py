"""FETCH results → domain messages: the same heads and messages as before the MIME
fast paths (the implementation kept in ``tests/mime/reference_*``), for generated
mailboxes and for hostile header sections and text parts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.mime import reference_body, reference_headers
from tests.mime.header_strategies import header_sections
from tidings import mime
from tidings.devtools.mailgen import generate
from tidings.domain import EmailAddress, Message
from tidings.imap import BodyPart, Fetch, Multipart
from tidings.mime.fields import header_section
from tidings.sync import materialize
from tidings.sync.materialize import Head, build_message, read_head

_WHEN = datetime(2026, 9, 6, 12, 0, tzinfo=UTC)


def _reference_addresses(values: tuple[mime.EmailAddress, ...]) -> tuple[EmailAddress, ...]:
    return tuple(EmailAddress(name=a.name or None, email=a.email) for a in values)


@contextmanager
def _reference_mime() -> Iterator[None]:
    """materialize with the functions it calls as they were before the fast paths."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mime, "parse_headers", reference_headers.parse_headers)
        patch.setattr(mime, "content_fingerprint_of", reference_body.content_fingerprint_of)
        patch.setattr(mime, "synthesize_message_id_of", reference_body.synthesize_message_id_of)
        patch.setattr(mime, "decode_part", reference_body.decode_part)
        patch.setattr(mime, "make_snippet", reference_body.make_snippet)
        patch.setattr(materialize, "_addresses", _reference_addresses)
        yield


def _without_random_ids(message: Message) -> Message:
    return dataclasses.replace(
        message, id="",
        attachments=tuple(dataclasses.replace(a, id=a.part, message_id="")
                          for a in message.attachments))


def _materialize(fetch: Fetch, sections: dict[str, bytes | None]
                 ) -> tuple[Head | None, Message | None]:
    head = read_head(fetch, strict_message_id=False)
    if head is None:
        return None, None
    message = build_message(head, grant_id="g", folder_id="f", sections=sections)
    return head, _without_random_ids(message)


def _assert_same_as_reference(fetch: Fetch, sections: dict[str, bytes | None]) -> None:
    new = _materialize(fetch, sections)
    with _reference_mime():
        old = _materialize(fetch, sections)
    assert new == old
    assert repr(new) == repr(old)  # the Date offset too, which == does not compare


def _text_part(encoding: str, charset: str | None, size: int) -> BodyPart:
    return BodyPart(part="1", type="text", subtype="plain",
                    params={"charset": charset} if charset else {}, id=None,
                    description=None, encoding=encoding, size=size)


def test_a_generated_mailbox_materializes_as_before() -> None:
    for uid, item in enumerate(generate(40, seed=3, days=30), start=1):
        header_end = header_section(item.raw)[1]
        body = item.raw[header_end:]
        fetch = Fetch(seq=uid, uid=uid, flags=("\\Seen", "\\Recent"),
                      internaldate=item.when, size=len(item.raw),
                      bodystructure=_text_part("7bit", "utf-8", len(body)),
                      sections={"BODY[HEADER]": item.raw[:header_end]})
        _assert_same_as_reference(fetch, {"BODY[1]<0>": body})


_BODIES = st.lists(st.sampled_from([b"Hello", b"\r\n", b"\n", b"\r", b"=\r\n", b"=C3=A9",
                                    b"\xe9", b"\xc3\xa9", b"  ", b"\t", b"\x00", b"<p>"]),
                   max_size=30).map(b"".join)


@given(header_sections(), _BODIES,
       st.sampled_from(["7bit", "quoted-printable", "base64", "bogus"]),
       st.sampled_from([None, "utf-8", "iso-8859-1", "x-unknown"]), st.booleans())
def test_hostile_messages_materialize_as_before(header: bytes, body: bytes, encoding: str,
                                                charset: str | None, with_html: bool) -> None:
    text = _text_part(encoding, charset, len(body))
    html = dataclasses.replace(text, part="2", subtype="html")
    structure = (Multipart(part="", parts=(text, html), subtype="alternative")
                 if with_html else text)
    fetch = Fetch(seq=1, uid=7, flags=(), internaldate=_WHEN, size=len(header) + len(body),
                  bodystructure=structure, sections={"BODY[HEADER]": header})
    sections: dict[str, bytes | None] = {"BODY[1]<0>": body}
    if with_html:
        sections["BODY[2]<0>"] = b"<p>Hi <b>there</b></p>"
    _assert_same_as_reference(fetch, sections)


def test_addresses_become_domain_addresses_with_empty_names_as_none() -> None:
    found = materialize._addresses((mime.EmailAddress("", "a@b.example"),
                                    mime.EmailAddress("Ann", "ann@b.example")))
    assert found == (EmailAddress(None, "a@b.example"), EmailAddress("Ann", "ann@b.example"))
    assert materialize._addresses(()) == ()
