"""Properties of ResponseReader: encode -> parse round trips for every response kind,
independence from how the stream is split, robustness against garbage, and limits."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tests.imap.wire import encode, encode_all
from tidings.imap.errors import ConnectionLost, LimitExceeded, ProtocolError
from tidings.imap.limits import Limits
from tidings.imap.mutf7 import encode_mutf7
from tidings.imap.reader import NEED_DATA, NeedData, ResponseReader
from tidings.imap.responses import (
    Address,
    AppendUid,
    BodyPart,
    BodyStructure,
    Capability,
    Condition,
    Continuation,
    CopyUid,
    Enabled,
    Envelope,
    ESearch,
    Exists,
    Expunge,
    Fetch,
    Flags,
    ListEntry,
    Multipart,
    Recent,
    Response,
    ResponseCode,
    Search,
    Status,
    Tagged,
    Unknown,
    Vanished,
)

# -- strategies -------------------------------------------------------------------------

_LITERAL_TAIL = re.compile(r"\{\d+\+?\}\Z")
_PRINTABLE = st.characters(exclude_categories=["Cc", "Cs"])

numbers = st.integers(min_value=0, max_value=2**32 - 1)
nz_numbers = st.integers(min_value=1, max_value=2**32 - 1)
mod_seqs = st.integers(min_value=1, max_value=2**63 - 1)
# Free text (resp-text, unknown data): no CR/LF, and nothing the framer would take for
# a literal header at the end of a line.
texts = st.text(_PRINTABLE, max_size=40).filter(
    lambda t: not t.startswith((" ", "[")) and not _LITERAL_TAIL.search(t)
)
# String values may hold anything; the serializer switches to a literal when needed.
strings = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
nstrings = st.none() | strings
atoms = st.from_regex(r"[A-Z][A-Z0-9=+.-]{0,12}", fullmatch=True)
flags = st.sampled_from(
    ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent"]
) | st.from_regex(r"[$A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True)
uid_lists = st.lists(nz_numbers, min_size=1, max_size=20).map(tuple)


@st.composite
def codes(draw: st.DrawFn) -> ResponseCode:
    kind = draw(st.sampled_from(["int", "none", "caps", "flags", "charsets", "append",
                                 "copy", "other"]))  # fmt: skip
    if kind == "int":
        name = draw(st.sampled_from(["UIDVALIDITY", "UIDNEXT", "UNSEEN", "HIGHESTMODSEQ"]))
        return ResponseCode(name, draw(numbers))
    if kind == "none":
        return ResponseCode(draw(st.sampled_from([
            "ALERT", "NOMODSEQ", "CLOSED", "LIMIT", "UNAVAILABLE", "AUTHENTICATIONFAILED",
            "OVERQUOTA", "TRYCREATE", "READ-ONLY", "READ-WRITE"])))  # fmt: skip
    if kind == "caps":
        return ResponseCode("CAPABILITY", tuple(draw(st.lists(atoms, min_size=1, max_size=6))))
    if kind == "flags":
        return ResponseCode("PERMANENTFLAGS", tuple(draw(st.lists(flags | st.just("\\*")))))
    if kind == "charsets":
        return ResponseCode("BADCHARSET", tuple(draw(st.lists(atoms, max_size=3))))
    if kind == "append":
        return ResponseCode("APPENDUID", AppendUid(draw(nz_numbers), draw(uid_lists)))
    if kind == "copy":
        source = draw(uid_lists)
        destination = tuple(draw(st.lists(nz_numbers, min_size=len(source), max_size=len(source))))
        return ResponseCode("COPYUID", CopyUid(draw(nz_numbers), source, destination))
    data = draw(st.text(_PRINTABLE, min_size=1, max_size=20).filter(
        lambda t: "]" not in t and t.strip(" ") == t))  # fmt: skip
    return ResponseCode(draw(st.from_regex(r"X-[A-Z]{1,8}", fullmatch=True)), data)


optional_codes = st.none() | codes()


def _list_entry(
    attributes: frozenset[str], delimiter: str | None, name: str, lsub: bool
) -> ListEntry:
    shown = "INBOX" if name.upper() == "INBOX" else name
    return ListEntry(attributes, delimiter, shown, encode_mutf7(name), lsub)


mailbox_names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)

addresses = st.builds(Address, nstrings, nstrings, nstrings, nstrings)
address_lists = st.lists(addresses, max_size=3).map(tuple)
envelopes = st.builds(
    Envelope, nstrings, nstrings, address_lists, address_lists, address_lists,
    address_lists, address_lists, address_lists, nstrings, nstrings,
)  # fmt: skip

tokens = st.from_regex(r"[a-z][a-z0-9.+-]{0,10}", fullmatch=True)
params = st.dictionaries(tokens, strings, max_size=3)
languages = st.lists(strings, max_size=3).map(tuple)


@st.composite
def extension(draw: st.DrawFn) -> dict[str, object]:
    disposition = draw(st.none() | tokens)
    return {
        "disposition": disposition,
        "disposition_params": draw(params) if disposition is not None else {},
        "language": draw(languages),
        "location": draw(nstrings),
    }


@st.composite
def leaves(draw: st.DrawFn) -> BodyPart:
    kind = draw(st.sampled_from(["text", "image", "application", "audio"]))
    return BodyPart(
        "", kind, draw(tokens), draw(params), draw(nstrings), draw(nstrings), draw(tokens),
        draw(numbers), lines=draw(numbers) if kind == "text" else None, md5=draw(nstrings),
        **draw(extension()),  # type: ignore[arg-type]
    )  # fmt: skip


def _containers(children: st.SearchStrategy[BodyStructure]) -> st.SearchStrategy[BodyStructure]:
    multipart = st.builds(
        lambda parts, subtype, p, ext: Multipart("", tuple(parts), subtype, p, **ext),
        st.lists(children, min_size=1, max_size=3), tokens, params, extension(),
    )  # fmt: skip
    message = st.builds(
        lambda leaf, env, inner, lines: dataclasses.replace(
            leaf, type="message", subtype="rfc822", envelope=env, body=inner, lines=lines
        ),
        leaves(), envelopes, children, numbers,
    )  # fmt: skip
    return multipart | message


def renumber(body: BodyStructure, multi: str = "", single: str = "1") -> BodyStructure:
    """Section numbers as RFC 9051 §6.4.5 assigns them, computed independently."""
    if isinstance(body, Multipart):
        children = tuple(
            renumber(
                child, f"{multi}.{i}" if multi else str(i), f"{multi}.{i}" if multi else str(i)
            )
            for i, child in enumerate(body.parts, 1)
        )
        return dataclasses.replace(body, part=multi, parts=children)
    inner = None if body.body is None else renumber(body.body, single, f"{single}.1")
    return dataclasses.replace(body, part=single, body=inner)


bodies = st.recursive(leaves(), _containers, max_leaves=6).map(renumber)

aware_datetimes = st.builds(
    lambda naive, minutes: naive.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)  # fmt: skip
section_keys = st.sampled_from([
    "BODY[]", "BODY[HEADER]", "BODY[TEXT]", "BODY[1.2]", "BODY[]<0>", "BODY[2.MIME]<1024>",
    "BODY[HEADER.FIELDS (FROM TO)]", "BINARY[1]", "RFC822", "RFC822.HEADER", "RFC822.TEXT",
])  # fmt: skip
fetches = st.builds(
    Fetch, nz_numbers, st.none() | nz_numbers, st.none() | st.lists(flags).map(tuple),
    st.none() | aware_datetimes, st.none() | numbers, st.none() | mod_seqs,
    st.none() | envelopes, st.none() | bodies,
    st.dictionaries(section_keys, st.none() | st.binary(max_size=300), max_size=3),
    st.dictionaries(st.sampled_from(["1", "2.1", "3"]), numbers, max_size=2),
)  # fmt: skip

responses: st.SearchStrategy[Response] = st.one_of(
    st.builds(Continuation, texts, optional_codes),
    st.builds(Tagged, st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,6}", fullmatch=True),
              st.sampled_from(["OK", "NO", "BAD"]), optional_codes, texts),
    st.builds(Condition, st.sampled_from(["OK", "NO", "BAD", "BYE", "PREAUTH"]),
              optional_codes, texts),
    st.builds(Capability, st.frozensets(atoms, max_size=8)),
    st.builds(Enabled, st.frozensets(atoms, max_size=3)),
    st.builds(_list_entry, st.frozensets(flags, max_size=3),
              st.sampled_from(["/", ".", "\\", '"', None]), mailbox_names, st.booleans()),
    st.builds(lambda n, *v: Status("INBOX" if n.upper() == "INBOX" else n, *v), mailbox_names,
              *[st.none() | numbers] * 7),
    st.builds(Search, st.lists(nz_numbers, max_size=10).map(tuple), st.none() | mod_seqs),
    st.builds(ESearch, st.none() | st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
              st.booleans(), st.none() | nz_numbers, st.none() | nz_numbers,
              st.none() | numbers, st.none() | uid_lists, st.none() | mod_seqs),
    st.builds(Flags, st.lists(flags, max_size=6).map(tuple)),
    st.builds(Exists, numbers),
    st.builds(Recent, numbers),
    st.builds(Expunge, nz_numbers),
    st.builds(Vanished, uid_lists, st.booleans()),
    fetches,
    st.builds(Unknown, st.from_regex(r"X[A-Z]{1,8}", fullmatch=True),
              st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
              .map(str.encode).filter(lambda d: not _LITERAL_TAIL.search(d.decode()))),
)  # fmt: skip


def parse_chunks(chunks: list[bytes], limits: Limits | None = None) -> list[Response]:
    reader = ResponseReader() if limits is None else ResponseReader(limits)
    found: list[Response] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        while not isinstance(event := reader.next_event(), NeedData):
            found.append(event)
    assert reader.buffered == 0
    return found


# -- properties -------------------------------------------------------------------------


@given(responses)
def test_every_response_kind_round_trips(response: Response) -> None:
    assert parse_chunks([encode(response)]) == [response]


@given(st.lists(responses, min_size=1, max_size=6), st.data())
def test_any_split_of_the_stream_gives_the_same_events(
    stream: list[Response], data: st.DataObject
) -> None:
    raw = encode_all(stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert parse_chunks([c for c in chunks if c]) == stream


def _feed_expecting_only_protocol_errors(chunks: list[bytes], limits: Limits) -> None:
    reader = ResponseReader(limits)
    try:
        for chunk in [*chunks, b""]:
            reader.receive_data(chunk)
            while not isinstance(reader.next_event(), NeedData):
                pass
    except (ProtocolError, ConnectionLost):
        return


small_limits = Limits(max_line=200, max_literal=100, max_buffer=400, max_depth=8, max_set=50)


@given(st.lists(st.binary(max_size=80), max_size=8))
def test_garbage_raises_only_protocol_errors(chunks: list[bytes]) -> None:
    _feed_expecting_only_protocol_errors(chunks, small_limits)


@given(st.lists(responses, min_size=1, max_size=3), st.data())
def test_mutated_responses_raise_only_protocol_errors(
    stream: list[Response], data: st.DataObject
) -> None:
    raw = bytearray(encode_all(stream))
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        octet = data.draw(st.sampled_from(b'()[]{}<>"\\ \r\n*+~0123456789NIL\x00\xff'))
        if action == "insert":
            raw.insert(position, octet)
        elif position < len(raw):
            if action == "delete":
                del raw[position]
            else:
                raw[position] = octet
    _feed_expecting_only_protocol_errors([bytes(raw)], Limits())
    _feed_expecting_only_protocol_errors([bytes(raw)], small_limits)


# -- limits -----------------------------------------------------------------------------


@given(st.integers(min_value=1001, max_value=10**25), st.sampled_from(["{%d}", "{%d+}", "~{%d}"]))
def test_literal_header_over_the_limit_is_refused_before_data(size: int, form: str) -> None:
    reader = ResponseReader(Limits(max_literal=1000))
    reader.receive_data(b"* 1 FETCH (BODY[] " + (form % size).encode() + b"\r\n")
    try:
        reader.next_event()
    except LimitExceeded as exc:
        assert exc.limit == "literal size"
    else:
        raise AssertionError("literal header over the limit was accepted")


@given(st.lists(st.integers(1, 5000), min_size=1, max_size=50))
def test_long_line_fails_once_it_passes_the_limit(chunk_sizes: list[int]) -> None:
    limits = Limits(max_line=10_000)
    reader = ResponseReader(limits)
    received = 0
    try:
        for size in chunk_sizes * 100:
            reader.receive_data(b"x" * size)
            received += size
            assert reader.next_event() is NEED_DATA
    except LimitExceeded as exc:
        assert exc.limit == "line length"
        assert limits.max_line < received <= limits.max_line + 1 + 5000
    else:
        assert received <= limits.max_line + 1


@given(
    st.integers(min_value=65, max_value=10_000),
    st.sampled_from([b"* 1 FETCH (BODYSTRUCTURE %s)", b"* 1 FETCH (X-EXT %s)",
                     b"* ID %s", b'* LIST () "/" x %s', b"* ESEARCH X %s"]),
)  # fmt: skip
def test_deep_nesting_raises_limit_exceeded(depth: int, template: bytes) -> None:
    reader = ResponseReader()
    reader.receive_data(template % (b"(" * depth + b")" * depth) + b"\r\n")
    try:
        reader.next_event()
    except LimitExceeded as exc:
        assert exc.limit == "nesting depth"
    else:
        raise AssertionError("nesting over the limit was accepted")


@given(
    st.integers(min_value=1_000_001, max_value=2**32 - 1),
    st.sampled_from([b"* VANISHED (EARLIER) 1:%d", b"* ESEARCH ALL 1:%d",
                     b"a OK [APPENDUID 1 1:%d] x", b"a OK [COPYUID 1 1:%d 1:10] x",
                     b"* VANISHED 1:500000,500001:%d"]),
)  # fmt: skip
def test_huge_sets_raise_limit_exceeded(top: int, template: bytes) -> None:
    reader = ResponseReader()
    reader.receive_data(template % top + b"\r\n")
    try:
        reader.next_event()
    except LimitExceeded as exc:
        assert exc.limit == "numbers in a set"
    else:
        raise AssertionError("set over the limit was expanded")
