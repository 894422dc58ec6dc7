"""Collapsing runs of whitespace to one space, cheaply for ASCII text.

``re.sub`` visits every match, and ordinary text has a space every few characters. For
ASCII text the same result comes from ``str.translate`` (which has a fast path for
ASCII) and a few ``str.replace`` passes, several times faster; other text still goes
through the regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RunCollapser"]


@dataclass(frozen=True, slots=True, eq=False)
class RunCollapser:
    """Replaces each maximal run of the characters of ``runs`` by one space.

    ``runs`` must be a pattern of the form ``[...]+`` over a set that holds the space.
    """

    runs: re.Pattern[str]
    ascii_spaces: dict[int, str]

    @classmethod
    def of(cls, character_class: str) -> RunCollapser:
        """The collapser for ``character_class`` (such as ``r"[\\s\\x00-\\x1f]"``)."""
        runs = re.compile(f"{character_class}+")
        if runs.fullmatch(" ") is None:
            raise ValueError(f"{character_class} does not hold the space")
        # Derived from the pattern itself, so both ways agree on every ASCII character.
        table = {code: " " for code in range(128)
                 if code != 0x20 and runs.fullmatch(chr(code)) is not None}
        return cls(runs, table)

    def __call__(self, text: str) -> str:
        if not text.isascii():
            return self.runs.sub(" ", text)
        text = text.translate(self.ascii_spaces)
        # Each pass halves every run of spaces; a run of n takes about log2(n) passes.
        while "  " in text:
            text = text.replace("  ", " ")
        return text
