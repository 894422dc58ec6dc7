"""MIME → plain values, and conversation threading.

Everything here takes bytes or text and returns frozen values; nothing raises on bad
input. What could not be read is replaced or left out, and ``warnings`` says what.
This package imports nothing else of Tidings.
"""

from __future__ import annotations

from tidings.mime.addresses import EmailAddress, format_address, parse_address_list
from tidings.mime.body import DecodedText, decode_part
from tidings.mime.charsets import decode_text, is_known_charset
from tidings.mime.dates import parse_date
from tidings.mime.encoded_words import decode_encoded_words
from tidings.mime.errors import MimeError, PartNotFound
from tidings.mime.headers import HeaderSummary, parse_headers
from tidings.mime.htmltext import html_to_text, make_snippet, text_to_html
from tidings.mime.identity import (
    SYNTHETIC_DOMAIN,
    content_fingerprint,
    content_fingerprint_of,
    synthesize_message_id,
    synthesize_message_id_of,
)
from tidings.mime.message import AttachmentInfo, ParsedMessage, iter_part_bytes, parse_message
from tidings.mime.msgids import normalize_message_id, parse_message_ids
from tidings.mime.subjects import normalize_subject, split_subject
from tidings.mime.threads import ThreadInput, build_threads
from tidings.mime.transfer import decode_transfer_encoding

__all__ = [
    "SYNTHETIC_DOMAIN",
    "AttachmentInfo",
    "DecodedText",
    "EmailAddress",
    "HeaderSummary",
    "MimeError",
    "ParsedMessage",
    "PartNotFound",
    "ThreadInput",
    "build_threads",
    "content_fingerprint",
    "content_fingerprint_of",
    "decode_encoded_words",
    "decode_part",
    "decode_text",
    "decode_transfer_encoding",
    "format_address",
    "html_to_text",
    "is_known_charset",
    "iter_part_bytes",
    "make_snippet",
    "normalize_message_id",
    "normalize_subject",
    "parse_address_list",
    "parse_date",
    "parse_headers",
    "parse_message",
    "parse_message_ids",
    "split_subject",
    "synthesize_message_id",
    "synthesize_message_id_of",
    "text_to_html",
]
