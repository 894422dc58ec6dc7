"""Provider presets: where a provider's servers are and how hard we may use them.

Connection caps are per account and deliberately below what each provider documents or
is known to enforce, so that the user's own mail clients keep working beside us.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.domain import Endpoint, Security

__all__ = ["PRESETS", "ProviderPreset", "UnknownProvider", "preset_for", "preset_for_email"]

MB = 1024 * 1024


class UnknownProvider(ValueError):
    """No preset has this name."""


@dataclass(frozen=True, slots=True)
class ProviderPreset:
    name: str
    imap: Endpoint | None  # None: the caller gives host and port (generic)
    smtp: Endpoint | None
    max_connections: int  # per account, all purposes together
    idle_interval: float  # re-issue IDLE at least this often (RFC 2177 §3: before 29 min)
    send_limit_bytes: int  # total encoded message size the provider accepts
    saves_sent: bool  # the server files submitted mail in Sent itself
    domains: tuple[str, ...] = ()
    quirks: tuple[str, ...] = ()


def _ep(host: str, port: int, security: Security = Security.TLS) -> Endpoint:
    return Endpoint(host=host, port=port, security=security)


PRESETS: dict[str, ProviderPreset] = {
    preset.name: preset
    for preset in (
        ProviderPreset("generic", None, None, max_connections=5, idle_interval=25 * 60,
                       send_limit_bytes=25 * MB, saves_sent=False),
        ProviderPreset("gmail", _ep("imap.gmail.com", 993), _ep("smtp.gmail.com", 465),
                       max_connections=10, idle_interval=9 * 60, send_limit_bytes=25 * MB,
                       saves_sent=True, domains=("gmail.com", "googlemail.com"),
                       quirks=("all-mail-folder", "labels-as-folders")),
        ProviderPreset("yahoo", _ep("imap.mail.yahoo.com", 993),
                       _ep("smtp.mail.yahoo.com", 465), max_connections=5,
                       idle_interval=10 * 60, send_limit_bytes=25 * MB, saves_sent=False,
                       domains=("yahoo.com", "ymail.com", "rocketmail.com"),
                       quirks=("app-password-required",)),
        ProviderPreset("aol", _ep("imap.aol.com", 993), _ep("smtp.aol.com", 465),
                       max_connections=5, idle_interval=10 * 60, send_limit_bytes=25 * MB,
                       saves_sent=False, domains=("aol.com",),
                       quirks=("app-password-required",)),
        ProviderPreset("icloud", _ep("imap.mail.me.com", 993),
                       _ep("smtp.mail.me.com", 587, Security.STARTTLS), max_connections=5,
                       idle_interval=10 * 60, send_limit_bytes=20 * MB, saves_sent=True,
                       domains=("icloud.com", "me.com", "mac.com"),
                       quirks=("app-password-required",)),
        ProviderPreset("outlook", _ep("outlook.office365.com", 993),
                       _ep("smtp.office365.com", 587, Security.STARTTLS), max_connections=8,
                       idle_interval=10 * 60, send_limit_bytes=20 * MB, saves_sent=True,
                       domains=("outlook.com", "hotmail.com", "live.com", "msn.com")),
        ProviderPreset("fastmail", _ep("imap.fastmail.com", 993),
                       _ep("smtp.fastmail.com", 465), max_connections=10,
                       idle_interval=25 * 60, send_limit_bytes=70 * MB, saves_sent=False,
                       domains=("fastmail.com", "fastmail.fm"),
                       quirks=("app-password-required",)),
    )
}


def preset_for(name: str | None) -> ProviderPreset:
    key = (name or "generic").strip().lower()
    try:
        return PRESETS[key]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise UnknownProvider(f"unknown provider type {name!r} (known: {known})") from None


def preset_for_email(email: str) -> ProviderPreset:
    """The preset whose domains include the address's domain, else generic."""
    domain = email.rpartition("@")[2].strip().lower()
    for preset in PRESETS.values():
        if domain in preset.domains:
            return preset
    return PRESETS["generic"]
