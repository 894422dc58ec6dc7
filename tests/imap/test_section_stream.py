"""stream_section: one body section handed on in pieces as the server sends it."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from tests.imap.fakeserver import ScriptedServer, fake_imap
from tidings.imap import CommandError, ProtocolError, ServerNo
from tidings.imap.responses import Exists, Fetch
from tidings.imap.section_stream import STREAM_FROM, SectionMissing, stream_section

BIG = bytes(range(251)) * 1000  # 251,000 octets: streamed (over STREAM_FROM)


@pytest.mark.parametrize("tcp", [False, True], ids=["memory", "tcp"])
async def test_a_large_section_comes_in_pieces_and_other_responses_are_kept(tcp: bool) -> None:
    """Over TCP, large pieces are read from the socket straight into the piece."""
    assert len(BIG) > STREAM_FROM

    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID FETCH")
        assert cmd.raw.endswith(b" UID FETCH 42 (BODY.PEEK[2])")
        await s.send_raw(b"* 9 FETCH (FLAGS (\\Seen))\r\n* 5 EXISTS\r\n"
                         b"* 3 FETCH (UID 42 BODY[2] {%d}\r\n" % len(BIG))
        for start in range(0, len(BIG), 7000):  # the server writes as it reads
            await s.send_raw(BIG[start:start + 7000])
        await s.send_raw(b")\r\n" + f"{cmd.tag} OK done\r\n".encode())
        await s.ok(await s.expect("NOOP"))  # the connection is still in step

    async with fake_imap(script, tcp=tcp) as (client, _server):
        pieces = [piece async for piece in stream_section(client, 42, "2", piece=100_000)]
        assert b"".join(pieces) == BIG
        assert [len(piece) for piece in pieces] == [100_000] * 2 + [51_000]
        assert client.drain_unsolicited() == [Fetch(seq=9, flags=("\\Seen",)), Exists(5)]
        await client.noop()


async def test_a_small_section_comes_inside_its_fetch() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID FETCH")
        await s.send("* 3 FETCH (UID 42 BODY[1.2] {11}", "hello world)",
                     "* 4 FETCH (UID 43 BODY[1.2] NIL)", f"{cmd.tag} OK done")
        cmd = await s.expect("UID FETCH")
        await s.send("* 3 FETCH (UID 42 BODY[1.2] NIL)", f"{cmd.tag} OK done")

    async with fake_imap(script) as (client, _server):
        pieces = [piece async for piece in stream_section(client, 42, "1.2", piece=4)]
        assert pieces == [b"hell", b"o wo", b"rld"]
        assert [piece async for piece in stream_section(client, 42, "1.2")] == []


async def test_a_missing_message_raises_and_leaves_the_connection_usable() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID FETCH")
        await s.ok(cmd)
        cmd = await s.expect("UID FETCH")
        await s.send(f"{cmd.tag} NO [EXPUNGEISSUED] Some messages were also expunged")
        await s.serve_rest()

    async with fake_imap(script) as (client, _server):
        with pytest.raises(SectionMissing):
            async for _ in stream_section(client, 42, "2"):
                pass
        with pytest.raises(ServerNo, match="EXPUNGEISSUED"):
            async for _ in stream_section(client, 42, "2"):
                pass
        await client.noop()


async def test_a_large_literal_for_something_else_is_refused() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("UID FETCH")
        await s.send_raw(b"* 3 FETCH (UID 42 BODY[3] {%d}\r\n" % len(BIG) + BIG)
        await s.wait_closed()

    async with fake_imap(script) as (client, _server):
        with pytest.raises(ProtocolError, match="something else"):
            async for _ in stream_section(client, 42, "2"):
                pass
        assert client._transport.broken is not None


async def test_stopping_early_leaves_the_connection_unusable() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.expect("UID FETCH")
        await s.send_raw(b"* 3 FETCH (UID 42 BODY[2] {%d}\r\n" % len(BIG) + BIG[:100_000])
        await s.wait_closed()

    async with fake_imap(script) as (client, _server):
        async with aclosing(stream_section(client, 42, "2", piece=10_000)) as pieces:
            async for _ in pieces:
                break
        assert client._transport.broken is not None


async def test_bad_arguments_send_nothing() -> None:
    async def script(s: ScriptedServer) -> None:
        await s.serve_rest()

    async with fake_imap(script) as (client, server):
        for section, piece in ((")", 10), ("2]<0.5>", 10), ("0", 10), ("2", 0)):
            with pytest.raises(CommandError):
                async for _ in stream_section(client, 42, section, piece=piece):
                    pass
        assert server.received == 0
