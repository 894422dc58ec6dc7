"""Field checks and how missing server settings are filled in from presets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.domain import ConnectorSettings, Endpoint, Security
from tidings.service import InvalidField
from tidings.service.grant_input import DEFAULT_PORTS, choose_preset, resolve_endpoint
from tidings.service.validation import (
    check_connector_settings,
    check_email,
    check_redirect_uri,
    check_secret,
    check_state,
)


@pytest.mark.parametrize("uri", ["https://app.example/cb", "http://localhost:8000/auth?x=1"])
def test_good_redirect_uris(uri: str) -> None:
    assert check_redirect_uri("u", uri) == uri


@pytest.mark.parametrize("uri", ["/cb", "app.example/cb", "ftp://x.example/", "https:///cb",
                                 "https://x.example/cb#f", "https://x.example/a b",
                                 "javascript:alert(1)", "https://x.example/" + "a" * 3000])
def test_bad_redirect_uris_name_the_field(uri: str) -> None:
    with pytest.raises(InvalidField) as caught:
        check_redirect_uri("settings.allowed_redirect_uris[3]", uri)
    assert caught.value.field == "settings.allowed_redirect_uris[3]"


def test_connector_settings_bounds() -> None:
    check_connector_settings(ConnectorSettings(sync_window_days=3650, poll_interval=5))
    for settings, field in (
        (ConnectorSettings(sync_window_days=0), "settings.sync_window_days"),
        (ConnectorSettings(sync_window_days=3651), "settings.sync_window_days"),
        (ConnectorSettings(poll_interval=4.9), "settings.poll_interval_seconds"),
        (ConnectorSettings(allowed_redirect_uris=("x",)), "settings.allowed_redirect_uris[0]"),
    ):
        with pytest.raises(InvalidField) as caught:
            check_connector_settings(settings)
        assert caught.value.field == field


def test_addresses_secrets_and_state() -> None:
    assert check_email("email", " ann@example.org ") == "ann@example.org"
    for bad in ("", "ann", "@example.org", "ann@", "a b@example.org", "a\n@example.org"):
        with pytest.raises(InvalidField):
            check_email("email", bad)
    for secret in ("", "a\0b", "a\r\nb", "x" * 1025):
        with pytest.raises(InvalidField):
            check_secret("imap_password", secret)
    assert check_state("state", "") is None
    with pytest.raises(InvalidField):
        check_state("state", "s" * 257)


@given(st.text(max_size=300))
def test_checks_raise_only_invalid_field(value: str) -> None:
    for check in (check_email, check_redirect_uri, check_secret):
        try:
            check("f", value)
        except InvalidField as exc:
            assert exc.field == "f"


def test_presets_fill_in_hosts_ports_and_security() -> None:
    preset = choose_preset(None, "someone@gmail.com")
    assert preset.name == "gmail"
    imap = resolve_endpoint("imap", host=None, port=None, security=None, preset=preset.imap,
                            allow_plaintext=False)
    assert imap == Endpoint("imap.gmail.com", 993, Security.TLS)
    icloud = choose_preset("icloud", "x@example.org")
    smtp = resolve_endpoint("smtp", host=None, port=None, security=None, preset=icloud.smtp,
                            allow_plaintext=False)
    assert smtp == Endpoint("smtp.mail.me.com", 587, Security.STARTTLS)
    # Another host than the preset's: the security mode's default port.
    other = resolve_endpoint("smtp", host="mail.example.org", port=None,
                             security=Security.STARTTLS, preset=icloud.smtp,
                             allow_plaintext=False)
    assert other.port == DEFAULT_PORTS[("smtp", Security.STARTTLS)]


def test_missing_hosts_plaintext_and_unknown_providers_are_refused() -> None:
    generic = choose_preset(None, "me@example.org")
    with pytest.raises(InvalidField) as caught:
        resolve_endpoint("imap", host=None, port=None, security=None, preset=generic.imap,
                         allow_plaintext=False)
    assert caught.value.field == "imap_host"
    with pytest.raises(InvalidField) as caught:
        resolve_endpoint("smtp", host="h", port=None, security=Security.PLAIN, preset=None,
                         allow_plaintext=False)
    assert caught.value.field == "smtp_security"
    plain = resolve_endpoint("smtp", host="h", port=None, security=Security.PLAIN, preset=None,
                             allow_plaintext=True)
    assert plain.port == 587
    with pytest.raises(InvalidField) as caught:
        choose_preset("nosuch", "me@example.org")
    assert caught.value.field == "provider_type"
