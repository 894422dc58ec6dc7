"""Connection setup and authentication against a scripted server on memory streams."""

from __future__ import annotations

import base64
import logging

import pytest
import structlog
import structlog.testing
import trio
import trio.testing

from tests.smtp.fakeserver import ScriptedServer, ehlo_lines, fake_smtp, params
from tidings.smtp import (
    SmtpAuthError,
    SmtpCommandError,
    SmtpConnectionLost,
    SmtpNotSupported,
    SmtpProtocolError,
    SmtpReplyError,
    SmtpTimeout,
    SmtpTlsRequired,
    start_session,
)
from tidings.smtp.transport import SmtpTransport


async def test_greeting_and_extensions() -> None:
    async with fake_smtp(extensions=["PIPELINING", "SIZE 12345", "AUTH=LOGIN",
                                     "AUTH PLAIN LOGIN"]) as (client, server):
        assert client.greeting == "fake.test ESMTP ready"
        assert client.has("pipelining") and client.max_size == 12345
        assert client.auth_mechanisms == {"PLAIN", "LOGIN"}
        assert server.lines == [b"EHLO tidings.localdomain"]
    assert server.lines[-1] == b"QUIT"


async def test_size_zero_means_no_limit() -> None:
    async with fake_smtp(extensions=["SIZE 0"]) as (client, _server):
        assert client.has("SIZE") and client.max_size is None


async def test_refused_greeting() -> None:
    with pytest.raises(SmtpReplyError) as info:
        async with fake_smtp(greeting="554 5.3.2 no service for you", extensions=None):
            pass
    assert info.value.command == "CONNECT" and info.value.code == 554
    assert info.value.text == "no service for you" and info.value.permanent


async def test_helo_fallback_when_ehlo_is_unknown() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("EHLO")
        await server.send("502 5.5.1 what is EHLO")
        await server.expect("HELO tidings.localdomain")
        await server.send("250 fake.test")

    async with fake_smtp(script, extensions=None) as (client, _server):
        assert client.extensions == {} and client.max_size is None


async def test_starttls_injection_drops_the_connection() -> None:
    """RFC 3207 §4.2 / CVE-2011-0411: octets after the 220 to STARTTLS were sent in
    clear text and could be forged; the client must not treat them as TLS replies."""

    async def script(server: ScriptedServer) -> None:
        await server.ehlo(["STARTTLS", "AUTH PLAIN"])
        await server.expect("STARTTLS")
        await server.send("220 2.0.0 go ahead", "250 2.0.0 injected reply")

    with pytest.raises(SmtpProtocolError, match="after the STARTTLS reply"):
        async with fake_smtp(script, connect=params(security="starttls"), extensions=None):
            pass


async def test_starttls_missing_is_refused_not_downgraded() -> None:
    with pytest.raises(SmtpTlsRequired, match="does not offer STARTTLS"):
        async with fake_smtp(connect=params(security="starttls"), extensions=["AUTH PLAIN"]):
            pass


async def test_starttls_refused_by_the_server() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.ehlo(["STARTTLS"])
        await server.expect("STARTTLS")
        await server.send("454 4.7.0 TLS not available now")

    with pytest.raises(SmtpReplyError) as info:
        async with fake_smtp(script, connect=params(security="starttls"), extensions=None):
            pass
    assert info.value.command == "STARTTLS" and info.value.transient


async def test_plaintext_auth_refused_unless_allowed() -> None:
    async with fake_smtp(connect=params(allow_plaintext=False)) as (client, server):
        with pytest.raises(SmtpTlsRequired, match="unencrypted"):
            await client.login("bob", "secret")
        assert not client.authenticated
        await client.noop()  # still usable: nothing was sent
    assert server.lines == [b"EHLO tidings.localdomain", b"NOOP", b"QUIT"]


async def test_auth_plain_with_initial_response() -> None:
    async def script(server: ScriptedServer) -> None:
        line = await server.expect("AUTH PLAIN ")
        assert base64.b64decode(line.split()[2]) == b"\x00bob\x00s3cret"
        await server.send("235 2.7.0 welcome")

    async with fake_smtp(script) as (client, _server):
        await client.login("bob", "s3cret")
        assert client.authenticated
        with pytest.raises(SmtpCommandError, match="already authenticated"):
            await client.login("bob", "s3cret")


async def test_auth_login_when_plain_is_not_offered() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("AUTH LOGIN")
        await server.send("334 VXNlcm5hbWU6")
        assert base64.b64decode(await server.read_line()) == b"bob"
        await server.send("334 UGFzc3dvcmQ6")
        assert base64.b64decode(await server.read_line()) == b"s3cret"
        await server.send("235 2.7.0 ok")

    async with fake_smtp(script, extensions=["AUTH LOGIN CRAM-MD5"]) as (client, _server):
        await client.login("bob", "s3cret")
        assert client.authenticated


async def test_auth_failure_carries_the_server_words() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("AUTH PLAIN")
        await server.send("535 5.7.8 Username and Password not accepted")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpAuthError) as info:
            await client.login("bob", "wrong")
        assert (info.value.code, info.value.enhanced) == (535, "5.7.8")
        assert info.value.text == "Username and Password not accepted"
        assert info.value.permanent and not client.authenticated
        await client.noop()


async def test_auth_plain_challenge_is_cancelled() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("AUTH PLAIN")
        await server.send("334 ")
        assert await server.read_line() == b"*"
        await server.send("501 5.7.0 cancelled")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpAuthError) as info:
            await client.login("bob", "pw")
        assert info.value.code == 501


async def test_no_usable_mechanism() -> None:
    async with fake_smtp(extensions=["AUTH CRAM-MD5"]) as (client, _server):
        with pytest.raises(SmtpNotSupported, match="CRAM-MD5"):
            await client.login("bob", "pw")
    async with fake_smtp(extensions=["PIPELINING"]) as (client, _server):
        with pytest.raises(SmtpNotSupported, match="does not offer AUTH"):
            await client.login("bob", "pw")


async def test_xoauth2_success_and_error_report() -> None:
    error = base64.b64encode(b'{"status":"401","schemes":"Bearer"}').decode()

    async def script(server: ScriptedServer) -> None:
        line = await server.expect("AUTH XOAUTH2 ")
        assert base64.b64decode(line.split()[2]) == b"user=bob\x01auth=Bearer tok\x01\x01"
        await server.send(f"334 {error}")
        assert await server.read_line() == b""
        await server.send("535 5.7.8 bad token")

    async with fake_smtp(script, extensions=["AUTH PLAIN XOAUTH2"]) as (client, _server):
        with pytest.raises(SmtpAuthError) as info:
            await client.authenticate_xoauth2("bob", "tok")
        assert '"status":"401"' in info.value.text and "bad token" in info.value.text

    async def accept(server: ScriptedServer) -> None:
        await server.expect("AUTH XOAUTH2 ")
        await server.send("235 2.7.0 accepted")

    async with fake_smtp(accept, extensions=["AUTH XOAUTH2"]) as (client, _server):
        await client.authenticate_xoauth2("bob", "tok")
        assert client.authenticated


async def test_greeting_timeout(autojump_clock: trio.testing.MockClock) -> None:
    client_stream, _server_stream = trio.testing.memory_stream_pair()
    transport = SmtpTransport(client_stream, tls=False, timeout=30)
    with pytest.raises(SmtpTimeout):
        await start_session(transport, params(timeout=30))
    assert transport.broken is not None
    assert trio.current_time() == pytest.approx(30)


async def test_reply_timeout_breaks_the_connection(
        autojump_clock: trio.testing.MockClock) -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("NOOP")
        await server.hang()

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpTimeout):
            await client.noop()
        assert client.broken is not None
        with pytest.raises(SmtpConnectionLost):
            await client.noop()


async def test_server_closing_mid_reply() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("NOOP")
        await server.stream.send_all(b"250-half a reply\r\n")
        await server.stream.aclose()

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpConnectionLost):
            await client.noop()


async def test_421_closes_the_session() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("NOOP")
        await server.send("421 4.4.2 idle too long, closing")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpReplyError) as info:
            await client.noop()
        assert info.value.code == 421 and info.value.transient
        assert client.broken is not None


async def test_cancelled_command_leaves_the_connection_broken() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("NOOP")
        await server.hang()

    async with fake_smtp(script) as (client, server):
        scope = trio.CancelScope()

        async def noop() -> None:
            with scope:
                await client.noop()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(noop)
            await trio.testing.wait_all_tasks_blocked()
            scope.cancel()
        assert client.broken is not None
    assert b"QUIT" not in server.lines


async def test_one_command_at_a_time() -> None:
    release = trio.Event()

    async def script(server: ScriptedServer) -> None:
        await server.expect("NOOP")
        await release.wait()
        await server.send("250 ok")

    async with fake_smtp(script) as (client, _server), trio.open_nursery() as nursery:
        nursery.start_soon(client.noop)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(SmtpCommandError, match="in progress"):
            await client.rset()
        release.set()


def test_ehlo_lines_helper() -> None:
    assert ehlo_lines(["A", "B"]) == ["250-fake.test greets you", "250-A", "250 B"]


async def test_secrets_are_never_logged() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("AUTH LOGIN")
        await server.send("334 VXNlcm5hbWU6")
        await server.read_line()
        await server.send("334 UGFzc3dvcmQ6")
        await server.read_line()
        await server.send("235 2.7.0 ok")

    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            async with fake_smtp(script, extensions=["AUTH LOGIN"]) as (client, _server):
                await client.login("bob", "s3cret-pw")
    finally:
        structlog.configure(**saved)
    assert {"event": "smtp.command", "verb": "AUTH", "host": "fake.test",
            "log_level": "debug"} in logs
    text = repr(logs)
    for secret in ("s3cret-pw", base64.b64encode(b"s3cret-pw").decode(), "bob"):
        assert secret not in text
