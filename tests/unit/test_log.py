"""Secrets never reach log output, and logs reach the standard error of the moment."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.log import REDACTED, configure_logging, get_logger, redact


def test_secret_keys_redacted_at_any_depth() -> None:
    out = redact({"imap_password": "hunter2", "nested": {"api_key": "k1", "list": [
        {"token": "t"}]}, "host": "imap.example.org"})
    assert out == {"imap_password": REDACTED, "nested": {"api_key": REDACTED, "list": [
        {"token": REDACTED}]}, "host": "imap.example.org"}


def test_secrets_inside_strings_masked() -> None:
    assert redact("authorization: Bearer abc.def") == f"authorization: Bearer {REDACTED}"
    assert redact("a1 LOGIN alice hunter2") == f"a1 LOGIN alice {REDACTED}"
    assert redact("url?password=hunter2&x=1") == f"url?password={REDACTED}&x=1"


def test_json_output_has_no_secret() -> None:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    get_logger("t").info("grant.created", grant="g1", imap_password="hunter2",
                         detail="LOGIN bob s3cret")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["grant"] == "g1"
    assert line["imap_password"] == REDACTED
    assert "s3cret" not in stream.getvalue() and "hunter2" not in stream.getvalue()


@given(st.text(min_size=6, alphabet=st.characters(min_codepoint=48, max_codepoint=122)))
def test_any_password_value_is_masked(text: str) -> None:
    secret = f"pw-{text}"  # a marker that cannot occur in the rest of the line
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    get_logger("t").info("x", password=secret, smtp_password=secret)
    assert secret not in stream.getvalue()


def test_logs_go_to_the_standard_error_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logging configured while stderr was swapped (a test capturing output) keeps
    working once that stream is closed: it writes to stderr as it is now."""
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    configure_logging("info", "json")
    swapped.close()
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    try:
        get_logger("t").warning("after.swap", grant="g1")
        assert json.loads(now.getvalue().strip())["event"] == "after.swap"
    finally:
        configure_logging(os.environ.get("TIDINGS_TEST_LOG_LEVEL", "warning"))
