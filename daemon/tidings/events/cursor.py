"""Cursors as clients see them: an opaque token for a log position."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Final

from tidings.events.errors import InvalidCursor

__all__ = ["decode_cursor", "encode_cursor"]

_VERSION: Final = 1
_LAYOUT: Final = struct.Struct(">BQ")  # version, position


def encode_cursor(position: int) -> str:
    if position < 0:
        raise ValueError(f"a log position is never negative: {position}")
    return base64.urlsafe_b64encode(_LAYOUT.pack(_VERSION, position)).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The log position in a cursor from `encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, position = _LAYOUT.unpack(raw)
    except (binascii.Error, struct.error, ValueError) as exc:
        raise InvalidCursor(f"not a cursor this server issued: {cursor[:40]!r}") from exc
    if version != _VERSION:
        raise InvalidCursor(f"cursor format {version} is not one this server reads")
    position_value: int = position
    return position_value
