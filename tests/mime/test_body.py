from __future__ import annotations

import pytest

from tidings.mime import decode_part, decode_text, decode_transfer_encoding, is_known_charset


def test_base64_utf8() -> None:
    decoded = decode_part(b"R3LDvMOfZSDigqw=\r\n", "base64", "utf-8")
    assert decoded.text == "Grüße €"
    assert decoded.charset == "utf-8"
    assert decoded.warnings == ()


def test_quoted_printable_with_soft_breaks_and_crlf() -> None:
    data = b"Caf=E9 d=E9j=\r\n=E0 vu\r\nline two=\nstill two\r\n"
    decoded = decode_part(data, "Quoted-Printable", "iso-8859-1")
    assert decoded.text == "Café déjà vu\nline twostill two\n"


def test_iso_8859_1_is_read_as_windows_1252() -> None:
    # WHATWG: the iso-8859-1 label means windows-1252; 0x80 is the euro sign there.
    decoded = decode_part(b"5 \x80 \x93quoted\x94", None, "ISO-8859-1")
    assert decoded.text == "5 € “quoted”"
    assert decoded.charset == "windows-1252"
    assert decoded.warnings == ()


def test_windows_1252_undefined_bytes_become_c1_controls() -> None:
    decoded = decode_part(b"a\x81b", "8bit", "windows-1252")
    assert decoded.text == "a\x81b"
    assert decoded.warnings == ()


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        ("utf8", "\u2139 \U0001d11e".encode(), "\u2139 \U0001d11e"),
        ("latin1", b"caf\xe9", "café"),
        ("koi8-r", b"\xd0\xd2\xc9\xd7\xc5\xd4", "привет"),
        ("x-sjis", b"\x93\xfa\x96{", "日本"),
        ("shift_jis", b"\x93\xfa\x96{", "日本"),
        # gb2312 is read as GB18030, which has characters gb2312 lacks.
        ("gb2312", b"\xd6\xd0\xce\xc4 \xa2\xe3 \x810\x865", "中文 € ½"),
        ("ks_c_5601-1987", b"\xc7\xd1\xb1\xb9\xbe\xee", "한국어"),
        ('"UTF-8"', b"ok", "ok"),
        ("unicode-1-1-utf-7", b"Hi +AKM-1", "Hi £1"),
        ("x-mac-roman", b"\x8e", "é"),
        ("iso-8859-8-i", b"\xf9\xec\xe5\xed", "שלום"),
    ],
)
def test_charset_aliases(charset: str, data: bytes, text: str) -> None:
    decoded = decode_part(data, "7bit", charset)
    assert decoded.text == text
    assert decoded.warnings == ()


def test_unknown_charset_falls_back_with_a_warning() -> None:
    decoded = decode_part("naïve".encode(), None, "x-unknown")
    assert decoded.text == "naïve"
    assert decoded.charset == "utf-8"
    assert any("unknown charset 'x-unknown'" in w for w in decoded.warnings)
    latin = decode_part(b"na\xefve", None, "klingon-8")
    assert latin.text == "naïve"
    assert latin.charset == "windows-1252"


def test_non_text_codecs_are_not_charsets() -> None:
    assert not is_known_charset("base64")
    assert not is_known_charset("rot13")
    assert not is_known_charset("idna")
    assert is_known_charset("cp1252")
    decoded = decode_part(b"aGVsbG8=", None, "base64")
    assert decoded.text == "aGVsbG8="
    assert decoded.warnings


def test_undecodable_bytes_are_replaced_not_dropped() -> None:
    decoded = decode_part(b"ok \xff\xfe end", None, "utf-8")
    assert decoded.text.startswith("ok ")
    assert decoded.text.endswith(" end")
    assert "\ufffd" in decoded.text
    assert any("replaced" in w for w in decoded.warnings)


def test_mislabelled_ascii_is_read_as_utf8() -> None:
    decoded = decode_part("Grüße".encode(), None, "us-ascii")
    assert decoded.text == "Grüße"
    assert decoded.warnings


def test_undeclared_ascii_has_no_warning() -> None:
    decoded = decode_part(b"plain\r\ntext", None, None)
    assert decoded == decoded.__class__("plain\ntext", "us-ascii", ())


def test_utf8_bom_is_dropped() -> None:
    assert decode_part(b"\xef\xbb\xbfhi", None, "utf-8").text == "hi"


def test_lone_surrogates_and_nul_are_scrubbed() -> None:
    # UTF-7 can encode a lone surrogate, which is not valid UTF-8 anywhere downstream.
    decoded = decode_part(b"+2D3-x\x00y", None, "utf-7")
    assert decoded.text == "\ufffdx\ufffdy"
    decoded.text.encode("utf-8")


def test_broken_base64_decodes_what_it_can() -> None:
    decoded = decode_part(b"SGVsbG8g!!d29y\r\nbGQ", "base64", "us-ascii")
    assert decoded.text == "Hello world"
    assert decoded.warnings


def test_glued_base64_chunks() -> None:
    data, warnings = decode_transfer_encoding(b"aGVsbG8=\r\nIHdvcmxk", "base64")
    assert data == b"hello world"
    assert warnings == ()


def test_truncated_base64() -> None:
    data, warnings = decode_transfer_encoding(b"aGVsbG8gd", "base64")
    assert data == b"hello "
    assert any("truncated" in w for w in warnings)


def test_uuencode() -> None:
    encoded = b"begin 644 hello.txt\n+:&5L;&\\@=V]R;&0`\n`\nend\n"
    data, warnings = decode_transfer_encoding(encoded, "x-uuencode")
    assert data == b"hello world"
    assert warnings == ()


def test_unknown_transfer_encoding_keeps_data() -> None:
    data, warnings = decode_transfer_encoding(b"abc", "x-gzip64")
    assert data == b"abc"
    assert warnings


def test_binary_and_8bit_are_identities() -> None:
    for name in ("7bit", "8BIT", "binary", None, ""):
        assert decode_transfer_encoding(b"\x00\xff", name) == (b"\x00\xff", ())


def test_decode_text_reports_used_charset() -> None:
    assert decode_text(b"\x93\xfa\x96{", "shift_jis")[:2] == ("日本", "windows-31j")
    assert decode_text(b"abc", "gb2312")[1] == "gb18030"
