"""Realistic test messages; the generator lives in `tidings.devtools.mailgen`."""

from __future__ import annotations

from tidings.devtools.mailgen import Generated, generate, make_message

__all__ = ["Generated", "generate", "make_message"]
