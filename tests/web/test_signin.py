"""The sign-in pages over real HTTP, as a browser uses them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.web.browser import field_types, form_fields
from tests.web.conftest import REDIRECT, RIGHT_PASSWORD, Site, pkce_pair
from tidings.service.errors import PreconditionFailed
from tidings.web.signin import MAX_BODY


async def open_page(site: Site, *, provider: str | None = "yahoo",
                    hint: str | None = "ada@yahoo.com", state: str | None = "st-1",
                    challenge: str | None = None) -> tuple[str, httpx.Response]:
    url = await site.hosted.start(site.connector.id, REDIRECT, provider, hint, state,
                                  challenge, "S256" if challenge else None)
    path = urlsplit(url).path
    return path, await site.client.get(path)


def assert_secure_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    assert "script-src" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_whole_flow_as_a_browser(site: Site) -> None:
    verifier, challenge = pkce_pair()
    path, page = await open_page(site, challenge=challenge)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert_secure_headers(page)
    csp = page.headers["content-security-policy"]
    assert "style-src 'sha256-" in csp
    assert "form-action 'self' https://app.example" in csp
    fields = form_fields(page.text)
    assert fields["imap_host"] == "imap.mail.yahoo.com"
    assert fields["imap_port"] == "993"
    assert fields["imap_security"] == "tls"
    assert fields["smtp_host"] == "smtp.mail.yahoo.com"
    assert fields["smtp_port"] == "465"
    assert fields["email"] == "ada@yahoo.com"
    assert fields["password"] == ""
    assert len(fields["csrf_token"]) >= 32
    assert field_types(page.text)["csrf_token"] == "hidden"
    assert "<details><summary>Advanced</summary>" in page.text
    assert "app password" in page.text
    assert "<script" not in page.text

    fields["password"] = RIGHT_PASSWORD
    answer = await site.client.post(path, data=fields)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st-1"]
    grant = await site.hosted.exchange(query["code"][0], redirect_uri=REDIRECT,
                                       code_verifier=verifier)
    assert grant == await site.store.get_grant(grant.id)
    assert (grant.email, grant.provider_type, grant.imap.host) == (
        "ada@yahoo.com", "yahoo", "imap.mail.yahoo.com")
    with pytest.raises(PreconditionFailed):
        await site.hosted.exchange(query["code"][0], redirect_uri=REDIRECT,
                                   code_verifier=verifier)
    # The session is over: its page is gone.
    assert (await site.client.get(path)).status_code == 404


async def test_a_wrong_password_shows_the_form_again(site: Site) -> None:
    path, page = await open_page(site)
    fields = form_fields(page.text)
    fields.update(password="not-the-password-4711", username="ada.l",
                  imap_host="imap.example.net", imap_port="1993", imap_security="starttls")
    answer = await site.client.post(path, data=fields)
    assert answer.status_code == 422
    assert_secure_headers(answer)
    assert "IMAP login failed: [AUTHENTICATIONFAILED] Authentication failed." in answer.text
    assert 'role="alert"' in answer.text
    assert "not-the-password-4711" not in answer.text
    again = form_fields(answer.text)
    assert again["password"] == ""
    assert (again["email"], again["username"], again["imap_host"], again["imap_port"],
            again["imap_security"]) == (
        "ada@yahoo.com", "ada.l", "imap.example.net", "1993", "starttls")
    (auth,) = site.accounts.calls
    assert (auth.imap_username, auth.imap_host, auth.imap_port, auth.imap_security) == (
        "ada.l", "imap.example.net", 1993, "starttls")
    # The same page still works with the right password.
    again["password"] = RIGHT_PASSWORD
    assert (await site.client.post(path, data=again)).status_code == 303


async def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    path, page = await open_page(site)
    fields = form_fields(page.text)
    fields["password"] = RIGHT_PASSWORD
    token = fields.pop("csrf_token")
    missing = await site.client.post(path, data=fields)
    assert missing.status_code == 400
    assert_secure_headers(missing)
    wrong = await site.client.post(path, data={**fields, "csrf_token": token[:-1] + "x"})
    assert wrong.status_code == 400
    # Another session's token does not fit either.
    other_path, other_page = await open_page(site)
    other_token = form_fields(other_page.text)["csrf_token"]
    crossed = await site.client.post(path, data={**fields, "csrf_token": other_token})
    assert crossed.status_code == 400
    assert other_path != path
    assert site.accounts.calls == []


async def test_unknown_and_expired_sessions_are_not_found(site: Site) -> None:
    assert (await site.client.get("/auth/no-such-session")).status_code == 404
    assert (await site.client.get("/auth/" + "x" * 500)).status_code == 404
    path, page = await open_page(site)
    fields = form_fields(page.text)
    fields["password"] = RIGHT_PASSWORD
    site.clock.now += 601
    gone = await site.client.get(path)
    assert gone.status_code == 404
    assert "expired" in gone.text
    assert_secure_headers(gone)
    assert (await site.client.post(path, data=fields)).status_code == 404
    assert site.accounts.calls == []


async def test_fields_and_bodies_are_bounded(site: Site) -> None:
    path, page = await open_page(site)
    fields = form_fields(page.text)
    fields["password"] = RIGHT_PASSWORD
    long_email = await site.client.post(path, data={**fields, "email": "a" * 250 + "@x.org"})
    assert long_email.status_code == 422
    assert "Email address: at most 254 characters" in long_email.text
    bad_port = await site.client.post(path, data={**fields, "imap_port": "99x"})
    assert bad_port.status_code == 422
    assert "IMAP port: must be a number" in bad_port.text
    bad_security = await site.client.post(path, data={**fields, "smtp_security": "plain"})
    assert bad_security.status_code == 422
    huge = await site.client.post(path, data={**fields, "password": "p" * (MAX_BODY + 1)})
    assert huge.status_code == 413
    json_body = await site.client.post(path, json=fields)
    assert json_body.status_code == 415
    many = "&".join(f"f{i}=1" for i in range(100))
    crowded = await site.client.post(
        path, content=many, headers={"content-type": "application/x-www-form-urlencoded"})
    assert crowded.status_code == 400
    assert site.accounts.calls == []


async def test_everything_shown_is_escaped(site: Site) -> None:
    hint = '"><script>alert(1)</script>@x.org'
    path, page = await open_page(site, provider=None, hint=hint)
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert form_fields(page.text)["email"] == hint
    fields = form_fields(page.text)
    fields.update(password="nope", imap_host="<b>bold</b>")
    answer = await site.client.post(path, data=fields)
    assert "<b>bold</b>" not in answer.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in answer.text


async def test_a_generic_provider_opens_the_advanced_section(site: Site) -> None:
    _path, page = await open_page(site, provider=None, hint="ada@example.org")
    fields = form_fields(page.text)
    assert fields["imap_host"] == fields["smtp_host"] == ""
    assert "<details open><summary>Advanced</summary>" in page.text
    _path, gmail = await open_page(site, provider=None, hint="ada@gmail.com")
    assert form_fields(gmail.text)["imap_host"] == "imap.gmail.com"
    assert "App passwords" in gmail.text


async def test_other_paths_and_methods(site: Site) -> None:
    missing = await site.client.get("/nothing-here")
    assert missing.status_code == 404
    assert_secure_headers(missing)
    path, _page = await open_page(site)
    assert (await site.client.put(path)).status_code == 405
    assert (await site.client.post("/healthz")).status_code == 405
    assert (await site.client.head(path)).status_code == 200

