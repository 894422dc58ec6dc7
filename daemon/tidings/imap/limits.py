"""Hard limits the response reader enforces against a hostile or broken server.

Every limit bounds memory or recursion: exceeding one raises
:class:`~tidings.imap.errors.LimitExceeded` and the connection must be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    max_line: int = 16 * 1024 * 1024
    """Bytes of one line, i.e. the text between two literals (CRLF not counted)."""
    max_literal: int = 64 * 1024 * 1024
    """Bytes of one literal; checked on the ``{n}`` header, before any data arrives."""
    max_buffer: int = 96 * 1024 * 1024
    """Bytes held without being parsed: the response in progress and anything after it."""
    max_depth: int = 64
    """Parenthesis nesting (BODYSTRUCTURE, extension data, unknown responses)."""
    max_set: int = 1_000_000
    """Numbers in one expanded sequence/UID set (VANISHED, ESEARCH ALL, APPENDUID...)."""


DEFAULT_LIMITS = Limits()
