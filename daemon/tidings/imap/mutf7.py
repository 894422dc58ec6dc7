"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3, kept by RFC 9051 §5.1.3).

Printable US-ASCII except ``&`` stands for itself; ``&`` is ``&-``; everything else is
UTF-16BE, base64 with ``,`` instead of ``/`` and no padding, between ``&`` and ``-``.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["MUtf7Error", "decode_mutf7", "encode_mutf7"]


class MUtf7Error(ValueError):
    """The octets are not valid modified UTF-7."""


def _is_direct(ch: str) -> bool:
    return 0x20 <= ord(ch) <= 0x7E


def encode_mutf7(name: str) -> bytes:
    out: list[bytes] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be", "surrogatepass")
            out.append(b"&" + base64.b64encode(raw).rstrip(b"=").replace(b"/", b",") + b"-")
            pending.clear()

    for ch in name:
        if _is_direct(ch):
            flush()
            out.append(b"&-" if ch == "&" else ch.encode("ascii"))
        else:
            pending.append(ch)
    flush()
    return b"".join(out)


def decode_mutf7(raw: bytes) -> str:
    """Decode a modified UTF-7 mailbox name; raises :class:`MUtf7Error` when malformed."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte < 0x20 or byte > 0x7E:
            raise MUtf7Error(f"octet 0x{byte:02x} is not allowed in modified UTF-7")
        if byte != 0x26:  # "&"
            out.append(chr(byte))
            i += 1
            continue
        end = raw.find(b"-", i + 1)
        if end < 0:
            raise MUtf7Error("unterminated &...- sequence")
        chunk = raw[i + 1 : end]
        i = end + 1
        if not chunk:
            out.append("&")
            continue
        b64 = chunk.replace(b",", b"/")
        try:
            data = base64.b64decode(b64 + b"=" * (-len(b64) % 4), validate=True)
            text = data.decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise MUtf7Error(f"bad base64 run {chunk!r}") from exc
        out.append(text)
    return "".join(out)
