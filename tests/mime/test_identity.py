from __future__ import annotations

import re

from tidings.mime import (
    content_fingerprint,
    content_fingerprint_of,
    parse_headers,
    synthesize_message_id,
)

HEADER = (
    b"Received: from mx1.example.org by imap.example.net; Tue, 4 Jun 2024 10:00:01 +0000\r\n"
    b"Received: from client by mx1.example.org; Tue, 4 Jun 2024 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
    b"Date: Tue, 4 Jun 2024 12:00:00 +0200\r\n"
)
# The same header as another server might store it: refolded, re-encoded, other case.
REFOLDED = (
    b"Received: from mx1.example.org by imap.example.net;\r\n"
    b"\tTue, 4 Jun 2024 10:00:01 +0000\r\n"
    b"Received: from client by mx1.example.org; Tue, 4 Jun 2024 10:00:00 +0000\r\n"
    b"From: Alice <ALICE@EXAMPLE.ORG>\r\n"
    b"To: <bob@example.com>\r\n"
    b"Subject: =?iso-8859-1?q?Caf=E9?=\r\n"
    b"Date: Tue, 04 Jun 2024 10:00:00 +0000\r\n"
)


def test_synthesized_id_is_stable_and_invalid_domain() -> None:
    synthetic = synthesize_message_id(HEADER)
    assert re.fullmatch(r"<[0-9a-f]{64}@tidings\.invalid>", synthetic)
    assert synthesize_message_id(HEADER) == synthetic
    assert synthesize_message_id(REFOLDED) == synthetic
    assert synthesize_message_id(HEADER + b"X-Spam-Score: 3\r\n") == synthetic


def test_synthesized_id_changes_with_key_headers() -> None:
    synthetic = synthesize_message_id(HEADER)
    assert synthesize_message_id(HEADER.replace(b"Caf=C3=A9", b"Tea")) != synthetic
    assert synthesize_message_id(HEADER.replace(b"12:00:00", b"12:00:01")) != synthetic
    # Another delivery of the same message (another mailbox) has another first Received.
    assert synthesize_message_id(HEADER.replace(b"imap.example.net", b"other.net")) != synthetic


def test_content_fingerprint() -> None:
    with_id = HEADER + b"Message-ID: <same@example.org>\r\n"
    fingerprint = content_fingerprint(with_id, 1234)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    assert content_fingerprint(with_id, 1234) == fingerprint
    assert content_fingerprint(REFOLDED + b"Message-ID: same@example.org\r\n", 1234) == fingerprint
    assert content_fingerprint(with_id, 1235) != fingerprint
    assert content_fingerprint(with_id.replace(b"<same@", b"<other@"), 1234) != fingerprint
    assert content_fingerprint(with_id + b"Cc: carol@example.org\r\n", 1234) != fingerprint
    assert content_fingerprint_of(parse_headers(with_id), 1234) == fingerprint


def test_identity_of_garbage_headers() -> None:
    assert content_fingerprint(b"", 0) == content_fingerprint(b"", 0)
    assert synthesize_message_id(b"\xff\xfe\x00") == synthesize_message_id(b"\xff\xfe\x00")
