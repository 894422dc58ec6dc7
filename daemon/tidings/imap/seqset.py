"""Sequence sets and UID sets for commands (RFC 9051 §9 ``sequence-set``).

A :class:`SeqSet` is kept compressed: sorted, disjoint, non-adjacent inclusive ranges,
plus an optional open tail (``n:*``) or a lone ``*``. It renders as ``1:5,7,9:12``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import CommandError

__all__ = ["MAX_NUMBER", "SeqSet"]

# nz-number / uniqueid are 32-bit unsigned (RFC 9051 §9).
MAX_NUMBER = 0xFFFFFFFF


def _check(number: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise CommandError(f"sequence numbers are ints, not {type(number).__name__}")
    if not 1 <= number <= MAX_NUMBER:
        raise CommandError(f"sequence number {number} is outside 1..{MAX_NUMBER}")
    return number


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


@dataclass(frozen=True, slots=True)
class SeqSet:
    """A compressed set of message numbers or UIDs.

    Build one with :meth:`of`, :meth:`from_ints`, :meth:`span`, :meth:`all` or
    :meth:`parse`; the constructor expects already normalised ranges. ``tail`` stands
    for ``tail:*`` (every number from ``tail`` up, including the largest); ``star`` for
    a lone ``*`` (the largest number in use). A set with either is not *concrete*: it
    cannot be counted, iterated or split, only sent.
    """

    ranges: tuple[tuple[int, int], ...] = ()
    tail: int | None = None
    star: bool = False

    @classmethod
    def _build(
        cls, spans: Iterable[tuple[int, int]], tail: int | None, star: bool
    ) -> SeqSet:
        merged = _merge(spans)
        if tail is not None:
            star = False  # n:* already includes *
            # Ranges touching the tail are swallowed by it.
            while merged and merged[-1][1] >= tail - 1:
                tail = min(tail, merged.pop()[0])
        return cls(tuple(merged), tail, star)

    @classmethod
    def from_ints(cls, numbers: Iterable[int]) -> SeqSet:
        """Compress numbers in any order (duplicates allowed) into ranges."""
        ordered = sorted({_check(n) for n in numbers})
        spans: list[tuple[int, int]] = []
        for n in ordered:
            if spans and n == spans[-1][1] + 1:
                spans[-1] = (spans[-1][0], n)
            else:
                spans.append((n, n))
        return cls(tuple(spans))

    @classmethod
    def span(cls, lo: int, hi: int | None = None) -> SeqSet:
        """``lo:hi``, or ``lo:*`` when ``hi`` is None. Reversed bounds are swapped
        as RFC 9051 §9 (seq-range) allows."""
        if hi is None:
            return cls((), _check(lo))
        a, b = sorted((_check(lo), _check(hi)))
        return cls(((a, b),))

    @classmethod
    def all(cls) -> SeqSet:
        """``1:*`` — every message."""
        return cls((), 1)

    @classmethod
    def of(cls, *items: int | range | tuple[int, int] | str | SeqSet) -> SeqSet:
        """Union of ints, ``range`` objects (step 1), ``(lo, hi)`` pairs, sets, and
        strings in sequence-set syntax (``"*"``, ``"4:*"``, ``"1:5,7"``)."""
        spans: list[tuple[int, int]] = []
        tail: int | None = None
        star = False
        for given in items:
            item = cls.parse(given) if isinstance(given, str) else given
            if isinstance(item, SeqSet):
                spans.extend(item.ranges)
                if item.tail is not None:
                    tail = item.tail if tail is None else min(tail, item.tail)
                star = star or item.star
            elif isinstance(item, range):
                if item.step != 1:
                    raise CommandError("only ranges with step 1 make a sequence set")
                if len(item):
                    spans.append((_check(item.start), _check(item.stop - 1)))
            elif isinstance(item, tuple):
                a, b = sorted((_check(item[0]), _check(item[1])))
                spans.append((a, b))
            else:
                spans.append((_check(item), item))
        return cls._build(spans, tail, star)

    @classmethod
    def parse(cls, text: str) -> SeqSet:
        """Parse ``1:5,7,9:*``; raises :class:`CommandError` when malformed."""
        spans: list[tuple[int, int]] = []
        tail: int | None = None
        star = False

        def number(part: str) -> int | None:
            if part == "*":
                return None
            if not part.isascii() or not part.isdigit() or part.startswith("0"):
                raise CommandError(f"bad sequence set {text!r}")
            return _check(int(part))

        if not text:
            raise CommandError("empty sequence set")
        for item in text.split(","):
            lo_text, sep, hi_text = item.partition(":")
            lo = number(lo_text)
            hi = number(hi_text) if sep else lo
            if lo is None and hi is None:
                star = True
            elif lo is None or hi is None:
                bound = lo if hi is None else hi
                assert bound is not None
                tail = bound if tail is None else min(tail, bound)
            else:
                spans.append((min(lo, hi), max(lo, hi)))
        return cls._build(spans, tail, star)

    @property
    def concrete(self) -> bool:
        """True when the set names only explicit numbers (no ``*``)."""
        return self.tail is None and not self.star

    def _require_concrete(self) -> None:
        if not self.concrete:
            raise CommandError(f"{self} contains '*' and cannot be enumerated")

    def __str__(self) -> str:
        parts = [str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in self.ranges]
        if self.tail is not None:
            parts.append(f"{self.tail}:*")
        elif self.star:
            parts.append("*")
        return ",".join(parts)

    def __bool__(self) -> bool:
        return bool(self.ranges) or not self.concrete

    def __len__(self) -> int:
        self._require_concrete()
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def __iter__(self) -> Iterator[int]:
        self._require_concrete()
        for lo, hi in self.ranges:
            yield from range(lo, hi + 1)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        if self.tail is not None and number >= self.tail:
            return True
        i = bisect.bisect_right(self.ranges, number, key=lambda r: r[0]) - 1
        return i >= 0 and self.ranges[i][1] >= number

    def __or__(self, other: SeqSet) -> SeqSet:
        return SeqSet.of(self, other)

    def chunks(self, size: int) -> Iterator[SeqSet]:
        """Split into consecutive sets of at most ``size`` numbers each, in order."""
        self._require_concrete()
        if size < 1:
            raise CommandError("chunk size must be at least 1")
        current: list[tuple[int, int]] = []
        room = size
        for first, hi in self.ranges:
            lo = first
            while lo <= hi:
                take = min(room, hi - lo + 1)
                current.append((lo, lo + take - 1))
                lo += take
                room -= take
                if room == 0:
                    yield SeqSet(tuple(current))
                    current, room = [], size
        if current:
            yield SeqSet(tuple(current))
