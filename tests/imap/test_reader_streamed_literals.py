"""ResponseReader.stream_literals: large literals handed out in pieces, wherever the
bytes are split, and the response still parsed around them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.imap import LimitExceeded, Limits
from tidings.imap.reader import NEED_DATA, NeedData, ResponseReader
from tidings.imap.responses import Fetch, Response, Tagged

BIG = bytes(range(256)) * 40  # 10,240 octets
RESPONSE = (b"* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[2] {%d}\r\n" % len(BIG) + BIG
            + b" BODY[1] {5}\r\nsmall)\r\nT1 OK done\r\n")


def _drain(reader: ResponseReader, pieces: list[bytes], responses: list[Response],
           most: int) -> None:
    while True:
        if reader.streamed is not None:
            data = reader.take_literal(most)
            if not data:
                return
            assert len(data) <= most
            pieces.append(data)
            continue
        event = reader.next_event()
        if isinstance(event, NeedData):
            if reader.streamed is None:
                return
            continue  # a streamed literal begins
        responses.append(event)


def _read(chunks: list[bytes], most: int = 1000) -> tuple[list[bytes], list[Response]]:
    reader = ResponseReader()
    reader.stream_literals(1024)
    pieces: list[bytes] = []
    responses: list[Response] = []
    for chunk in chunks:
        reader.receive_data(chunk)
        _drain(reader, pieces, responses, most)
    return pieces, responses


def _cut(data: bytes, points: list[int]) -> list[bytes]:
    cuts = sorted({min(point, len(data)) for point in points})
    # No empty chunks: receive_data(b"") means the end of the stream.
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True) if b > a]


@given(st.lists(st.integers(min_value=0, max_value=len(RESPONSE)), max_size=20),
       st.integers(min_value=1, max_value=5000))
def test_a_large_literal_comes_in_pieces_wherever_the_bytes_are_split(
        points: list[int], most: int) -> None:
    pieces, responses = _read(_cut(RESPONSE, points), most)
    assert b"".join(pieces) == BIG
    fetch, tagged = responses
    assert isinstance(fetch, Fetch) and isinstance(tagged, Tagged)
    # The streamed literal stands as empty; the small one is kept as usual.
    assert fetch.uid == 7 and fetch.flags == ("\\Seen",)
    assert fetch.sections == {"BODY[2]": b"", "BODY[1]": b"small"}
    assert tagged.tag == "T1" and tagged.status == "OK"


def test_the_head_names_what_the_literal_belongs_to() -> None:
    reader = ResponseReader()
    reader.stream_literals(1024)
    reader.receive_data(RESPONSE[:200])
    assert reader.next_event() is NEED_DATA
    streamed = reader.streamed
    assert streamed is not None
    assert streamed.head == b"* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[2] {10240}"
    assert streamed.size == len(BIG)
    taken = reader.take_literal(10**9)
    assert streamed.left == len(BIG) - len(taken)
    assert reader.take_literal(10) == b""  # nothing more has arrived


def test_two_streamed_literals_in_one_response() -> None:
    data = (b"* 1 FETCH (BODY[1] {2000}\r\n" + b"a" * 2000 + b" BODY[2] {3000}\r\n"
            + b"b" * 3000 + b")\r\n")
    pieces, responses = _read(_cut(data, [10, 500, 2100, 4000]))
    assert b"".join(pieces) == b"a" * 2000 + b"b" * 3000
    (fetch,) = responses
    assert isinstance(fetch, Fetch)
    assert fetch.sections == {"BODY[1]": b"", "BODY[2]": b""}


def test_small_literals_and_a_disarmed_reader_buffer_as_before() -> None:
    pieces, responses = _read([b"* 1 FETCH (UID 1 BODY[] {1023}\r\n" + b"x" * 1023 + b")\r\n"])
    assert pieces == [] and isinstance(responses[0], Fetch)
    assert responses[0].sections["BODY[]"] == b"x" * 1023
    reader = ResponseReader()
    reader.stream_literals(1024)
    reader.stream_literals(None)
    reader.receive_data(RESPONSE)
    fetch = reader.next_event()
    assert isinstance(fetch, Fetch) and fetch.sections["BODY[2]"] == BIG


def test_a_streamed_literal_is_not_held_to_the_literal_limit() -> None:
    """Only what is buffered counts: the literal may be larger than max_literal."""
    reader = ResponseReader(Limits(max_literal=100, max_buffer=4000))
    reader.stream_literals(50)
    reader.receive_data(b"* 1 FETCH (BODY[1] {10000}\r\n")
    taken = 0
    for _ in range(10):
        reader.receive_data(b"z" * 1000)
        assert reader.next_event() is NEED_DATA
        taken += len(reader.take_literal(2000))
    reader.receive_data(b")\r\n")
    assert taken == 10000 and isinstance(reader.next_event(), Fetch)


def test_untaken_streamed_octets_are_held_to_the_buffer_limit() -> None:
    reader = ResponseReader(Limits(max_buffer=4000))
    reader.stream_literals(50)
    reader.receive_data(b"* 1 FETCH (BODY[1] {10000}\r\n" + b"z" * 5000)
    with pytest.raises(LimitExceeded):
        reader.next_event()


def test_take_literal_needs_a_streamed_literal() -> None:
    with pytest.raises(RuntimeError):
        ResponseReader().take_literal(10)
    with pytest.raises(ValueError):
        ResponseReader().stream_literals(0)


@given(st.lists(st.integers(min_value=0, max_value=len(RESPONSE)), max_size=20),
       st.integers(min_value=1, max_value=5000))
def test_a_literal_read_past_the_reader_keeps_the_stream_in_step(
        points: list[int], most: int) -> None:
    """What the transport does for large pieces: take what is buffered into the piece,
    then read the rest of the piece straight from the stream, past the reader."""
    stream = bytearray(RESPONSE)
    reader = ResponseReader()
    reader.stream_literals(1024)
    cuts = sorted({min(p, len(stream)) for p in points})
    first = cuts[0] if cuts and cuts[0] > 0 else min(200, len(stream))
    reader.receive_data(bytes(stream[:first]))
    del stream[:first]
    event = reader.next_event()
    while reader.streamed is None:
        assert event is NEED_DATA
        reader.receive_data(bytes(stream[:100]))
        del stream[:100]
        event = reader.next_event()
    pieces: list[bytes] = []
    while reader.streamed is not None:
        piece = bytearray(min(most, reader.streamed.left))
        with memoryview(piece) as view:
            filled = reader.take_literal_into(view)
            if filled < len(piece):
                count = len(piece) - filled
                view[filled:] = stream[:count]
                del stream[:count]
                reader.literal_read_past(count)
        pieces.append(bytes(piece))
    assert b"".join(pieces) == BIG
    reader.receive_data(bytes(stream))
    fetch, tagged = reader.next_event(), reader.next_event()
    assert isinstance(fetch, Fetch) and isinstance(tagged, Tagged)
    assert fetch.sections["BODY[1]"] == b"small"
    with pytest.raises(RuntimeError):
        reader.literal_read_past(1)  # no literal streams any more
