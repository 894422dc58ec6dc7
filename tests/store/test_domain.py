"""Domain values the store relies on: derived message properties, subjects, ids."""

from __future__ import annotations

import re

import pytest

from tests.store import builders as b
from tidings.domain import Location, new_id, normalize_subject


def test_message_properties_come_from_flags_case_insensitively() -> None:
    m = b.message("g", flags=("\\seen", "\\FLAGGED", "\\Answered", "$Work"))
    assert (m.unread, m.starred, m.answered, m.draft) == (False, True, True, False)
    assert b.message("g", flags=("\\Draft",)).unread


def test_folder_ids_are_unique_and_ordered() -> None:
    m = b.message("g", locations=(Location("b", 1), Location("a", 2), Location("b", 3)))
    assert m.folder_ids == ("b", "a")


def test_only_non_inline_attachments_count() -> None:
    assert not b.message("g", attachments=(b.attachment("m", is_inline=True),)).has_attachments
    assert b.message("g", attachments=(b.attachment("m"),)).has_attachments


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Hello", "hello"),
        ("Re: Hello", "hello"),
        ("RE: Fwd: re:  Hello   world", "hello world"),
        ("AW: WG: Antw: SV: Hello", "hello"),
        ("Re[3]: Hello", "hello"),
        ("[list] Re: [list] Hello", "hello"),
        ("Hello (fwd)", "hello"),
        ("[only a tag]", "[only a tag]"),
        ("Résumé: today", "résumé: today"),
        ("Re\uff1aHello", "hello"),  # a full-width colon
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, base: str) -> None:
    assert normalize_subject(subject) == base


def test_new_ids_are_opaque_unique_and_sort_by_creation() -> None:
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    prefixes = [i[:12] for i in ids]
    assert prefixes == sorted(prefixes)
