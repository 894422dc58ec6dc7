"""LIST-STATUS (RFC 5819) against the real Dovecot."""

from __future__ import annotations

import pytest

from tests.support.dovecot import Dovecot
from tidings.imap import ConnectParams, open_imap

pytestmark = pytest.mark.dovecot


async def test_list_status_reports_every_folder(dovecot: Dovecot) -> None:
    user, password = dovecot.add_user()
    raw = b"From: a@example.org\r\nSubject: s\r\nMessage-ID: <ls@x>\r\n\r\nbody\r\n"
    dovecot.seed(user, [raw, raw], folder="Archive")
    dovecot.seed(user, [raw], flags="S")
    params = ConnectParams(host=dovecot.host, port=dovecot.tls_port,
                           ssl_context=dovecot.ssl_context())
    async with open_imap(params) as client:
        await client.login(user, password)
        entries, statuses = await client.list_status()
        names = {e.name for e in entries}
        assert {"INBOX", "Sent", "Archive", "Drafts", "Trash", "Junk"} <= names
        assert set(statuses) >= names
        assert statuses["Archive"].messages == 2 and statuses["Archive"].unseen == 2
        assert statuses["INBOX"].messages == 1 and statuses["INBOX"].unseen == 0
        assert statuses["INBOX"].uidvalidity is not None
        assert statuses["INBOX"].highestmodseq is not None  # Dovecot has CONDSTORE
        sent = next(e for e in entries if e.name == "Sent")
        assert any(a.lower() == "\\sent" for a in sent.attributes)
