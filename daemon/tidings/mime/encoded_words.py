"""RFC 2047 encoded-words (``=?charset?Q?...?=``), decoded leniently.

The stdlib decoder gives up on unknown charsets and broken base64, and it keeps
multi-byte characters that a sender split across two encoded-words broken. Here each
run of adjacent encoded-words in one charset is joined before it is decoded, words
are found even where the RFC forbids them (inside quoted strings, glued to text), and
anything undecodable is replaced and reported.
"""

from __future__ import annotations

import binascii
import re

from tidings.mime.charsets import decode_text
from tidings.mime.transfer import decode_transfer_encoding

__all__ = ["decode_encoded_words"]

# RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="; the text
# has no "?" and (per the RFC, often ignored by senders) no spaces.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*)\?=")


def _word_bytes(encoding: str, text: str, warnings: list[str]) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    if encoding in "bB":
        decoded, base64_warnings = decode_transfer_encoding(raw, "base64")
        warnings.extend(f"encoded-word: {w}" for w in base64_warnings)
        return decoded
    # RFC 2047 §4.2: "_" stands for a space; =XX is a byte.
    try:
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        warnings.append("encoded-word: undecodable Q text kept as is")
        return raw


def _flush(run: list[tuple[str, bytes]], out: list[str], warnings: list[str]) -> None:
    """Decode a run of adjacent encoded-words, joining those that share a charset."""
    index = 0
    while index < len(run):
        charset = run[index][0]
        label = charset.lower()
        chunks: list[bytes] = []
        while index < len(run) and run[index][0].lower() == label:
            chunks.append(run[index][1])
            index += 1
        text, _used, charset_warnings = decode_text(b"".join(chunks), charset)
        warnings.extend(f"encoded-word: {w}" for w in charset_warnings)
        out.append(text)
    run.clear()


def decode_encoded_words(value: str) -> tuple[str, tuple[str, ...]]:
    """Replace every encoded-word in ``value`` by its text; returns (text, warnings)."""
    if "=?" not in value:
        return value, ()
    out: list[str] = []
    warnings: list[str] = []
    run: list[tuple[str, bytes]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        # RFC 2047 §6.2: whitespace between adjacent encoded-words is not displayed.
        if not (run and (not gap or gap.isspace())):
            _flush(run, out, warnings)
            out.append(gap)
        charset, encoding, text = match.groups()
        run.append((charset, _word_bytes(encoding, text, warnings)))
        position = match.end()
    _flush(run, out, warnings)
    out.append(value[position:])
    return "".join(out), tuple(dict.fromkeys(warnings))
