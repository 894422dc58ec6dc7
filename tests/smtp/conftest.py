"""Fixtures for the SMTP tests. ``smtp_server`` itself comes from
tests/support/smtpserver.py (shared by the whole run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.smtpserver import SmtpServer


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """The shared SMTP server, with its knobs back at their defaults after the test."""
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()
