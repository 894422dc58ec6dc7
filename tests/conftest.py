"""Shared fixtures: hypothesis profiles and the private Dovecot."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support.dovecot import Dovecot, dovecot_available
from tests.support.smtpserver import smtp_server  # noqa: F401  (a shared fixture)
from tidings.log import configure_logging

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
configure_logging(os.environ.get("TIDINGS_TEST_LOG_LEVEL", "warning"))


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot for the whole run; tests isolate themselves with fresh users."""
    if not dovecot_available():
        pytest.fail("dovecot is not installed: run .ci/run (it installs dovecot-imapd)")
    # Not under pytest's tmp_path: that tree is mode 0700 and Dovecot's mail processes
    # run as nobody.
    root = Path(tempfile.mkdtemp(prefix="tidings-dovecot-"))
    os.chmod(root, 0o755)
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> tuple[str, str]:
    """A fresh, empty mailbox user on the shared Dovecot."""
    return dovecot.add_user()
