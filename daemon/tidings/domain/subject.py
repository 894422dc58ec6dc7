"""The base subject used to group messages into threads."""

from __future__ import annotations

import functools
import re

__all__ = ["normalize_subject"]

# RFC 5256 §2.1 strips "re", "fw" and "fwd" with an optional "[blob]"; mail clients in
# other languages write their own words (German AW/WG, Nordic SV/VS, Dutch Antw, ...),
# and CJK clients may use a full-width colon (U+FF1A).
_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|doorst|ref|tr|rv|res|enc|odp|vl)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:\uFF1A]\s*",
    re.IGNORECASE,
)
# RFC 5256 §2.1 (2): a leading "[blob]" such as a mailing-list tag.
_BLOB = re.compile(r"^\s*\[[^\[\]]*\]\s*")
# RFC 5256 §2.1 (1): a trailing "(fwd)".
_FWD_TRAILER = re.compile(r"\s*\(fwd\)\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


# Threading asks for the same subjects over and over (a batch, a thread's replies).
@functools.lru_cache(maxsize=4096)
def normalize_subject(subject: str) -> str:
    """Reduce a subject to the form that replies and forwards share.

    Removes reply/forward prefixes and list tags (repeatedly, as RFC 5256 §2.1 step 5
    does), a trailing "(fwd)", folds whitespace and case.
    """
    text = _SPACE.sub(" ", subject).strip()
    while True:
        before = text
        text = _FWD_TRAILER.sub("", text)
        text = _PREFIX.sub("", text)
        stripped = _BLOB.sub("", text)
        # A subject that is only a "[blob]" keeps it (RFC 5256 §2.1 step 4).
        if stripped:
            text = stripped
        if text == before:
            break
    return text.strip().casefold()
