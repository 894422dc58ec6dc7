"""Opaque page tokens for keyset pagination on (sort key, id)."""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Final

from tidings.store.errors import InvalidQuery

__all__ = ["decode_page_token", "encode_page_token"]

_VERSION: Final = 1
_HEAD: Final = struct.Struct(">Bq")
_MAX_ID: Final = 128


def encode_page_token(sort_key: int, object_id: str) -> str:
    raw = _HEAD.pack(_VERSION, sort_key) + object_id.encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_page_token(token: str) -> tuple[int, str]:
    """The (sort key, id) of the last item on the previous page."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, sort_key = _HEAD.unpack_from(raw)
        object_id = raw[_HEAD.size :].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidQuery("the page token is not one this server issued") from exc
    if version != _VERSION or not 0 < len(object_id) <= _MAX_ID:
        raise InvalidQuery("the page token is not one this server issued")
    return sort_key, object_id
