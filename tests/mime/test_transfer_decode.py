"""The piece-by-piece transfer decoders give what decoding the whole part at once gives,
wherever the pieces are cut, with every base64 backend this interpreter has."""

from __future__ import annotations

import base64
import binascii
import quopri

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.mime import decode_transfer_encoding
from tidings.mime.transfer_decode import (
    Base64Backend,
    Base64Stream,
    IdentityStream,
    QuotedPrintableStream,
    StreamDecoder,
    UuencodeStream,
    base64_backends,
    decoder_for,
)

BACKENDS = base64_backends()


def _sliced(decoder: StreamDecoder, data: bytes, cuts: list[int]) -> bytes:
    """Every other piece is a bytearray, as a piece read straight off the network is."""
    points = sorted({min(cut, len(data)) for cut in cuts})
    out: list[bytes | bytearray] = []
    start = 0
    for index, point in enumerate([*points, len(data)]):
        piece = data[start:point]
        out.append(decoder.feed(bytearray(piece) if index % 2 else piece))
        start = point
    out.append(decoder.finish())
    return b"".join(out)


def _mime_base64(data: bytes, line: int = 76) -> bytes:
    text = base64.b64encode(data)
    return b"".join(text[i:i + line] + b"\r\n" for i in range(0, len(text), line))


cuts = st.lists(st.integers(min_value=0, max_value=4000), max_size=12)
# Base64 text with the junk real mail has: line breaks, stray characters (some that other
# base64 alphabets use), padding in the middle (parts glued from separately encoded
# pieces), lines that are not whole quads.
base64ish = st.lists(st.sampled_from(
    [b"QUJD", b"YQ==", b"YWI=", b"\r\n", b"\n", b" ", b"Zm9v", b"!", b"=", b"Y", b"YW",
     b"-", b"_", b"\x00", b"\xff", b"QUJDQUJDQUJD\r\n"]),
    max_size=200).map(b"".join)
qpish = st.lists(st.sampled_from(
    [b"abc", b"=3D", b"=\r\n", b"=\n", b"\r\n", b"  ", b"=", b"==", b"=4", b"=ZZ", b"=C3=A9",
     b"\t", b"\r", b"x"]), max_size=300).map(b"".join)
backends = st.sampled_from(BACKENDS)


def test_the_fastest_backend_is_the_default() -> None:
    assert BACKENDS[-1].name == "binascii"
    assert Base64Stream()._backend.name == BACKENDS[0].name


@given(st.binary(max_size=5000), cuts, backends, st.sampled_from([76, 64, 72, 4, 75, 77]))
def test_base64_round_trip(data: bytes, at: list[int], backend: Base64Backend,
                           line: int) -> None:
    encoded = _mime_base64(data, line)
    assert _sliced(Base64Stream(backend), encoded, at) == data


@given(base64ish, cuts, backends)
def test_base64_damaged_input_decodes_as_the_whole_part_decoder_does(
        data: bytes, at: list[int], backend: Base64Backend) -> None:
    assert _sliced(Base64Stream(backend), data, at) == decode_transfer_encoding(
        data, "base64")[0]


@pytest.mark.parametrize("backend", BACKENDS, ids=[b.name for b in BACKENDS])
def test_base64_of_a_large_part_in_uneven_pieces(backend: Base64Backend) -> None:
    data = bytes(range(256)) * 4099 + b"odd"
    encoded = _mime_base64(data)
    decoder = Base64Stream(backend)
    out = [decoder.feed(encoded[start:start + 65_537])
           for start in range(0, len(encoded), 65_537)]
    assert b"".join([*out, decoder.finish()]) == data
    # Each piece gives about what it holds: nothing is held back longer than a line.
    assert all(abs(len(piece) - 65_537 * 3 * 76 / 4 / 78) < 100 for piece in out[:-1])


@pytest.mark.parametrize("ending", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_regular_lines_are_read_as_rows(ending: bytes) -> None:
    data = bytes(range(256)) * 300
    encoded = _mime_base64(data).replace(b"\r\n", ending)
    decoder = Base64Stream()
    # Cut in the middle of lines; the last piece, with the part's short last line, is
    # not a grid.
    first = decoder._by_rows(encoded[:40_000])
    second = decoder._by_rows(encoded[40_000:90_000])
    assert first is not None and second is not None
    assert first + second + decoder.feed(encoded[90_000:]) + decoder.finish() == data


def _header(size: int) -> bytes:
    """A header of whole triples, which names the size it stands before."""
    return b"<%08d>" % size + b"." * (-(size % 7 + 10) % 3 + size % 7)


@given(st.binary(max_size=5000), cuts, backends, st.sampled_from([76, 64, 4, 75]),
       st.booleans())
def test_base64_behind_headers_is_the_same_octets(data: bytes, at: list[int],
                                                   backend: Base64Backend, line: int,
                                                   damaged: bool) -> None:
    encoded = _mime_base64(data, line)
    if damaged:  # a stray character: the piece that holds it is not a grid
        encoded = encoded[:len(encoded) // 2] + b"!" + encoded[len(encoded) // 2:]
    decoder = Base64Stream(backend)
    points = sorted({min(cut, len(encoded)) for cut in at})
    body: list[bytes] = []
    start = 0
    for point in [*points, len(encoded)]:
        framed = decoder.feed_after(_header, bytearray(encoded[start:point]))
        start = point
        if not framed:
            continue
        size = int(framed[1:9])
        assert framed[:len(_header(size))] == _header(size)
        assert len(framed) == len(_header(size)) + size > len(_header(size))
        body.append(framed[len(_header(size)):])
    assert b"".join([*body, decoder.finish()]) == data


def test_a_grid_is_decoded_behind_its_header_in_one_pass() -> None:
    data = bytes(range(256)) * 300
    encoded = _mime_base64(data)
    decoder = Base64Stream()
    # The header's own base64 is decoded with the rows: no other path serves it.
    first = decoder._by_rows(encoded[:40_000], _header)
    assert first is not None
    size = int(first[1:9])
    assert first == _header(size) + data[:size]
    # A header that is not whole triples cannot go in front of the text: the piece
    # takes another path and is joined to it.
    assert Base64Stream()._by_rows(encoded[:40_000], lambda n: b"ab") is None
    joined = Base64Stream().feed_after(lambda n: b"ab", encoded[:40_000])
    assert joined == b"ab" + data[:size]
    # A part's last piece, its last row padded, comes behind a header that names the
    # octets it holds, not the characters' worth.
    padded = _mime_base64(bytes(range(200)) + bytes(84))  # five rows of 76, one "="
    assert padded.endswith(b"=\r\n") and len(padded) == 5 * 78
    framed = Base64Stream()._by_rows(padded, _header)
    assert framed == _header(284) + bytes(range(200)) + bytes(84)


@pytest.mark.parametrize("damage", ["shifted", "joined"])
def test_rows_that_end_elsewhere_are_not_read_as_rows(damage: str) -> None:
    # Lines whose breaks are not where the grid has them, the total length unchanged:
    # "shifted" puts line breaks into the text columns (the strict decode refuses
    # them); "joined" makes two lines and two characters one line, so that the grid's
    # line-break columns hold text, which must not be dropped.
    lines = _mime_base64(bytes(range(256)) * 10).split(b"\r\n")[:-2]  # rows of 76
    if damage == "shifted":
        lines[5:7] = [lines[5] + lines[6][:2], lines[6][2:]]
    else:
        lines[5:7] = [lines[5] + lines[6] + b"QU"]
    damaged = b"".join(line + b"\r\n" for line in lines)
    assert Base64Stream()._by_rows(damaged) is None
    decoder = Base64Stream()
    assert decoder.feed(damaged) + decoder.finish() == decode_transfer_encoding(
        damaged, "base64")[0]


@given(st.binary(max_size=3000), cuts)
def test_quoted_printable_round_trip(data: bytes, at: list[int]) -> None:
    encoded = quopri.encodestring(data).replace(b"\n", b"\r\n")
    assert _sliced(QuotedPrintableStream(), encoded, at) == quopri.decodestring(encoded)


@given(qpish, cuts)
def test_quoted_printable_odd_input_decodes_as_the_whole_part_decoder_does(
        data: bytes, at: list[int]) -> None:
    assert _sliced(QuotedPrintableStream(), data, at) == binascii.a2b_qp(data)
    assert _sliced(QuotedPrintableStream(), data, at) == decode_transfer_encoding(
        data, "quoted-printable")[0]


def test_quoted_printable_without_line_breaks_is_not_held_whole() -> None:
    decoder = QuotedPrintableStream()
    out = decoder.feed(b"a" * 100_000 + b"=4")
    assert out == b"a" * 100_000
    assert decoder.feed(b"1") + decoder.finish() == b"A"


@given(st.binary(max_size=2000), cuts)
def test_uuencode_round_trip(data: bytes, at: list[int]) -> None:
    lines = [binascii.b2a_uu(data[i:i + 45]) for i in range(0, len(data), 45)]
    encoded = b"begin 644 f.bin\n" + b"".join(lines) + b"`\nend\ntrailing junk\n"
    assert _sliced(UuencodeStream(), encoded, at) == data
    assert decode_transfer_encoding(encoded, "x-uuencode")[0] == data


def test_decoder_choice() -> None:
    assert isinstance(decoder_for("BASE64"), Base64Stream)
    assert isinstance(decoder_for(' "Quoted-Printable" '), QuotedPrintableStream)
    assert isinstance(decoder_for("x-uuencode"), UuencodeStream)
    for name in (None, "7bit", "8bit", "binary", "x-unknown"):
        decoder = decoder_for(name)
        assert isinstance(decoder, IdentityStream)
        assert decoder.feed(b"=41\r\n") == b"=41\r\n" and decoder.finish() == b""
