from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.imap.encode import (
    Arg,
    Binary,
    Mailbox,
    Raw,
    String,
    encode_command,
    flag_list,
    format_internaldate,
    search_date,
)
from tidings.imap.errors import CommandError
from tidings.imap.mutf7 import encode_mutf7
from tidings.imap.seqset import SeqSet

# --- a strict reader of command syntax, independent of the encoder -----------------

Token = tuple[str, bytes] | list["Token"]


class _Scan:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def expect(self, text: bytes) -> None:
        assert self.data.startswith(text, self.pos), (text, self.data[self.pos :][:40])
        self.pos += len(text)

    def token(self) -> Token:
        data, ch = self.data, self.data[self.pos : self.pos + 1]
        if ch == b"(":
            self.pos += 1
            items: list[Token] = []
            while self.data[self.pos : self.pos + 1] != b")":
                if items:
                    self.expect(b" ")
                items.append(self.token())
            self.pos += 1
            return items
        if ch == b'"':
            out = bytearray()
            self.pos += 1
            while True:
                c = data[self.pos]
                assert c not in (0x0D, 0x0A, 0x00), "CR/LF/NUL inside a quoted string"
                if c == 0x5C:
                    assert data[self.pos + 1] in b'"\\'
                    out.append(data[self.pos + 1])
                    self.pos += 2
                elif c == 0x22:
                    self.pos += 1
                    return ("string", bytes(out))
                else:
                    out.append(c)
                    self.pos += 1
        header = re.compile(rb"(~?)\{(\d+)(\+?)\}\r\n").match(data, self.pos)
        if header:
            size = int(header.group(2))
            self.pos = header.end()
            body = data[self.pos : self.pos + size]
            assert len(body) == size
            self.pos += size
            return ("binary" if header.group(1) else "string", body)
        atom = re.compile(rb"[^ ()\r\n\"{]+").match(data, self.pos)
        assert atom, data[self.pos :][:40]
        self.pos = atom.end()
        return ("atom", atom.group())


def parse_command(data: bytes) -> tuple[bytes, bytes, list[Token]]:
    """Parse exactly one command; the only CRLFs allowed are after literal headers
    (consumed inside ``token``) and the final terminator."""
    scan = _Scan(data)
    tag = scan.token()
    scan.expect(b" ")
    name = scan.token()
    args: list[Token] = []
    while scan.data[scan.pos : scan.pos + 1] == b" ":
        scan.pos += 1
        args.append(scan.token())
    scan.expect(b"\r\n")
    assert scan.pos == len(data), "bytes after the command terminator"
    assert isinstance(tag, tuple) and isinstance(name, tuple)
    return tag[1], name[1], args


def expected(value: Arg, utf8: bool = False) -> Token:
    if isinstance(value, str):
        return ("string", value.encode())
    if isinstance(value, bytes):
        return ("string", value)
    if isinstance(value, Mailbox):
        return ("string", value.octets(utf8))
    assert isinstance(value, list)
    return [expected(v, utf8) for v in value]


def normalise(token: Token) -> Token:
    """Atoms and strings carry the same value (astring)."""
    if isinstance(token, list):
        return [normalise(t) for t in token]
    kind, value = token
    return ("string", value) if kind == "atom" else (kind, value)


# --- astrings -----------------------------------------------------------------------


def test_atom_quoted_and_literal_choice() -> None:
    assert encode_command("a1", "LOGIN", "joe", "pass word") == (
        b'a1 LOGIN joe "pass word"\r\n',
    )
    assert encode_command("a1", "X", 'q"b\\s') == (b'a1 X "q\\"b\\\\s"\r\n',)
    assert encode_command("a1", "X", "") == (b'a1 X ""\r\n',)
    # NIL as an astring would read as nil where nstring is allowed: quote it.
    assert encode_command("a1", "X", "nil") == (b'a1 X "nil"\r\n',)
    # list-wildcards and "]" are atom-specials.
    assert encode_command("a1", "X", "a*b", "a]") == (b'a1 X "a*b" "a]"\r\n',)


def test_line_breaks_and_8bit_become_synchronizing_literals() -> None:
    chunks = encode_command("a2", "LOGIN", "us\r\ner", "pässword")
    assert chunks == (
        b"a2 LOGIN {6}\r\n",
        b"us\r\ner {9}\r\n",
        "pässword\r\n".encode(),
    )


def test_utf8_accept_quotes_8bit_but_not_line_breaks() -> None:
    assert encode_command("a3", "X", "pässword", "a\nb", utf8=True) == (
        'a3 X "pässword" {3}\r\n'.encode(),
        b"a\nb\r\n",
    )


def test_literal_plus_makes_one_chunk() -> None:
    assert encode_command("a4", "APPEND", "INBOX", b"x" * 5000, literal_plus=True) == (
        b"a4 APPEND INBOX {5000+}\r\n" + b"x" * 5000 + b"\r\n",
    )


def test_literal_minus_only_up_to_4096() -> None:
    small = encode_command("a5", "X", b"s" * 4096, literal_minus=True)
    assert small == (b"a5 X {4096+}\r\n" + b"s" * 4096 + b"\r\n",)
    big = encode_command("a5", "X", b"b" * 4097, literal_minus=True)
    assert big == (b"a5 X {4097}\r\n", b"b" * 4097 + b"\r\n")


def test_binary_literal8_is_the_only_place_for_nul() -> None:
    assert encode_command("a6", "APPEND", "INBOX", Binary(b"a\x00b")) == (
        b"a6 APPEND INBOX ~{3}\r\n",
        b"a\x00b\r\n",
    )
    assert encode_command("a6", "X", Binary(b"\x00"), literal_plus=True) == (
        b"a6 X ~{1+}\r\n\x00\r\n",
    )


@pytest.mark.parametrize(
    "arg",
    ["a\x00b", b"lit\x00", Mailbox("box\x00"), ["ok", ["deep\x00"]], Mailbox(b"x\x00")],
)
def test_nul_is_refused_before_anything_is_produced(arg: Arg) -> None:
    with pytest.raises(CommandError, match="NUL"):
        encode_command("a7", "X", "first", arg)


@pytest.mark.parametrize("text", ["a\rb", "a\nb", "x\x00"])
def test_raw_refuses_line_breaks_and_nul(text: str) -> None:
    with pytest.raises(CommandError):
        Raw(text)


@pytest.mark.parametrize("tag", ["", "a b", "a+", "a\r\n"])
def test_bad_tag(tag: str) -> None:
    with pytest.raises(CommandError):
        encode_command(tag, "NOOP")


@pytest.mark.parametrize("name", ["", "NO OP X", "NOOP\r\n", "1X", "A(B"])
def test_bad_command_name(name: str) -> None:
    with pytest.raises(CommandError):
        encode_command("a1", name)


def test_numbers_nil_raw_and_lists() -> None:
    chunks = encode_command(
        "a8", "UID FETCH", SeqSet.of(3, 1, 2, 9), [Raw("UID"), Raw("BODY.PEEK[]")],
        [Raw("CHANGEDSINCE"), 12345678901234], None, [],
    )
    assert chunks == (
        b"a8 UID FETCH 1:3,9 (UID BODY.PEEK[]) (CHANGEDSINCE 12345678901234) NIL ()\r\n",
    )


@pytest.mark.parametrize("value", [-1, 2**63, True])
def test_bad_numbers(value: int) -> None:
    with pytest.raises(CommandError):
        encode_command("a1", "X", value)


def test_string_is_never_an_atom() -> None:
    assert encode_command("a1", "ID", [String("name"), String("x\ny")]) == (
        b'a1 ID ("name" {3}\r\n',
        b"x\ny)\r\n",
    )


def test_empty_seqset_is_refused() -> None:
    with pytest.raises(CommandError):
        encode_command("a1", "X", SeqSet())


def test_lone_surrogate_is_refused() -> None:
    with pytest.raises(CommandError):
        encode_command("a1", "X", "\ud800")


# --- mailboxes ----------------------------------------------------------------------


def test_mailbox_modified_utf7_and_inbox() -> None:
    assert encode_command("a1", "SELECT", Mailbox("inbox")) == (b"a1 SELECT INBOX\r\n",)
    assert encode_command("a1", "SELECT", Mailbox("Entwürfe")) == (
        b"a1 SELECT Entw&APw-rfe\r\n",
    )
    assert encode_command("a1", "LIST", Mailbox(""), Mailbox("*")) == (
        b'a1 LIST "" "*"\r\n',
    )
    assert encode_command("a1", "CREATE", Mailbox("A & B")) == (b'a1 CREATE "A &- B"\r\n',)


def test_mailbox_utf8_and_raw_octets() -> None:
    assert encode_command("a1", "SELECT", Mailbox("Entwürfe"), utf8=True) == (
        'a1 SELECT "Entwürfe"\r\n'.encode(),
    )
    assert encode_command("a1", "SELECT", Mailbox(b"Entw&APw-rfe")) == (
        b"a1 SELECT Entw&APw-rfe\r\n",
    )
    # INBOX's children keep their case: only the whole name is case-insensitive.
    assert encode_command("a1", "SELECT", Mailbox("inbox/Sub")) == (
        b"a1 SELECT inbox/Sub\r\n",
    )


# --- helpers ------------------------------------------------------------------------


def test_flag_list() -> None:
    assert flag_list(["\\Seen", "$Junk", "custom"]) == (
        Raw("\\Seen"), Raw("$Junk"), Raw("custom"),
    )
    for bad in ["", "a b", "\\Se(en", "x\r\n", "\\", '"q"', "*"]:
        with pytest.raises(CommandError):
            flag_list([bad])


def test_format_internaldate() -> None:
    assert format_internaldate(datetime(2024, 2, 1, 13, 5, tzinfo=UTC)) == (
        " 1-Feb-2024 13:05:00 +0000"
    )
    minus = timezone(-timedelta(hours=3, minutes=30))
    assert format_internaldate(datetime(2023, 12, 24, 1, 2, 3, tzinfo=minus)) == (
        "24-Dec-2023 01:02:03 -0330"
    )
    assert format_internaldate(datetime(2024, 7, 9)) == " 9-Jul-2024 00:00:00 +0000"


def test_search_date() -> None:
    assert search_date(date(2024, 3, 7)) == Raw("7-Mar-2024")


# --- the property: no value can split a command line ---------------------------------

_leaf = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="ascii")),
    st.builds(Mailbox, st.text()),
    st.binary().filter(lambda b: b"\x00" not in b),
)
_args = st.lists(
    st.recursive(_leaf, lambda inner: st.lists(inner, max_size=4), max_leaves=8),
    max_size=5,
)


def _valid(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bytes):
        return True
    if isinstance(value, Mailbox):
        return _valid(value.name)
    assert isinstance(value, list)
    return all(_valid(v) for v in value)


@given(_args, st.booleans(), st.booleans(), st.booleans())
def test_encoded_command_parses_as_exactly_one_command(
    args: list[Arg], literal_plus: bool, literal_minus: bool, utf8: bool
) -> None:
    if not _valid(args):
        with pytest.raises(CommandError):
            encode_command("t1", "TEST", *args)
        return
    chunks = encode_command(
        "t1", "TEST", *args, literal_plus=literal_plus, literal_minus=literal_minus, utf8=utf8
    )
    # Every chunk but the last stops right after a synchronizing literal header.
    for chunk in chunks[:-1]:
        assert re.search(rb"~?\{\d+\}\r\n\Z", chunk)
    if literal_plus:
        assert len(chunks) == 1
    tag, name, parsed = parse_command(b"".join(chunks))
    assert (tag, name) == (b"t1", b"TEST")
    assert [normalise(t) for t in parsed] == [expected(a, utf8) for a in args]


def test_parser_rejects_a_smuggled_line() -> None:
    with pytest.raises(AssertionError):
        parse_command(b"t1 TEST a\r\nt2 LOGOUT\r\n")


def test_mutf7_is_what_mailboxes_send() -> None:
    assert Mailbox("日本語").octets(False) == encode_mutf7("日本語")
