"""ResponseReader framing: chunked input, literals, end of stream, buffer handling."""

from __future__ import annotations

import pytest

from tidings.imap.errors import ConnectionLost, LimitExceeded, ProtocolError
from tidings.imap.limits import Limits
from tidings.imap.reader import NEED_DATA, NeedData, ResponseReader
from tidings.imap.responses import Condition, Exists, Fetch, Response, Tagged


def drain(reader: ResponseReader) -> list[Response]:
    found: list[Response] = []
    while not isinstance(event := reader.next_event(), NeedData):
        found.append(event)
    return found


def test_need_data_until_the_line_is_complete() -> None:
    reader = ResponseReader()
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"* 3 EXI")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"STS\r")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"\n* 4 EXISTS\r\n")
    assert drain(reader) == [Exists(3), Exists(4)]
    assert reader.buffered == 0


def test_literal_data_is_not_scanned_for_line_ends() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 FETCH (BODY[] {10}\r\n")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"ab\r\n")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"cd\r\n\r\n)\r\na OK x\r\n")
    first, second = drain(reader)
    assert isinstance(first, Fetch)
    assert first.sections["BODY[]"] == b"ab\r\ncd\r\n\r\n"
    assert second == Tagged("a", "OK", None, "x")


def test_buffered_counts_unconsumed_octets() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 EXISTS\r\n* 2 EXI")
    assert reader.buffered == 19
    assert reader.next_event() == Exists(1)
    assert reader.buffered == 7


def test_discard_buffered_drops_pending_octets() -> None:
    # After "a OK Begin TLS negotiation now", anything already received is plaintext a
    # man in the middle may have injected (RFC 9051 §6.2.1).
    reader = ResponseReader()
    reader.receive_data(b"a OK Begin TLS now\r\n* OK [CAPABILITY EVIL] inj")
    assert reader.next_event() == Tagged("a", "OK", None, "Begin TLS now")
    assert reader.discard_buffered() == len(b"* OK [CAPABILITY EVIL] inj")
    assert reader.buffered == 0
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"* 2 EXISTS\r\n")
    assert reader.next_event() == Exists(2)


def test_eof_between_responses() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* BYE logging out\r\n")
    reader.receive_data(b"")
    assert reader.next_event() == Condition("BYE", None, "logging out")
    with pytest.raises(ConnectionLost, match=r"closed the connection$"):
        reader.next_event()


def test_eof_in_the_middle_of_a_literal_says_so() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 FETCH (BODY[] {100}\r\nabc")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"")
    with pytest.raises(ConnectionLost, match="middle of a response"):
        reader.next_event()


def test_receive_after_eof_is_a_usage_error() -> None:
    reader = ResponseReader()
    reader.receive_data(b"")
    with pytest.raises(RuntimeError):
        reader.receive_data(b"x")


def test_reader_stays_failed_after_a_protocol_error() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 EXISTS junk\r\n* 2 EXISTS\r\n")
    with pytest.raises(ProtocolError):
        reader.next_event()
    with pytest.raises(ProtocolError, match="earlier error"):
        reader.next_event()


def test_huge_literal_header_is_rejected_before_any_data() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 FETCH (BODY[] {4294967296}\r\n")
    with pytest.raises(LimitExceeded) as info:
        reader.next_event()
    assert (info.value.limit, info.value.value) == ("literal size", 4294967296)


def test_absurd_literal_header_digits_are_a_limit_error() -> None:
    reader = ResponseReader()
    reader.receive_data(b"* 1 FETCH (BODY[] {" + b"9" * 10_000 + b"}\r\n")
    with pytest.raises(LimitExceeded):
        reader.next_event()


def test_long_line_fails_while_it_is_still_arriving() -> None:
    limits = Limits(max_line=1000)
    reader = ResponseReader(limits)
    reader.receive_data(b"* OK ")
    chunk = b"x" * 100
    with pytest.raises(LimitExceeded) as info:
        for _ in range(100):
            reader.receive_data(chunk)
            assert reader.next_event() is NEED_DATA
    assert info.value.limit == "line length"
    assert reader.buffered < 1200


def test_line_exactly_at_the_limit_is_accepted() -> None:
    reader = ResponseReader(Limits(max_line=20))
    line = b"* OK " + b"x" * 15
    reader.receive_data(line + b"\r")
    assert reader.next_event() is NEED_DATA
    reader.receive_data(b"\n")
    assert reader.next_event() == Condition("OK", None, "x" * 15)


def test_literals_reset_the_line_length() -> None:
    reader = ResponseReader(Limits(max_line=30, max_literal=100))
    reader.receive_data(b"* 1 FETCH (BODY[1] {50}\r\n" + b"y" * 50 + b" BODY[2] {3}\r\nabc)\r\n")
    (event,) = drain(reader)
    assert isinstance(event, Fetch)
    assert event.sections == {"BODY[1]": b"y" * 50, "BODY[2]": b"abc"}


def test_response_larger_than_the_buffer_limit_is_refused_on_the_header() -> None:
    reader = ResponseReader(Limits(max_literal=1000, max_buffer=1500))
    reader.receive_data(b"* 1 FETCH (BODY[1] {900}\r\n" + b"a" * 900 + b" BODY[2] {900}\r\n")
    with pytest.raises(LimitExceeded) as info:
        reader.next_event()
    assert info.value.limit == "buffered octets"


def test_compaction_keeps_responses_intact_across_many_chunks() -> None:
    body = bytes(range(256)) * 1000
    stream = b"".join(
        b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (i, i, len(body)) + body + b")\r\n"
        for i in range(1, 21)
    )
    reader = ResponseReader()
    events: list[Response] = []
    for offset in range(0, len(stream), 65_536):
        reader.receive_data(stream[offset : offset + 65_536])
        events.extend(drain(reader))
    assert [e.uid for e in events if isinstance(e, Fetch)] == list(range(1, 21))
    assert all(isinstance(e, Fetch) and e.sections["BODY[]"] == body for e in events)
    assert reader.buffered == 0
