"""IDLE against a scripted server, on a mock clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.imap.fakeserver import ScriptedServer, fake_imap
from tidings.imap.errors import CommandError, ConnectionLost, ServerBye
from tidings.imap.responses import Exists, Expunge


async def test_idle_pushes_timeout_and_done(autojump_clock: trio.testing.MockClock) -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("IDLE")
        await s.send("* 2 EXPUNGE", "+ idling")
        await s.send("* 5 EXISTS", "* 6 EXISTS")
        assert await s.read_line() == b"DONE"
        await s.send("* 7 EXISTS", f"{cmd.tag} OK IDLE terminated")

    async with fake_imap(script) as (client, _server):
        async with client.idle() as pushes:
            first = await pushes.next(60)
            assert first[0] == Expunge(2)  # arrived before "+": not lost
            rest = first[1:] or await pushes.next(60)
            while len(rest) < 2:
                rest += await pushes.next(60)
            assert rest == [Exists(5), Exists(6)]
            start = trio.current_time()
            assert await pushes.next(90) == []
            assert trio.current_time() - start == pytest.approx(90)
            assert not pushes.expired
        # Pushed after DONE, before the OK: kept for the caller.
        assert client.drain_unsolicited() == [Exists(7)]
        await client.noop()


async def test_idle_never_exceeds_max_idle(autojump_clock: trio.testing.MockClock) -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("IDLE")
        await s.send("+ idling")
        assert await s.read_line() == b"DONE"
        await s.ok(cmd)

    async with fake_imap(script) as (client, _server):
        start = trio.current_time()
        async with client.idle(max_idle=25 * 60) as pushes:
            while not pushes.expired:
                assert await pushes.next(600) == []
            assert await pushes.next(600) == []  # returns at once once expired
        assert trio.current_time() - start == pytest.approx(25 * 60)


async def test_bye_during_idle(autojump_clock: trio.testing.MockClock) -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("IDLE")
        await s.send("+ idling")
        await trio.sleep(100)
        await s.send("* BYE idle for too long")
        await s.wait_closed()

    async with fake_imap(script) as (client, _server):
        with pytest.raises(ServerBye, match="too long"):
            async with client.idle() as pushes:
                while True:
                    await pushes.next(60)
        with pytest.raises(ConnectionLost):
            await client.noop()


async def test_cancelled_idle_still_sends_done(autojump_clock: trio.testing.MockClock) -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("IDLE")
        await s.send("+ idling")
        assert await s.read_line() == b"DONE"
        await s.ok(cmd)

    async with fake_imap(script) as (client, _server):
        with trio.move_on_after(10):
            async with client.idle() as pushes:
                await pushes.next(3600)
        await client.noop()  # the connection is still in step


async def test_idle_needs_the_capability() -> None:
    async def script(s: ScriptedServer) -> None:
        pass

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1] hi") as (client, _s):
        with pytest.raises(CommandError, match="NOOP"):
            async with client.idle():
                pass
