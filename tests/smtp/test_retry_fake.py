"""send_with_retry and verify_login, one scripted server per connection attempt."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.smtp.fakeserver import Script, ScriptedServer, connector, params
from tidings.smtp import (
    SmtpAuthError,
    SmtpConnectionLost,
    SmtpDeliveryUnknown,
    SmtpReplyError,
    backoff_delay,
    send_with_retry,
    verify_login,
)

MESSAGE = b"Subject: retry\r\n\r\nbody\r\n"


async def login_ok(server: ScriptedServer) -> None:
    await server.expect("AUTH PLAIN")
    await server.send("235 2.7.0 ok")


async def delivered(server: ScriptedServer) -> None:
    await login_ok(server)
    for _ in range(3):
        await server.read_line()
    await server.send("250 ok", "250 ok", "354 go")
    await server.read_data()
    await server.send("250 2.0.0 queued as FINAL")


async def transient_at_mail(server: ScriptedServer) -> None:
    await login_ok(server)
    for _ in range(3):
        await server.read_line()
    await server.send("451 4.3.2 system busy", "503 need MAIL", "503 need MAIL")


async def test_transient_failures_are_retried_with_backoff(
        autojump_clock: trio.testing.MockClock) -> None:
    scripts: list[Script] = [transient_at_mail, transient_at_mail, delivered]
    start = trio.current_time()
    result = await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                                   attempts=3, base_delay=10.0, connect=connector(scripts))
    assert result.reply == "queued as FINAL" and not scripts
    # Two waits: 5..10 s, then 10..20 s.
    assert 15.0 <= trio.current_time() - start <= 30.0


async def test_lost_connection_is_retried(autojump_clock: trio.testing.MockClock) -> None:
    async def drop(server: ScriptedServer) -> None:
        await server.expect("AUTH")
        await server.stream.aclose()

    scripts: list[Script] = [drop, delivered]
    result = await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                                   connect=connector(scripts))
    assert result.accepted == ("b@x.org",) and not scripts


async def test_permanent_failure_is_raised_at_once() -> None:
    async def rejected(server: ScriptedServer) -> None:
        await login_ok(server)
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.send("554 5.7.1 rejected by policy: attachment type")

    scripts: list[Script] = [rejected, delivered]
    with pytest.raises(SmtpReplyError) as info:
        await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                              connect=connector(scripts))
    assert info.value.text == "rejected by policy: attachment type"
    assert len(scripts) == 1  # no second connection


async def test_last_transient_failure_is_raised(autojump_clock: trio.testing.MockClock) -> None:
    scripts: list[Script] = [transient_at_mail, transient_at_mail]
    with pytest.raises(SmtpReplyError) as info:
        await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                              attempts=2, connect=connector(scripts))
    assert info.value.code == 451 and not scripts


async def test_wrong_password_is_not_retried() -> None:
    async def refuse(server: ScriptedServer) -> None:
        await server.expect("AUTH")
        await server.send("535 5.7.8 bad credentials")

    scripts: list[Script] = [refuse, delivered]
    with pytest.raises(SmtpAuthError):
        await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                              connect=connector(scripts))
    assert len(scripts) == 1


async def test_delivery_unknown_is_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    async def vanish(server: ScriptedServer) -> None:
        await login_ok(server)
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.stream.aclose()

    scripts: list[Script] = [vanish, delivered]
    with pytest.raises(SmtpDeliveryUnknown) as info:
        await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                              connect=connector(scripts))
    assert isinstance(info.value.__cause__, SmtpConnectionLost)
    assert len(scripts) == 1


async def test_empty_username_sends_without_auth() -> None:
    async def no_auth(server: ScriptedServer) -> None:
        assert (await server.read_line()).startswith(b"MAIL")
        await server.read_line()
        await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.send("250 ok")

    await send_with_retry(params(), "", "", "a@x.org", ["b@x.org"], MESSAGE,
                          connect=connector([no_auth]))


async def test_verify_login() -> None:
    async def check(server: ScriptedServer) -> None:
        await login_ok(server)
        await server.expect("QUIT")
        await server.send("221 bye")

    await verify_login(params(), "bob", "pw", connect=connector([check]))

    async def refuse(server: ScriptedServer) -> None:
        await server.expect("AUTH")
        await server.send("535 5.7.8 no")

    with pytest.raises(SmtpAuthError):
        await verify_login(params(), "bob", "pw", connect=connector([refuse]))


def test_backoff_grows_and_jitters() -> None:
    for attempt, (low, high) in enumerate([(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)], start=1):
        delays = {backoff_delay(attempt, 1.0) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1


async def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        await send_with_retry(params(), "bob", "pw", "a@x.org", ["b@x.org"], MESSAGE,
                              attempts=0, connect=connector([]))
