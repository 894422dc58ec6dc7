"""Message-ID lists (Message-ID, In-Reply-To, References), read tolerantly.

RFC 5322 §3.6.4 wants ``<left@right>`` ids separated by whitespace. Real headers
carry comments, quoted phrases (``John's message of ...``), ids without brackets,
ids folded across lines, commas and doubled brackets. Bracketed ids are taken when
there are any; otherwise bare tokens that look like ``left@right``.
"""

from __future__ import annotations

import re

__all__ = ["MAX_ID_LENGTH", "normalize_message_id", "parse_message_ids"]

# RFC 5322 §2.1.1 caps a line at 998 characters; no usable id is longer.
MAX_ID_LENGTH = 998
_SIMPLE_LIST = re.compile(r"\s*(?:<[^<>\s()\"\\]+>[\s,]*)+")
_SIMPLE_ID = re.compile(r"<([^<>\s()\"\\]+)>")
_BARE_SEPARATORS = re.compile(r"[\s,;]+")
_BARE_TRIM = "\"'.,;:[]{}"
_WHITESPACE = re.compile(r"\s+")


def normalize_message_id(value: str) -> str | None:
    """``" <a@b> "`` and ``"a@b"`` → ``"<a@b>"``; None when nothing usable is left."""
    ids = parse_message_ids(value)
    return ids[0] if ids else None


def _usable(content: str) -> str | None:
    content = _WHITESPACE.sub("", content)
    if not content or len(content) + 2 > MAX_ID_LENGTH or not content.isprintable():
        return None
    return f"<{content}>"


def _scan(value: str) -> tuple[list[str], str]:
    """Bracketed ids, and the text outside brackets, comments and quoted strings."""
    bracketed: list[str] = []
    outside: list[str] = []
    depth = 0  # RFC 5322 §3.2.2: comments nest
    index = 0
    length = len(value)
    while index < length:
        char = value[index]
        if depth:
            if char == "\\":
                index += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "(":
            depth = 1
        elif char == '"':
            end = index + 1
            while end < length and value[end] != '"':
                end += 2 if value[end] == "\\" else 1
            index = end
            outside.append(" ")
        elif char == "<":
            end = index + 1
            while end < length and value[end] != ">":
                if value[end] == "<":  # "<<a@b>>": the innermost bracket wins
                    index = end
                end += 1
            bracketed.append(value[index + 1 : end])
            index = end
        else:
            outside.append(char)
        index += 1
    return bracketed, "".join(outside)


def parse_message_ids(value: str) -> tuple[str, ...]:
    """Every message id in ``value``, normalized to ``<...>``, in order, without repeats."""
    if not value:
        return ()
    if _SIMPLE_LIST.fullmatch(value):
        found = [f"<{m}>" for m in _SIMPLE_ID.findall(value) if len(m) + 2 <= MAX_ID_LENGTH]
        return tuple(dict.fromkeys(found))
    bracketed, outside = _scan(value)
    candidates = bracketed
    if not any(c.strip() for c in bracketed):
        candidates = [
            token.strip(_BARE_TRIM)
            for token in _BARE_SEPARATORS.split(outside)
            if "@" in token.strip(_BARE_TRIM)[1:-1]
        ]
    ids = (_usable(c) for c in candidates)
    return tuple(dict.fromkeys(i for i in ids if i is not None))
