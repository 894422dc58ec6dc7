"""One text part, from raw transfer-encoded bytes to text."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.mime.charsets import decode_text
from tidings.mime.transfer import decode_transfer_encoding

__all__ = ["DecodedText", "decode_part"]


@dataclass(frozen=True, slots=True)
class DecodedText:
    """The text of a part, the charset it was read in, and what was wrong with it."""

    text: str
    charset: str
    warnings: tuple[str, ...]


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF (RFC 2046 §4.1.1: CRLF is the line break in text)."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    # Mail text has CRLF line ends; a lone CR is rare, so the second pass usually isn't.
    return text.replace("\r", "\n") if "\r" in text else text


def decode_part(data: bytes, transfer_encoding: str | None, charset: str | None) -> DecodedText:
    """Decode a text part as fetched with ``BODY.PEEK[n]`` (still transfer-encoded).

    ``transfer_encoding`` and ``charset`` come from the part's BODYSTRUCTURE; None
    when absent. Never raises: undecodable bytes become U+FFFD and a warning.
    """
    decoded, transfer_warnings = decode_transfer_encoding(data, transfer_encoding)
    text, used, charset_warnings = decode_text(decoded, charset)
    return DecodedText(
        text=normalize_newlines(text),
        charset=used,
        warnings=transfer_warnings + charset_warnings,
    )
