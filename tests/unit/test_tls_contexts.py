"""TLS contexts for mail servers are loaded once, not per connection: loading the
system's CAs costs tens of milliseconds of CPU on the event loop."""

from __future__ import annotations

import ssl

from tidings.app import ssl_context_factory
from tidings.imap import ConnectParams
from tidings.imap.transport import default_ssl_context as imap_default
from tidings.smtp import SmtpParams
from tidings.smtp.transport import default_ssl_context as smtp_default


def test_connections_without_a_context_share_one_that_verifies() -> None:
    first = ConnectParams(host="imap.example.com", port=993).make_ssl_context()
    second = ConnectParams(host="other.example.org", port=993).make_ssl_context()
    assert first is second is imap_default()
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] == ssl.create_default_context(
    ).cert_store_stats()["x509_ca"]

    smtp = SmtpParams(host="smtp.example.com", port=465).make_ssl_context()
    assert smtp is SmtpParams(host="x.example.com", port=587).make_ssl_context()
    assert smtp is smtp_default()
    assert smtp.verify_mode == ssl.CERT_REQUIRED and smtp.check_hostname


def test_a_context_given_is_used_as_it_is() -> None:
    own = ssl.create_default_context()
    assert ConnectParams(host="h", port=993, ssl_context=own).make_ssl_context() is own
    assert SmtpParams(host="h", port=465, ssl_context=own).make_ssl_context() is own


def test_the_daemon_loads_its_context_once() -> None:
    system = ssl_context_factory(None)
    context = system()
    assert context is not None and context is system()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
