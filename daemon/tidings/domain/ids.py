"""Opaque object ids."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id"]


def new_id() -> str:
    """Return a new 24-character opaque id.

    The first 12 hex digits are the creation time in milliseconds, the last 12 are random,
    so ids made later sort later: rows inserted together land together in the store's
    B-trees, and an id says roughly when its object was made without revealing anything else.
    """
    millis = time.time_ns() // 1_000_000
    return f"{millis & 0xFFFF_FFFF_FFFF:012x}{secrets.token_hex(6)}"
