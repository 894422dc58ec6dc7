"""The sans-IO reply reader: framing, multi-line replies, enhanced codes, limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.smtp import (
    NEED_DATA,
    NeedData,
    Reply,
    ReplyLimits,
    ReplyReader,
    SmtpConnectionLost,
    SmtpError,
    SmtpLimitExceeded,
    SmtpProtocolError,
)


def read_all(*chunks: bytes, limits: ReplyLimits | None = None) -> list[Reply]:
    reader = ReplyReader(limits) if limits else ReplyReader()
    replies: list[Reply] = []
    for chunk in chunks:
        if not chunk:
            continue  # b"" would mean end of stream
        reader.receive_data(chunk)
        while not isinstance(reply := reader.next_reply(), NeedData):
            replies.append(reply)
    return replies


def test_single_line_reply() -> None:
    (reply,) = read_all(b"250 2.1.0 Sender OK\r\n")
    assert reply == Reply(250, ("Sender OK",), "2.1.0")
    assert reply.positive and not reply.transient and reply.text == "Sender OK"


def test_multi_line_reply_keeps_every_line() -> None:
    data = b"250-mail.example.org hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
    (reply,) = read_all(data)
    assert reply.code == 250 and reply.enhanced is None
    assert reply.lines == ("mail.example.org hello", "PIPELINING", "SIZE 1000", "8BITMIME")


def test_enhanced_code_is_taken_from_every_line() -> None:
    (reply,) = read_all(b"550-5.1.1 No such user\r\n550 5.1.1 here: bob@example.org\r\n")
    assert reply.enhanced == "5.1.1"
    assert reply.lines == ("No such user", "here: bob@example.org")
    assert reply.permanent


def test_enhanced_code_with_another_class_is_plain_text() -> None:
    # RFC 3463 §2: the class digit must repeat the reply's first digit.
    (reply,) = read_all(b"250 4.2.0 odd\r\n")
    assert reply.enhanced is None and reply.text == "4.2.0 odd"


def test_bare_code_and_bare_lf() -> None:
    assert read_all(b"250\r\n354 go\n") == [Reply(250, ("",)), Reply(354, ("go",))]


def test_several_replies_in_one_chunk_come_out_one_by_one() -> None:
    reader = ReplyReader()
    reader.receive_data(b"250 a\r\n250 b\r\n354 c\r\n25")
    assert [reader.next_reply(), reader.next_reply(), reader.next_reply()] == [
        Reply(250, ("a",)), Reply(250, ("b",)), Reply(354, ("c",))]
    assert reader.next_reply() is NEED_DATA
    assert reader.buffered == 2


def test_partial_multi_line_reply_counts_as_buffered() -> None:
    reader = ReplyReader()
    reader.receive_data(b"250-first\r\n")
    assert reader.next_reply() is NEED_DATA
    assert reader.buffered > 0
    reader.discard_buffered()
    assert reader.buffered == 0


@pytest.mark.parametrize("garbage", [
    b"hello\r\n", b"2500 x\r\n", b"25 x\r\n", b"150 one-yz is unused in SMTP\r\n",
    b"260 second digit above 5\r\n", b"250_x\r\n", b"\r\n",
])
def test_garbage_is_a_protocol_error_and_stays_one(garbage: bytes) -> None:
    reader = ReplyReader()
    reader.receive_data(garbage)
    with pytest.raises(SmtpProtocolError):
        reader.next_reply()
    reader.receive_data(b"250 ok\r\n")
    with pytest.raises(SmtpProtocolError):
        reader.next_reply()


def test_code_change_inside_a_reply_is_refused() -> None:
    with pytest.raises(SmtpProtocolError, match="reply code changed"):
        read_all(b"250-one\r\n251 two\r\n")


def test_end_of_stream_inside_a_reply_is_a_lost_connection() -> None:
    reader = ReplyReader()
    reader.receive_data(b"250-one\r\n250 tw")
    reader.receive_data(b"")
    with pytest.raises(SmtpConnectionLost):
        reader.next_reply()


def test_complete_replies_are_still_read_after_end_of_stream() -> None:
    reader = ReplyReader()
    reader.receive_data(b"221 bye\r\n")
    reader.receive_data(b"")
    assert reader.next_reply() == Reply(221, ("bye",))
    with pytest.raises(SmtpConnectionLost):
        reader.next_reply()


def test_line_length_limit_before_the_line_ends() -> None:
    reader = ReplyReader(ReplyLimits(max_line=64))
    reader.receive_data(b"250 " + b"x" * 100)
    with pytest.raises(SmtpLimitExceeded) as info:
        reader.next_reply()
    assert info.value.limit == "reply line length" and info.value.maximum == 64


def test_line_length_limit_on_a_complete_line() -> None:
    with pytest.raises(SmtpLimitExceeded):
        read_all(b"250 " + b"x" * 100 + b"\r\n", limits=ReplyLimits(max_line=64))
    assert read_all(b"250 " + b"x" * 58 + b"\r\n", limits=ReplyLimits(max_line=64))


def test_lines_per_reply_limit() -> None:
    endless = b"250-more\r\n" * 11
    with pytest.raises(SmtpLimitExceeded, match="lines in one reply"):
        read_all(endless, limits=ReplyLimits(max_lines=10))
    assert len(read_all(b"250-more\r\n" * 9 + b"250 end\r\n",
                        limits=ReplyLimits(max_lines=10))[0].lines) == 10


def test_long_stream_of_replies_is_compacted() -> None:
    reader = ReplyReader()
    for n in range(5000):
        reader.receive_data(f"250 2.0.0 reply number {n}\r\n".encode())
        reply = reader.next_reply()
        assert isinstance(reply, Reply) and reply.text == f"reply number {n}"
    assert reader.buffered == 0


# --- properties ---------------------------------------------------------------------------

_codes = st.builds(lambda a, b, c: a * 100 + b * 10 + c,
                   st.integers(2, 5), st.integers(0, 5), st.integers(0, 9))
_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).filter(
    lambda t: not t.strip()[:1].isdigit())
_replies = st.lists(st.builds(lambda code, lines: Reply(code, tuple(lines)), _codes,
                              st.lists(_text, min_size=1, max_size=5)), min_size=1, max_size=5)


def encode(reply: Reply) -> bytes:
    out = []
    for n, text in enumerate(reply.lines):
        sep = " " if n == len(reply.lines) - 1 else "-"
        out.append(f"{reply.code}{sep}{text}\r\n".encode())
    return b"".join(out)


@given(_replies, st.data())
def test_any_split_of_the_stream_gives_the_same_replies(replies: list[Reply],
                                                        data: st.DataObject) -> None:
    stream = b"".join(encode(r) for r in replies)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=20)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert read_all(*chunks) == replies


@given(_replies)
def test_every_byte_boundary(replies: list[Reply]) -> None:
    stream = b"".join(encode(r) for r in replies)
    for cut in range(len(stream) + 1):
        assert read_all(stream[:cut], stream[cut:]) == replies
    assert read_all(*(stream[i:i + 1] for i in range(len(stream)))) == replies


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_smtp_errors(data: bytes) -> None:
    reader = ReplyReader(ReplyLimits(max_line=64, max_lines=4))
    reader.receive_data(data)
    try:
        while isinstance(reader.next_reply(), Reply):
            pass
    except SmtpError:
        pass
