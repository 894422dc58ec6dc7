"""The HTML of the sign-in pages: no scripts, no external assets, everything escaped.

The one style sheet is inline and allowed by its hash in the Content-Security-Policy, so
the policy can stay `default-src 'none'` (W3C CSP Level 3 §8.3: hash sources).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from typing import Final
from urllib.parse import urlsplit

from tidings.sync.presets import ProviderPreset

__all__ = [
    "FormValues",
    "base_csp",
    "needs_app_password",
    "provider_hint",
    "render_message",
    "render_signin",
    "signin_csp",
]

STYLE: Final = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21}
main{max-width:28rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,select{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #8a8f98;
border-radius:4px}
input:focus,select:focus,button:focus,summary:focus{outline:3px solid #2f6fde;outline-offset:1px}
.row{display:flex;gap:.5rem}.row>div{flex:1}.row>div.port{flex:0 0 6rem}
details{margin-top:1.2rem}summary{cursor:pointer;font-weight:600}
fieldset{border:1px solid #d5d8dd;border-radius:4px;margin:.8rem 0;padding:.2rem .8rem .8rem}
.hint{color:#3d424a;font-size:.9rem;margin:.3rem 0}
.error{border-left:4px solid #b3261e;background:#fdecea;padding:.6rem .8rem;margin:0 0 1rem}
button{margin-top:1.4rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;
background:#2f6fde;border:0;border-radius:4px;cursor:pointer}
"""
STYLE_HASH: Final = (
    "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
)

SECURITY_LABELS: Final = {"tls": "SSL/TLS", "starttls": "STARTTLS"}

_PROVIDER_NAMES: Final = {
    "gmail": "Gmail",
    "yahoo": "Yahoo Mail",
    "aol": "AOL Mail",
    "icloud": "iCloud Mail",
    "outlook": "Outlook.com",
    "fastmail": "Fastmail",
}
_APP_PASSWORD_WHERE: Final = {
    "gmail": "Google Account → Security → 2-Step Verification → App passwords",
    "yahoo": "Yahoo Account Security → Generate app password",
    "aol": "AOL Account Security → Generate app password",
    "icloud": "appleid.apple.com → Sign-In and Security → App-Specific Passwords",
    "fastmail": "Fastmail Settings → Privacy & Security → Integrations → New app password",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FormValues:
    """What the form shows in its fields. There is no password here: a page never
    sends a password back to the browser."""

    email: str = ""
    username: str = ""
    imap_host: str = ""
    imap_port: str = ""
    imap_security: str = "tls"
    smtp_host: str = ""
    smtp_port: str = ""
    smtp_security: str = "tls"

    @classmethod
    def from_preset(cls, preset: ProviderPreset, email: str) -> FormValues:
        imap, smtp = preset.imap, preset.smtp
        return cls(
            email=email,
            imap_host=imap.host if imap else "",
            imap_port=str(imap.port) if imap else "",
            imap_security=imap.security.value if imap else "tls",
            smtp_host=smtp.host if smtp else "",
            smtp_port=str(smtp.port) if smtp else "",
            smtp_security=smtp.security.value if smtp else "tls",
        )


def needs_app_password(preset: ProviderPreset) -> bool:
    # Gmail takes a password over IMAP only as an app password, with 2-Step Verification.
    return "app-password-required" in preset.quirks or preset.name == "gmail"


def provider_hint(preset: ProviderPreset) -> str:
    """What to tell the user about passwords for this provider (plain text)."""
    name = _PROVIDER_NAMES.get(preset.name)
    where = _APP_PASSWORD_WHERE.get(preset.name)
    if name and needs_app_password(preset):
        text = (f"{name} does not accept your usual password from mail apps: create an app"
                " password and enter it here.")
        return f"{text} You can make one under {where}." if where else text
    if name:
        return (f"Enter your {name} password. If your account uses two-step verification,"
                " create an app password and use that instead.")
    return ("Enter the password your mail provider gives for mail apps. If it offers app"
            " passwords, use one.")


def base_csp() -> str:
    """The policy of every response: nothing may load, nothing may frame us."""
    return "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"


def signin_csp(redirect_uri: str) -> str:
    """The sign-in page's policy. `form-action` must also allow the redirect URI's
    origin: browsers apply it to the redirect that follows the form's submission."""
    parts = urlsplit(redirect_uri)
    target = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return (f"default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none';"
            f" frame-ancestors 'none'; form-action 'self' {target}")


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def render_message(title: str, text: str) -> str:
    """A page that only says something (not found, bad request)."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def _input(name: str, label: str, value: str, *, kind: str = "text", maxlength: int,
           extra: str = "", hint: str | None = None) -> str:
    described = f' aria-describedby="{name}-hint"' if hint else ""
    hint_html = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>' if hint else ""
    return (f'<label for="{name}">{escape(label)}</label>'
            f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}"'
            f' maxlength="{maxlength}"{described}{extra}>{hint_html}')


def _security(name: str, chosen: str) -> str:
    options = "".join(
        f'<option value="{value}"{" selected" if value == chosen else ""}>{label}</option>'
        for value, label in SECURITY_LABELS.items()
    )
    return (f'<label for="{name}">Security</label>'
            f'<select id="{name}" name="{name}">{options}</select>')


def _server(side: str, title: str, host: str, port: str, security: str) -> str:
    return (
        f"<fieldset><legend>{title}</legend>"
        + _input(f"{side}_host", "Server", host, maxlength=253,
                 extra=' autocomplete="off" autocapitalize="none" spellcheck="false"')
        + '<div class="row"><div class="port">'
        + _input(f"{side}_port", "Port", port, maxlength=5,
                 extra=' inputmode="numeric" pattern="[0-9]*" autocomplete="off"')
        + "</div><div>" + _security(f"{side}_security", security) + "</div></div>"
        + "</fieldset>"
    )


def render_signin(*, preset: ProviderPreset, values: FormValues, csrf_token: str,
                  error: str | None = None) -> str:
    """The sign-in form; `error` (plain text) is shown above it when a try failed."""
    name = _PROVIDER_NAMES.get(preset.name)
    title = f"Connect your {name} account" if name else "Connect your mail account"
    # Without preset hosts the user has to fill them in: show them straight away.
    advanced_open = " open" if not (values.imap_host and values.smtp_host) else ""
    error_html = (f'<div class="error" role="alert"><p>{escape(error)}</p></div>'
                  if error else "")
    body = (
        f"<h1>{escape(title)}</h1>{error_html}"
        '<form method="post" accept-charset="utf-8">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        + _input("email", "Email address", values.email, kind="email", maxlength=254,
                 extra=' required autocomplete="username" autocapitalize="none"'
                       ' spellcheck="false"')
        + _input("password", "App password" if needs_app_password(preset) else "Password",
                 "", kind="password", maxlength=1024,
                 extra=' required autocomplete="current-password"',
                 hint=provider_hint(preset))
        + f"<details{advanced_open}><summary>Advanced</summary>"
        + _input("username", "Username", values.username, maxlength=320,
                 extra=' autocomplete="off" autocapitalize="none" spellcheck="false"',
                 hint="Leave empty to sign in with the email address.")
        + _server("imap", "Incoming mail (IMAP)", values.imap_host, values.imap_port,
                  values.imap_security)
        + _server("smtp", "Outgoing mail (SMTP)", values.smtp_host, values.smtp_port,
                  values.smtp_security)
        + "</details>"
        '<button type="submit">Connect</button></form>'
    )
    return _page(title, body)
