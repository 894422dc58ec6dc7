"""The client against a scripted server over memory streams: the exchange, and every
way a server can misbehave."""

from __future__ import annotations

import base64
from contextlib import aclosing

import pytest
import trio
import trio.testing

from tests.imap.fakeserver import CAPS, ScriptedServer, fake_imap, params
from tidings.imap.errors import (
    AuthError,
    CommandError,
    ConnectionLost,
    ImapTimeout,
    LimitExceeded,
    ProtocolError,
    ServerBye,
    ServerNo,
    TlsRequired,
)
from tidings.imap.responses import Condition, Exists, Expunge, Fetch


async def test_login_select_fetch_with_literals() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("LOGIN")
        assert cmd.raw == f'{cmd.tag} LOGIN joe "p w"'.encode()
        await s.ok(cmd, text=f"[CAPABILITY {CAPS} X-AFTER-AUTH] welcome")
        cmd = await s.expect("SELECT")
        assert cmd.raw.endswith(b" SELECT INBOX (CONDSTORE)")
        await s.ok(
            cmd,
            "* 3 EXISTS",
            "* 0 RECENT",
            "* FLAGS (\\Answered \\Seen \\Deleted)",
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited",
            "* OK [UIDVALIDITY 3857529045] UIDs valid",
            "* OK [UIDNEXT 4392] Predicted next UID",
            "* OK [HIGHESTMODSEQ 715194045007] Highest",
            text="[READ-WRITE] SELECT completed",
        )
        cmd = await s.expect("UID FETCH")
        assert cmd.raw.endswith(b" UID FETCH 1:2 (UID FLAGS BODY.PEEK[])")
        await s.send_raw(
            b"* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[] {12}\r\nhello\r\nworld)\r\n"
            b"* 9 FETCH (FLAGS (\\Flagged))\r\n* 4 EXISTS\r\n"
            b"* 2 FETCH (UID 2 FLAGS () BODY[] {0}\r\n)\r\n"
            + f"{cmd.tag} OK done\r\n".encode()
        )

    async with fake_imap(script) as (client, _server):
        await client.login("joe", "p w")
        assert client.has("x-after-auth") and client.authenticated
        box = await client.select("inbox", condstore=True)
        assert (box.exists, box.uidvalidity, box.uidnext) == (3, 3857529045, 4392)
        assert box.highestmodseq == 715194045007 and not box.readonly
        assert box.permanentflags == ("\\Deleted", "\\Seen", "\\*")
        got = [f async for f in client.uid_fetch([2, 1], ["UID", "FLAGS", "BODY.PEEK[]"])]
        assert [(f.uid, f.sections["BODY[]"]) for f in got] == [
            (1, b"hello\r\nworld"), (2, b"")]
        late = client.drain_unsolicited()
        assert late == [Fetch(seq=9, flags=("\\Flagged",)), Exists(4)]
        assert client.drain_unsolicited() == []


@pytest.mark.parametrize("code", ["LIMIT", "UNAVAILABLE"])
async def test_no_carries_its_code_and_the_connection_survives(code: str) -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("STATUS")
        await s.send(f"{cmd.tag} NO [{code}] try later")

    async with fake_imap(script) as (client, _server):
        with pytest.raises(ServerNo) as info:
            await client.status("INBOX")
        assert (info.value.code, info.value.text, info.value.command) == (
            code, "try later", "STATUS")
        await client.noop()


async def test_bye_mid_command() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("NOOP")
        await s.send("* BYE [UNAVAILABLE] shutting down")
        await s.wait_closed()

    async with fake_imap(script) as (client, server):
        with pytest.raises(ServerBye) as info:
            await client.noop()
        assert info.value.code == "UNAVAILABLE"
        with pytest.raises(ConnectionLost):
            await client.noop()
    assert server.closed


async def test_server_vanishes_mid_literal() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("UID FETCH")
        await s.send_raw(b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly a part")
        await s.stream.aclose()

    async with fake_imap(script) as (client, _server):
        with pytest.raises(ConnectionLost, match="middle of a response"):
            async for _ in client.uid_fetch([1], ["BODY.PEEK[]"]):
                pass


async def test_huge_literal_is_refused_on_its_header() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("UID FETCH")
        await s.send_raw(b"* 1 FETCH (UID 1 BODY[] {4294967296}\r\n")
        await s.wait_closed()

    async with fake_imap(script) as (client, server):
        with pytest.raises(LimitExceeded) as info:
            async for _ in client.uid_fetch([1], ["BODY.PEEK[]"]):
                pass
        assert info.value.limit == "literal size"
        assert client._transport.broken is not None
    assert server.closed


async def test_endless_line_stops_with_bounded_memory() -> None:
    sent = 0
    chunk = b"x" * (1024 * 1024)

    async def script(s: ScriptedServer) -> None:
        nonlocal sent
        await s.expect("NOOP")
        await s.send_raw(b"* OK ")
        for _ in range(100):  # a 100 MB line, if the client kept reading
            await s.send_raw(chunk)  # lockstep: returns once the client took it all
            sent += len(chunk)

    async with fake_imap(script, lockstep=True) as (client, _server):
        with pytest.raises(LimitExceeded) as info:
            await client.noop()
    assert info.value.limit in ("line length", "buffered octets")
    # The client gave up at its 16 MB line limit, not after 100 MB.
    assert sent <= client.params.limits.max_line + len(chunk)


async def test_deep_nesting_is_a_protocol_error() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("NOOP")
        await s.send(b"* XNEST " + b"(" * 10_000 + b")" * 10_000, f"{cmd.tag} OK")
        await s.wait_closed()

    async with fake_imap(script) as (client, _server):
        with pytest.raises(ProtocolError):
            await client.noop()


async def test_starttls_injection_is_refused_before_tls() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("STARTTLS")
        # The OK and a forged capability in one write: a man in the middle's trick.
        await s.send_raw(f"{cmd.tag} OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
                         .encode())
        await s.wait_closed()
        assert s.received == len(f"{cmd.tag} STARTTLS\r\n")  # no TLS hello was sent

    with pytest.raises(ProtocolError, match="injection"):
        async with fake_imap(script, connect=params(security="starttls"),
                             greeting="* OK [CAPABILITY IMAP4rev1 STARTTLS] hi"):
            pass


async def test_starttls_upgrades_after_a_clean_ok() -> None:
    hello = b""

    async def script(s: ScriptedServer) -> None:
        nonlocal hello
        cmd = await s.expect("STARTTLS")
        await s.send(f"{cmd.tag} OK Begin TLS")
        await s._fill()
        hello = bytes(s._buf)
        await s.stream.aclose()

    with pytest.raises(ConnectionLost, match="TLS handshake"):
        async with fake_imap(script, connect=params(security="starttls"),
                             greeting="* OK [CAPABILITY IMAP4rev1 STARTTLS] hi"):
            pass
    assert hello[:1] == b"\x16"  # a TLS handshake record: the client began TLS


@pytest.mark.parametrize("greeting", ["* OK [CAPABILITY IMAP4rev1] no tls here",
                                      "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi"])
async def test_starttls_never_falls_back_to_clear_text(greeting: str) -> None:
    async def script(s: ScriptedServer) -> None:
        if "PREAUTH" not in greeting:
            cmd = await s.expect("CAPABILITY")
            await s.ok(cmd, "* CAPABILITY IMAP4rev1")

    with pytest.raises(TlsRequired):
        async with fake_imap(script, connect=params(security="starttls"),
                             greeting=greeting):
            pass


async def test_timeout(autojump_clock: trio.testing.MockClock) -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("NOOP")
        await s.wait_closed()  # never answers

    async with fake_imap(script, connect=params(timeout=30.0)) as (client, server):
        start = trio.current_time()
        with pytest.raises(ImapTimeout):
            await client.noop()
        assert trio.current_time() - start == pytest.approx(30.0)
        with pytest.raises(ConnectionLost):
            await client.noop()
    assert server.closed


async def test_plaintext_login_refused_without_allow_plaintext() -> None:
    seen: list[str] = []

    async def script(s: ScriptedServer) -> None:
        cmd = await s.read_command()
        seen.append(cmd.name)
        await s.send("* BYE", f"{cmd.tag} OK bye")

    async with fake_imap(script, connect=params(allow_plaintext=False)) as (client, _s):
        with pytest.raises(TlsRequired):
            await client.login("joe", "secret")
        with pytest.raises(TlsRequired):
            await client.authenticate_plain("joe", "secret")
        with pytest.raises(TlsRequired):
            await client.authenticate_xoauth2("joe", "token")
    assert seen == ["LOGOUT"]  # the credentials never left


async def _nothing(s: ScriptedServer) -> None:
    pass


async def test_logindisabled_is_respected() -> None:
    greeting = "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi"
    async with fake_imap(_nothing, greeting=greeting) as (c, _s):
        with pytest.raises(AuthError, match="LOGINDISABLED"):
            await c.login("joe", "secret")


async def test_wrong_password() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("LOGIN")
        await s.send(f"{cmd.tag} NO [AUTHENTICATIONFAILED] Authentication failed.")

    async with fake_imap(script) as (client, _server):
        with pytest.raises(AuthError) as info:
            await client.login("joe", "wrong")
        assert info.value.code == "AUTHENTICATIONFAILED"
        assert not client.authenticated


async def test_authenticate_plain_with_and_without_sasl_ir() -> None:
    expected = base64.b64encode(b"\x00joe\x00secret").decode()

    async def with_ir(s: ScriptedServer) -> None:
        cmd = await s.expect("AUTHENTICATE")
        assert cmd.raw == f"{cmd.tag} AUTHENTICATE PLAIN {expected}".encode()
        await s.ok(cmd, text=f"[CAPABILITY {CAPS}] ok")

    async with fake_imap(with_ir) as (client, _server):
        await client.authenticate_plain("joe", "secret")
        assert client.authenticated

    async def without_ir(s: ScriptedServer) -> None:
        cmd = await s.expect("AUTHENTICATE")
        assert cmd.raw == f"{cmd.tag} AUTHENTICATE PLAIN".encode()
        await s.send("+ ")
        assert await s.read_line() == expected.encode()
        await s.ok(cmd)  # no capability code: the client asks
        await s.ok(await s.expect("CAPABILITY"), "* CAPABILITY IMAP4rev1 IDLE")

    async with fake_imap(without_ir, greeting="* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi"
                         ) as (client, _server):
        await client.authenticate_plain("joe", "secret")
        assert client.capabilities == frozenset({"IMAP4REV1", "IDLE"})


async def test_xoauth2_failure_reports_the_servers_reason() -> None:
    error = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()

    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("AUTHENTICATE")
        payload = cmd.raw.split(b" ")[3]
        assert base64.b64decode(payload) == b"user=joe\x01auth=Bearer tok\x01\x01"
        await s.send(f"+ {error}")
        assert await s.read_line() == b""  # the empty reply XOAUTH2 expects
        await s.send(f"{cmd.tag} NO [AUTHENTICATIONFAILED] Invalid credentials")

    async with fake_imap(script) as (client, _server):
        with pytest.raises(AuthError, match='"status":"401"'):
            await client.authenticate_xoauth2("joe", "tok")


async def test_uid_fetch_pipelines_batches() -> None:
    async def script(s: ScriptedServer) -> None:
        # Three batches arrive before any is answered: the client pipelines.
        first = [await s.expect("UID FETCH") for _ in range(3)]
        assert [c.raw.split(b" ")[3] for c in first] == [b"1:2", b"3:4", b"10,12"]
        await s.ok(first[0], "* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())")
        fourth = await s.expect("UID FETCH")  # sent once a slot was free
        assert fourth.raw.split(b" ")[3] == b"13"
        await s.ok(first[1], "* 3 FETCH (UID 3 FLAGS ())", "* 4 FETCH (UID 4 FLAGS ())")
        await s.ok(first[2], "* 5 FETCH (UID 10 FLAGS ())", "* 6 FETCH (UID 12 FLAGS ())")
        await s.ok(fourth, "* 7 FETCH (UID 13 FLAGS ())")

    async with fake_imap(script) as (client, _server):
        uids = [f.uid async for f in client.uid_fetch([1, 2, 3, 4, 10, 12, 13], "FLAGS",
                                                      batch=2)]
        assert uids == [1, 2, 3, 4, 10, 12, 13]
        await client.noop()


async def test_uid_fetch_stopped_early_keeps_the_connection_usable() -> None:
    async def script(s: ScriptedServer) -> None:
        cmds = [await s.expect("UID FETCH") for _ in range(3)]
        for i, cmd in enumerate(cmds):
            await s.ok(cmd, f"* {i + 1} FETCH (UID {i + 1} FLAGS ())")

    async with fake_imap(script) as (client, _server):
        async with aclosing(client.uid_fetch(range(1, 11), "FLAGS", batch=1)) as stream:
            async for fetched in stream:
                assert fetched.uid == 1
                break
        await client.noop()


async def test_uid_fetch_failure_after_delivering_the_rest() -> None:
    async def script(s: ScriptedServer) -> None:
        a = await s.expect("UID FETCH")
        b = await s.expect("UID FETCH")
        await s.send(f"{a.tag} NO [UNAVAILABLE] busy")
        await s.ok(b, "* 2 FETCH (UID 2 FLAGS ())")

    async with fake_imap(script) as (client, _server):
        got: list[int | None] = []
        with pytest.raises(ServerNo, match="busy"):
            async for fetched in client.uid_fetch([1, 2], "FLAGS", batch=1):
                got.append(fetched.uid)
        assert got == [2]
        await client.noop()


async def test_one_command_at_a_time() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("NOOP")
        await trio.testing.wait_all_tasks_blocked()  # the second call has been refused
        await s.ok(cmd)

    async with fake_imap(script) as (client, _server):
        errors: list[Exception] = []

        async def second() -> None:
            try:
                await client.noop()
            except CommandError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.noop)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(second)
        assert len(errors) == 1 and "one command at a time" in str(errors[0])


async def test_cancelled_command_leaves_the_connection_unusable() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("NOOP")
        await s.wait_closed()

    async with fake_imap(script) as (client, _server):
        with trio.move_on_after(0.01):
            await client.noop()
        with pytest.raises(ConnectionLost, match="interrupted"):
            await client.noop()


async def test_noop_collects_unsolicited_updates() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("NOOP")
        await s.ok(cmd, "* 3 EXPUNGE", "* 4 EXISTS", "* OK [ALERT] quota soon")

    async with fake_imap(script) as (client, _server):
        await client.noop()
        got = client.drain_unsolicited()
        assert got[:2] == [Expunge(3), Exists(4)]
        assert isinstance(got[2], Condition) and got[2].code is not None
        assert got[2].code.name == "ALERT"


async def test_unsolicited_queue_is_bounded() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("NOOP")
        await s.ok(cmd, *[f"* {n} EXISTS" for n in range(1, 11)])

    async with fake_imap(script, connect=params(max_unsolicited=4)) as (client, _s):
        await client.noop()
        assert client.drain_unsolicited() == [Exists(n) for n in (7, 8, 9, 10)]
        assert client.unsolicited_dropped == 6
