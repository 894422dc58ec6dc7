"""Checks on request fields that servicers make before any work: ids and list sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tidings.api.errors import InvalidArgument

__all__ = ["MAX_ID", "MAX_LIST", "check_ids", "optional_id", "require_id"]

# Our ids are 24 characters; this leaves room for other id schemes without letting a
# request carry megabytes where an id belongs.
MAX_ID: Final = 128
MAX_LIST: Final = 1000


def _check(field: str, value: str) -> str:
    if len(value) > MAX_ID:
        raise InvalidArgument(field, f"at most {MAX_ID} characters")
    if not value.isprintable() or value.strip() != value:
        raise InvalidArgument(field, f"{value[:40]!r} is not an id")
    return value


def require_id(field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(field, "required")
    return _check(field, value)


def optional_id(field: str, value: str) -> str | None:
    """An id that may be left empty (None then)."""
    return _check(field, value) if value else None


def check_ids(field: str, values: Sequence[str]) -> frozenset[str]:
    if len(values) > MAX_LIST:
        raise InvalidArgument(field, f"at most {MAX_LIST} entries")
    return frozenset(require_id(f"{field}[{index}]", value) for index, value in enumerate(values))
