"""Secrets never reach log output."""

from __future__ import annotations

import io
import json

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
