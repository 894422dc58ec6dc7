"""Content-Transfer-Encoding decoding (RFC 2045 §6) that reads what it can.

Broken base64 (junk characters, missing padding, several padded chunks glued together)
and stray ``=`` in quoted-printable are common; we decode as much as can be decoded and
say what was wrong instead of raising.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["decode_transfer_encoding", "normalize_transfer_encoding"]

_IDENTITY = frozenset({"7bit", "8bit", "binary", ""})
_UUENCODE = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})
_BASE64_ALPHABET_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_BASE64_CHUNK = re.compile(rb"([A-Za-z0-9+/]+)(=*)")
_WHITESPACE = re.compile(rb"[ \t\r\n]")


def normalize_transfer_encoding(value: str | None) -> str:
    """``" Base64 "`` → ``"base64"``; None and empty → ``""`` (RFC 2045 §6.1: 7bit)."""
    if value is None:
        return ""
    return value.strip().strip("\"'").strip().lower()


def _decode_base64(data: bytes, warnings: list[str]) -> bytes:
    cleaned = _WHITESPACE.sub(b"", data)
    if _BASE64_ALPHABET_JUNK.search(cleaned):
        warnings.append("base64 data contains characters outside the alphabet; skipped")
        cleaned = _BASE64_ALPHABET_JUNK.sub(b"", cleaned)
    # Padding ends a chunk. Some senders glue separately encoded chunks together, so
    # every run of alphabet characters is decoded on its own, padded as it needs.
    out: list[bytes] = []
    for found, padding in _BASE64_CHUNK.findall(cleaned):
        extra = len(found) % 4
        chunk = found
        if extra == 1:
            warnings.append("base64 data is truncated; the last partial character dropped")
            chunk = found[:-1]
        elif len(padding) != (4 - extra) % 4:
            warnings.append("base64 data has wrong padding")
        if extra > 1:
            chunk = found + b"=" * (4 - extra)
        try:
            out.append(binascii.a2b_base64(chunk))
        except binascii.Error as exc:
            warnings.append(f"undecodable base64 chunk skipped: {exc}")
    return b"".join(out)


def _decode_quoted_printable(data: bytes, warnings: list[str]) -> bytes:
    # a2b_qp keeps malformed "=" sequences literally, which is what RFC 2045 §6.7 (1)
    # suggests a robust decoder do. Soft line breaks may end in CRLF or a bare LF.
    try:
        return binascii.a2b_qp(data)
    except (binascii.Error, ValueError) as exc:
        warnings.append(f"undecodable quoted-printable data kept as is: {exc}")
        return data


def _decode_uuencode(data: bytes, warnings: list[str]) -> bytes:
    lines = data.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(b"begin")), None)
    if start is None:
        warnings.append("uuencoded data has no 'begin' line; decoded from the start")
        start = -1
    out: list[bytes] = []
    damaged = False
    for line in lines[start + 1 :]:
        if line.strip() in (b"end", b"`"):
            if line.strip() == b"end":
                break
            continue
        if not line:
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # The length character says how many bytes the line holds; trailing junk
            # written by some encoders is cut off (the stdlib uu module does the same).
            needed = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(line[:needed]))
            except binascii.Error:
                damaged = True
    if damaged:
        warnings.append("uuencoded data has undecodable lines; skipped")
    return b"".join(out)


def decode_transfer_encoding(data: bytes, encoding: str | None) -> tuple[bytes, tuple[str, ...]]:
    """Undo a Content-Transfer-Encoding; returns (bytes, warnings).

    7bit, 8bit and binary are identities. An unknown encoding leaves the data as is,
    with a warning (RFC 2045 §6.4 says to treat such a body as application/octet-stream).
    """
    name = normalize_transfer_encoding(encoding)
    warnings: list[str] = []
    if name in _IDENTITY:
        return data, ()
    if name == "base64":
        decoded = _decode_base64(data, warnings)
    elif name == "quoted-printable":
        decoded = _decode_quoted_printable(data, warnings)
    elif name in _UUENCODE:
        decoded = _decode_uuencode(data, warnings)
    else:
        warnings.append(f"unknown transfer encoding {name[:40]!r}; data kept as is")
        decoded = data
    return decoded, tuple(dict.fromkeys(warnings))
