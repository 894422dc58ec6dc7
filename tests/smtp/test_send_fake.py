"""Mail transactions against a scripted server: pipelining, refusals, data transfer."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.smtp.fakeserver import EXTENSIONS, ScriptedServer, fake_smtp
from tidings.smtp import (
    MessageTooLarge,
    SmtpCommandError,
    SmtpConnectionLost,
    SmtpDeliveryUnknown,
    SmtpNotSupported,
    SmtpRecipientsRefused,
    SmtpReplyError,
)

NO_PIPELINING = [e for e in EXTENSIONS if e != "PIPELINING"]
MESSAGE = b"Subject: hi\r\n\r\nhello\r\n"


async def test_pipelined_transaction_goes_out_in_one_write() -> None:
    """RFC 2920 §3.1: MAIL, RCPT and DATA are sent before any reply is read."""

    async def script(server: ScriptedServer) -> None:
        # Read all four lines before answering: a client waiting for the MAIL reply
        # would never send the rest and this deadline would fire.
        with trio.fail_after(5):
            lines = [await server.read_line() for _ in range(4)]
        assert lines == [b"MAIL FROM:<a@x.org> SIZE=%d" % len(MESSAGE), b"RCPT TO:<b@x.org>",
                         b"RCPT TO:<c@x.org>", b"DATA"]
        await server.send("250 2.1.0 ok", "250 2.1.5 ok", "250 2.1.5 ok",
                          "354 go ahead")
        assert await server.read_data() == MESSAGE + b".\r\n"
        await server.send("250 2.0.0 Ok: queued as 4XyZ")

    async with fake_smtp(script) as (client, _server):
        result = await client.send("a@x.org", ["b@x.org", "c@x.org", "b@x.org"], MESSAGE)
    assert result.accepted == ("b@x.org", "c@x.org") and not result.refused
    assert result.reply == "Ok: queued as 4XyZ"


async def test_stepwise_transaction_without_pipelining() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("MAIL FROM:<a@x.org>")
        assert server.pending == b""
        await server.send("250 ok")
        await server.expect("RCPT TO:<b@x.org>")
        assert server.pending == b""
        await server.send("250 ok")
        await server.expect("DATA")
        await server.send("354 go")
        await server.read_data()
        await server.send("250 queued")

    async with fake_smtp(script, extensions=NO_PIPELINING) as (client, _server):
        result = await client.send("a@x.org", ["b@x.org"], MESSAGE)
    assert result.reply == "queued"


async def test_dot_stuffing_and_crlf_on_the_wire() -> None:
    message = b"Subject: dots\n\n.leading dot\n..two\r\n.\rend"
    seen: list[bytes] = []

    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        seen.append(await server.read_data())
        await server.send("250 ok")

    async with fake_smtp(script) as (client, _server):
        await client.send("a@x.org", ["b@x.org"], message)
    assert seen == [b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\n..\r\nend\r\n.\r\n"]


async def test_some_recipients_refused() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(4):
            await server.read_line()
        await server.send("250 ok", "550 5.1.1 no such user here", "250 ok", "354 go")
        await server.read_data()
        await server.send("250 queued")

    async with fake_smtp(script) as (client, _server):
        result = await client.send("a@x.org", ["b@x.org", "c@x.org"], MESSAGE)
    assert result.accepted == ("c@x.org",)
    assert dict(result.refused) == {"b@x.org": (550, "no such user here")}


async def test_all_recipients_refused_resets_the_transaction() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(4):
            await server.read_line()
        await server.send("250 ok", "450 4.2.1 mailbox busy", "550 5.1.1 unknown",
                          "554 5.5.1 no valid recipients")
        await server.expect("RSET")
        await server.send("250 reset")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpRecipientsRefused) as info:
            await client.send("a@x.org", ["b@x.org", "c@x.org"], MESSAGE)
        # The first permanent refusal decides: not worth a retry.
        assert info.value.code == 550 and info.value.permanent
        assert info.value.refused == {"b@x.org": (450, "mailbox busy"),
                                      "c@x.org": (550, "unknown")}
        await client.noop()  # still in step


async def test_354_after_every_recipient_failed_gets_an_empty_message() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "451 4.3.0 try later", "354 go")
        assert await server.read_data() == b".\r\n"
        await server.send("554 no recipients")
        await server.expect("RSET")
        await server.send("250 ok")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpRecipientsRefused) as info:
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
        assert info.value.transient


async def test_mail_refused_without_pipelining_sends_nothing_more() -> None:
    async def script(server: ScriptedServer) -> None:
        await server.expect("MAIL")
        await server.send("553 5.7.1 sender not owned by you")

    async with fake_smtp(script, extensions=NO_PIPELINING) as (client, server):
        with pytest.raises(SmtpReplyError) as info:
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
        assert info.value.command == "MAIL" and info.value.code == 553
        assert info.value.text == "sender not owned by you"
        await client.noop()
    assert [line.split()[0] for line in server.lines] == [b"EHLO", b"MAIL", b"NOOP", b"QUIT"]


async def test_final_5xx_reported_with_the_server_text() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.send("554-5.7.1 Message rejected:", "554 5.7.1 looks like spam")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpReplyError) as info:
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
    assert (info.value.command, info.value.code, info.value.enhanced) == ("DATA", 554, "5.7.1")
    assert info.value.text == "Message rejected:\nlooks like spam"
    assert "looks like spam" in str(info.value)


async def test_size_exceeded_before_mail() -> None:
    async with fake_smtp(extensions=["SIZE 100", "PIPELINING"]) as (client, server):
        with pytest.raises(MessageTooLarge) as info:
            await client.send("a@x.org", ["b@x.org"], b"x" * 200)
        assert (info.value.size, info.value.limit) == (202, 100)
        await client.noop()
    assert not any(line.startswith((b"MAIL", b"DATA")) for line in server.lines)


async def test_eight_bit_body_and_utf8_addresses() -> None:
    message = "Subject: é\r\n\r\nné\r\n".encode()

    async def script(server: ScriptedServer) -> None:
        line = await server.read_line()
        assert line == f"MAIL FROM:<jörg@x.org> SIZE={len(message)} BODY=8BITMIME SMTPUTF8".encode()
        assert await server.read_line() == "RCPT TO:<zoë@x.org>".encode()
        await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.send("250 ok")

    async with fake_smtp(script) as (client, _server):
        await client.send("jörg@x.org", ["zoë@x.org"], message)


async def test_missing_extensions_are_clear_errors() -> None:
    async with fake_smtp(extensions=["PIPELINING"]) as (client, server):
        with pytest.raises(SmtpNotSupported, match="SMTPUTF8"):
            await client.send("a@x.org", ["zoë@x.org"], MESSAGE)
        with pytest.raises(SmtpNotSupported, match="8BITMIME"):
            await client.send("a@x.org", ["b@x.org"], "é".encode())
        with pytest.raises(SmtpCommandError):
            await client.send("a@x.org", ["b@x.org>\r\nRCPT TO:<evil@x.org"], MESSAGE)
        with pytest.raises(SmtpCommandError, match="no recipients"):
            await client.send("a@x.org", [], MESSAGE)
        with pytest.raises(SmtpCommandError, match="not one string"):
            await client.send("a@x.org", "b@x.org", MESSAGE)
    assert [line.split()[0] for line in server.lines] == [b"EHLO", b"QUIT"]


async def test_plain_mail_without_size_extension() -> None:
    async def script(server: ScriptedServer) -> None:
        assert await server.read_line() == b"MAIL FROM:<>"
        await server.read_line()
        await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.send("250 ok")

    async with fake_smtp(script, extensions=["PIPELINING"]) as (client, _server):
        await client.send("", ["b@x.org"], MESSAGE)


async def test_large_message_goes_out_in_chunks() -> None:
    message = (b"x" * 999 + b"\r\n") * 300  # 300 kB: several chunks
    seen: list[bytes] = []

    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        seen.append(await server.read_data())
        await server.send("250 ok")

    async with fake_smtp(script, extensions=["PIPELINING"]) as (client, _server):
        await client.send("a@x.org", ["b@x.org"], message)
    assert seen == [message + b".\r\n"]


async def test_silence_after_the_end_marker_is_delivery_unknown(
        autojump_clock: trio.testing.MockClock) -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "250 ok", "354 go")
        await server.read_data()
        await server.hang()

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpDeliveryUnknown, match="may or may not"):
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
        with pytest.raises(SmtpConnectionLost):
            await client.noop()


async def test_421_in_the_middle_of_a_pipeline() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "421 4.7.0 too many errors, closing")
        await server.stream.aclose()

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpReplyError) as info:
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
        assert info.value.code == 421 and info.value.command == "RCPT"
        assert client.broken is not None


async def test_failure_while_abandoning_does_not_hide_the_cause() -> None:
    async def script(server: ScriptedServer) -> None:
        for _ in range(3):
            await server.read_line()
        await server.send("250 ok", "550 5.1.1 unknown user", "554 no valid recipients")
        await server.expect("RSET")
        await server.send("502 5.5.1 RSET not here")

    async with fake_smtp(script) as (client, _server):
        with pytest.raises(SmtpRecipientsRefused, match="unknown user"):
            await client.send("a@x.org", ["b@x.org"], MESSAGE)
