"""The slice-by-slice transfer decoders give what decoding the whole part at once gives,
wherever the slices are cut (tidings.service.attachments)."""

from __future__ import annotations

import base64
import binascii
import quopri

from hypothesis import given
from hypothesis import strategies as st

from tidings.mime import decode_transfer_encoding
from tidings.service.attachments import (
    Base64Stream,
    IdentityStream,
    QuotedPrintableStream,
    StreamDecoder,
    UuencodeStream,
    decoder_for,
)


def _sliced(decoder: StreamDecoder, data: bytes, cuts: list[int]) -> bytes:
    points = sorted({min(cut, len(data)) for cut in cuts})
    out: list[bytes] = []
    start = 0
    for point in [*points, len(data)]:
        out.append(decoder.feed(data[start:point]))
        start = point
    out.append(decoder.finish())
    return b"".join(out)


cuts = st.lists(st.integers(min_value=0, max_value=4000), max_size=12)
# Base64 text with the junk real mail has: line breaks, stray characters, padding in the
# middle (parts glued from separately encoded pieces).
base64ish = st.lists(st.sampled_from(
    [b"QUJD", b"YQ==", b"YWI=", b"\r\n", b" ", b"Zm9v", b"!", b"=", b"Y", b"YW"]),
    max_size=200).map(b"".join)
qpish = st.lists(st.sampled_from(
    [b"abc", b"=3D", b"=\r\n", b"=\n", b"\r\n", b"  ", b"=", b"==", b"=4", b"=ZZ", b"=C3=A9",
     b"\t", b"\r", b"x"]), max_size=300).map(b"".join)


@given(st.binary(max_size=3000), cuts)
def test_base64_round_trip(data: bytes, at: list[int]) -> None:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    assert _sliced(Base64Stream(), encoded, at) == data


@given(base64ish, cuts)
def test_base64_damaged_input_decodes_as_the_whole_part_decoder_does(
        data: bytes, at: list[int]) -> None:
    assert _sliced(Base64Stream(), data, at) == decode_transfer_encoding(data, "base64")[0]


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
