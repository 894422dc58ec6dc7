"""The parsers' regex fast paths (parser._FETCH_START, parse_fetch._FAST, parse_body._LEAF
and _MULTIPART_TAIL) read exactly what the general, token-by-token path reads: the same
values from well-formed responses, the same typed errors from malformed ones, and the
same limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.imap.test_reader_properties import bodies, fetches
from tests.imap.wire import body as encode_body
from tests.imap.wire import encode
from tidings.imap import parse_body, parse_fetch, parser
from tidings.imap.errors import ImapError, LimitExceeded, ProtocolError
from tidings.imap.lexer import MEMO_LONGEST, MEMO_MAX, remember
from tidings.imap.limits import DEFAULT_LIMITS, Limits
from tidings.imap.reader import NeedData, ResponseReader
from tidings.imap.responses import BodyStructure, Fetch, Response

_NEVER = re.compile(rb"(?!)")
_FAST_PATTERNS = (
    (parser, "_FETCH_START"),
    (parse_fetch, "_FAST"),
    (parse_body, "_LEAF"),
    (parse_body, "_MULTIPART_TAIL"),
)

Outcome = tuple[str, object]


@contextmanager
def general_path_only() -> Iterator[None]:
    """Every fast pattern replaced by one that never matches: the general path reads all."""
    with ExitStack() as stack:
        for module, name in _FAST_PATTERNS:
            stack.enter_context(mock.patch.object(module, name, _NEVER))
        yield


def outcome(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """The responses in `data`, or the error; "incomplete" when octets are left over."""
    reader = ResponseReader(limits)
    reader.receive_data(data)
    found: list[Response] = []
    try:
        while not isinstance(event := reader.next_event(), NeedData):
            found.append(event)
    except ImapError as exc:
        return "error", (type(exc), str(exc), found)
    if reader.buffered:
        return "incomplete", (reader.buffered, found)
    return "ok", found


def both_ways(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """The outcome of `data`, after checking that the general path alone agrees."""
    fast = outcome(data, limits)
    with general_path_only():
        general = outcome(data, limits)
    assert fast == general
    return fast


def respell(data: bytes) -> bytes:
    """The same response in shapes the fast paths refuse and the general path accepts:
    doubled spaces and lower-case "nil" outside strings; quoted strings and literals are
    copied as they are."""
    out = bytearray()
    pos = 0
    while pos < len(data):
        octet = data[pos : pos + 1]
        if octet == b'"':
            end = pos + 1
            while data[end : end + 1] != b'"':
                end += 2 if data[end : end + 1] == b"\\" else 1
            out += data[pos : end + 1]
            pos = end + 1
        elif (header := re.compile(rb"~?\{(\d+)\}\r\n").match(data, pos)) is not None:
            end = header.end() + int(header.group(1))
            out += data[pos:end]
            pos = end
        elif data.startswith(b"NIL", pos) and data[pos + 3 : pos + 4] in (b" ", b")"):
            out += b"nil"
            pos += 3
        else:
            out += b"  " if octet == b" " else octet
            pos += 1
    return bytes(out)


def bodystructure_response(structure: BodyStructure) -> bytes:
    return b"* 7 FETCH (UID 9 BODYSTRUCTURE " + encode_body(structure) + b")\r\n"


# -- well-formed responses ---------------------------------------------------------------


@given(fetches)
def test_fetch_responses_read_the_same_both_ways(fetch: Fetch) -> None:
    assert both_ways(encode(fetch)) == ("ok", [fetch])


@given(bodies)
def test_bodystructures_read_the_same_both_ways(structure: BodyStructure) -> None:
    data = bodystructure_response(structure)
    expected = ("ok", [Fetch(7, 9, bodystructure=structure)])
    assert both_ways(data) == expected
    # Respelled, it takes the general path almost everywhere, with fast paths on or off.
    assert both_ways(respell(data)) == expected


def test_typical_dovecot_response_reads_the_same_both_ways() -> None:
    data = (
        b'* 1 FETCH (UID 1 FLAGS (\\Seen $Forwarded) INTERNALDATE "06-Sep-2026 19:53:04 +0000" '
        b'RFC822.SIZE 550324 BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL '
        b'"quoted-printable" 3621 51 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL '
        b'NIL "base64" 546038 NIL ("attachment" ("filename" "file4178.bin")) NIL NIL) "mixed" '
        b'("boundary" "===============0715380152702477939==") NIL NIL NIL) BODY[HEADER] {10}\r\n'
        b"Subject:\r\n)\r\n"
    )
    with mock.patch.object(parse_body, "_fast_leaf", wraps=parse_body._fast_leaf) as leaf:
        kind, found = both_ways(data)
    assert leaf.call_count == 2  # both parts were read by the fast path
    assert kind == "ok"
    assert isinstance(found, list)
    (fetch,) = found
    assert fetch.uid == 1
    assert fetch.flags == ("\\Seen", "$Forwarded")
    assert fetch.size == 550324
    assert fetch.sections == {"BODY[HEADER]": b"Subject:\r\n"}
    parts = list(fetch.bodystructure.walk())
    assert [(p.part, p.mime_type, p.lines) for p in parts] == [
        ("1", "text/plain", 51), ("2", "application/octet-stream", None)]  # fmt: skip
    assert parts[1].disposition_params == {"filename": "file4178.bin"}
    assert parts[0].params is not parts[1].params  # every part owns its mapping


# -- malformed responses -----------------------------------------------------------------

_LEAF = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)'
MALFORMED = [
    b"* 1 FETCH (UID 123456789012345678901)",  # 21 digits
    b"* 1 FETCH (RFC822.SIZE 123456789012345678901)",
    b"* 1 FETCH (MODSEQ (123456789012345678901))",
    b"* 123456789012345678901 FETCH (UID 1)",
    b"* 1 FETCH(UID 1)",
    b"* 1 FETCH (UID 1",  # no closing paren
    b"* 1 FETCH (UID 1) x",  # text after the list
    b"* 1 FETCH (UID 12x)",
    b"* 1 FETCH (UID 1 FLAGS (\\Seen)x)",
    b"* 1 FETCH (FLAGS (\\Seen \\Answered)",
    b'* 1 FETCH (INTERNALDATE "31-Jun-2026 10:00:00 +0000")',  # no such day
    b'* 1 FETCH (INTERNALDATE "06-Sep-2026 25:00:00 +0000")',
    b'* 1 FETCH (INTERNALDATE "06-Sep-2026 10:00:00 +2500")',
    b'* 1 FETCH (INTERNALDATE "06-Foo-2026 10:00:00 +0000")',
    b'* 1 FETCH (INTERNALDATE "06-Sep-2026 10:00:00 +0000"X)',
    b"* 1 FETCH (BODY[1]<0> )",
    b"* 1 FETCH (BODY[1]<0>)",
    b"* 1 FETCH (BODY[1] {5})",  # a literal header not at the end of the line
    b"* 1 FETCH (BODYSTRUCTURE )",
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 123456789012345678901))',
    b'* 1 FETCH (BODYSTRUCTURE ("image" "png" NIL NIL NIL "base64" 12 3))',  # lines: text only
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 12 1 NIL NIL NIL "x))',
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 12 1)',
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset") NIL NIL "7bit" 12 1))',
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit"))',
    b'* 1 FETCH (BODYSTRUCTURE ("text" NIL NIL NIL NIL "7bit" 12 1))',
    b'* 1 FETCH (BODYSTRUCTURE ("text" "pl\r' + b'ain" NIL NIL NIL "7bit" 12 1))',
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b' "mixed" ("boundary") NIL NIL NIL))',
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b' "mixed" NIL NIL NIL NIL {))',
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b' "mixed" NIL ("inline" NIL NIL) NIL NIL))',
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b"))",  # no subtype
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b' "mixed")',
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_fast_shapes_raise_the_same_protocol_error(line: bytes) -> None:
    kind, detail = both_ways(line + b"\r\n")
    assert kind == "error"
    assert isinstance(detail, tuple)
    assert issubclass(detail[0], ProtocolError)


@given(fetches, st.data())
def test_mutated_fetch_responses_read_the_same_both_ways(fetch: Fetch, data: st.DataObject) -> None:
    wire = bytearray(encode(fetch))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(wire) - 1))
        octet = data.draw(st.sampled_from(b' ()[]<>{}"\\N0123456789~\r'))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if action == "replace":
            wire[at] = octet
        elif action == "insert":
            wire.insert(at, octet)
        else:
            del wire[at]
    small = Limits(max_line=4096, max_literal=1024, max_buffer=8192, max_depth=8)
    both_ways(bytes(wire), small)  # the same responses, or the same typed error


@pytest.mark.parametrize("line", [
    b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 12 1 NIL NIL NIL NIL X))',
    b"* 1 FETCH (BODYSTRUCTURE (" + _LEAF + b' "mixed" NIL NIL NIL NIL (X "y")))',
])  # fmt: skip
def test_extension_data_after_the_location_is_skipped_both_ways(line: bytes) -> None:
    # body-extension (RFC 9051 §9): later RFCs may add data; the fast paths leave it to
    # the general path, which skips it.
    assert both_ways(line + b"\r\n")[0] == "ok"


# -- limits ------------------------------------------------------------------------------


def test_nesting_depth_is_checked_before_a_leaf_is_read_fast() -> None:
    # The FETCH list is depth 1, the outer multipart 2, the inner 3, the leaf 4.
    data = (b'* 1 FETCH (BODYSTRUCTURE ((("text" "plain" NIL NIL NIL "7bit" 1 1) "mixed") '
            b'"mixed"))\r\n')  # fmt: skip
    kind, detail = both_ways(data, Limits(max_depth=3))
    assert kind == "error"
    assert isinstance(detail, tuple)
    assert detail[0] is LimitExceeded
    assert both_ways(data, Limits(max_depth=4))[0] == "ok"


def test_memo_tables_stay_bounded() -> None:
    memo: dict[bytes, int] = {}
    remember(memo, b"x" * (MEMO_LONGEST + 1), 1)
    assert memo == {}  # long keys are never kept
    for index in range(MEMO_MAX):
        remember(memo, b"%d" % index, index)
    assert len(memo) == MEMO_MAX
    remember(memo, b"one more", 0)
    assert memo == {b"one more": 0}  # a full table starts over


def test_many_distinct_names_do_not_grow_the_parser_tables() -> None:
    params = b" ".join(b'"p%d" "v"' % index for index in range(MEMO_MAX + 10))
    data = b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" (' + params + b') NIL NIL "7bit" 1 1))\r\n'
    kind, found = both_ways(data)
    assert kind == "ok"
    assert isinstance(found, list)
    assert len(found[0].bodystructure.params) == MEMO_MAX + 10
    assert len(parse_body._LOWERED) <= MEMO_MAX
