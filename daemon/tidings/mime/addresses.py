"""Address lists (From, To, Cc...) → :class:`EmailAddress` values.

The stdlib compat32 address parser (``email.utils.getaddresses``) is the tolerant one:
it copes with group syntax, unbalanced quotes and missing brackets. Display names are
decoded after the list is split, so a comma inside an encoded-word never splits an
address (RFC 2047 §5 (3) allows encoded-words in phrases only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from tidings.mime.encoded_words import decode_encoded_words

__all__ = ["EmailAddress", "format_address", "parse_address_list"]

_MAX_ADDRESSES = 1000
_MAX_ADDRESS_LENGTH = 320  # RFC 5321 §4.5.3.1: 64 octets of local part + @ + 255 of domain
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A mailbox: ``name`` decoded ("" when none), ``email`` with its domain lower-cased.

    RFC 5321 §2.4: the local part may be case-sensitive, the domain is not.
    """

    name: str
    email: str


def format_address(address: EmailAddress) -> str:
    """``Name <user@host>``, or ``user@host`` when there is no name (for display)."""
    if not address.name:
        return address.email
    return f"{address.name} <{address.email}>"


def _normalize_email(value: str) -> str:
    value = _WHITESPACE.sub("", value).strip("<>")
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{domain.lower()}"


def parse_address_list(value: str) -> tuple[tuple[EmailAddress, ...], tuple[str, ...]]:
    """Every mailbox in ``value``; returns (addresses, warnings).

    Entries without an ``@`` (a bare name, a stray word) are left out with a warning;
    empty groups such as ``undisclosed-recipients:;`` are left out silently.
    """
    warnings: list[str] = []
    try:
        pairs = getaddresses([value])
    except (ValueError, IndexError, TypeError) as exc:
        return (), (f"unparseable address list: {exc}",)
    addresses: list[EmailAddress] = []
    for raw_name, raw_email in pairs:
        if not raw_name and not raw_email:
            continue
        email = _normalize_email(raw_email)
        if "@" not in email or len(email) > _MAX_ADDRESS_LENGTH:
            shown = (raw_email or raw_name)[:80]
            warnings.append(f"unusable address {shown!r} skipped")
            continue
        name, name_warnings = decode_encoded_words(raw_name)
        warnings.extend(name_warnings)
        name = _WHITESPACE.sub(" ", name).strip()
        if name == email:
            name = ""
        if len(addresses) >= _MAX_ADDRESSES:
            warnings.append(f"more than {_MAX_ADDRESSES} addresses; the rest skipped")
            break
        addresses.append(EmailAddress(name=name, email=email))
    return tuple(addresses), tuple(dict.fromkeys(warnings))
