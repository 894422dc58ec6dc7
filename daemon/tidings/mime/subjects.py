"""Subjects reduced to what a conversation shares (JWZ threading, step 5).

Reply and forward prefixes vary by language and mailer: ``Re:``, ``RE[2]:``, ``AW:``
(German), ``SV:`` (Scandinavian), ``VS:`` (Finnish), ``Antw:`` (Dutch), ``WG:``/``TR:``
(forwards), ``回复:``/``转发:`` (Chinese); mailing lists add ``[list-tag]``.
"""

from __future__ import annotations

import re

__all__ = ["normalize_subject", "split_subject"]

_REPLY_WORDS = (
    r"re|fwd?|aw|sv|vs|antw|wg|tr|rv|rif|enc|odp|res|ynt|atb|"
    r"回复|回覆|转发|轉寄|轉發|答复"
)
# A reply/forward word, an optional counter ("Re[2]:", "Re^2:", "Re(2):"), a colon
# (ASCII or full-width, with the space some French mailers put before it).
_PREFIX = re.compile(
    rf"\s*(?:{_REPLY_WORDS})\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:\uff1a]", re.IGNORECASE
)
_LIST_TAG = re.compile(r"\s*\[[^\[\]]{0,100}\]")
_FWD_SUFFIX = re.compile(r"\s*\((?:fwd?)\)\s*$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def split_subject(subject: str) -> tuple[str, bool]:
    """The normalized subject, and whether a reply/forward prefix was removed."""
    had_prefix = False
    rest = subject
    while True:
        match = _PREFIX.match(rest)
        if match is not None:
            had_prefix = True
            rest = rest[match.end() :]
            continue
        match = _LIST_TAG.match(rest)
        # A subject that is nothing but "[tag]" keeps it: it is all there is to compare.
        if match is not None and rest[match.end() :].strip():
            rest = rest[match.end() :]
            continue
        break
    suffix = _FWD_SUFFIX.search(rest)
    if suffix is not None:
        had_prefix = True
        rest = rest[: suffix.start()]
    return _WHITESPACE.sub(" ", rest).strip().casefold(), had_prefix


def normalize_subject(subject: str) -> str:
    """Strip reply/forward prefixes and list tags, collapse whitespace, casefold."""
    return split_subject(subject)[0]
