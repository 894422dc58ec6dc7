"""Mailbox and message commands against a scripted server: what goes on the wire and
what comes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.imap.fakeserver import ScriptedServer, fake_imap
from tidings.imap.encode import Raw
from tidings.imap.errors import CommandError, ServerNo
from tidings.imap.responses import AppendUid, CopyUid, Exists, Expunge, Fetch, Vanished
from tidings.imap.results import Qresync
from tidings.imap.seqset import SeqSet


async def test_uid_move_with_move() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID MOVE")
        assert cmd.raw.endswith(b" UID MOVE 4:5,9 Archive")
        await s.ok(cmd, "* OK [COPYUID 38505 4:5,9 101:103] moved", "* 3 EXPUNGE",
                   "* 3 EXPUNGE", "* 5 EXPUNGE")

    async with fake_imap(script) as (client, _server):
        found = await client.uid_move([9, 4, 5], "Archive")
        assert found == CopyUid(38505, (4, 5, 9), (101, 102, 103))
        assert client.drain_unsolicited() == [Expunge(3), Expunge(3), Expunge(5)]


async def test_uid_move_fallback_expunges_only_those_uids() -> None:
    names: list[bytes] = []

    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID COPY")
        names.append(cmd.raw.split(b" ", 1)[1])
        await s.ok(cmd, text="[COPYUID 7 1:2 50:51] copied")
        cmd = await s.expect("UID STORE")
        names.append(cmd.raw.split(b" ", 1)[1])
        await s.ok(cmd)
        cmd = await s.expect("UID EXPUNGE")
        names.append(cmd.raw.split(b" ", 1)[1])
        await s.ok(cmd, "* 1 EXPUNGE", "* 1 EXPUNGE")

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1 UIDPLUS] hi"
                         ) as (client, _server):
        assert await client.uid_move([1, 2], "Trash") == CopyUid(7, (1, 2), (50, 51))
    assert names == [b"UID COPY 1:2 Trash", b"UID STORE 1:2 +FLAGS.SILENT (\\Deleted)",
                     b"UID EXPUNGE 1:2"]


async def test_uid_move_without_move_or_uidplus_changes_nothing() -> None:
    seen: list[str] = []

    async def script(s: ScriptedServer) -> None:
        cmd = await s.read_command()
        seen.append(cmd.name)
        await s.send("* BYE", f"{cmd.tag} OK")

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1] hi") as (client, _s):
        with pytest.raises(CommandError, match="EXPUNGE"):
            await client.uid_move([1], "Trash")
        with pytest.raises(CommandError):
            await client.uid_expunge([1])
    assert seen == ["LOGOUT"]


async def test_append_waits_for_continuation_and_returns_appenduid() -> None:
    message = b"Subject: hi\r\n\r\nbody\r\n"

    async def script(s: ScriptedServer) -> None:
        header = await s.read_line()
        tag = header.split(b" ")[0].decode()
        assert header == (
            f'{tag} APPEND Sent (\\Seen) " 1-Feb-2024 13:05:00 +0000" {{{len(message)}}}'
            .encode()
        )
        await s.send("+ Ready for literal data")
        assert await s.read_exactly(len(message)) == message
        assert await s.read_line() == b""
        await s.send(f"{tag} OK [APPENDUID 38505 3955] APPEND completed")
        # Refused before the literal: nothing more comes (RFC 9051 §7.5).
        header = await s.read_line()
        tag = header.split(b" ")[0].decode()
        await s.send(f"{tag} NO [OVERQUOTA] mailbox full")

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1 UIDPLUS] hi"
                         ) as (client, _server):
        got = await client.append("Sent", message, ["\\Seen"],
                                  datetime(2024, 2, 1, 13, 5, tzinfo=UTC))
        assert got == AppendUid(38505, (3955,))
        with pytest.raises(ServerNo) as info:
            await client.append("Sent", message)
        assert info.value.code == "OVERQUOTA"
        await client.noop()


async def test_append_nul_needs_binary() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("APPEND")
        assert cmd.raw.endswith(b" APPEND INBOX ~{3+}\r\na\x00b")
        await s.ok(cmd)

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1 LITERAL+] hi"
                         ) as (client, _server):
        with pytest.raises(CommandError, match="BINARY"):
            await client.append("INBOX", b"a\x00b")
        client.capabilities |= {"BINARY"}
        assert await client.append("INBOX", b"a\x00b") is None


async def test_uid_search_esearch_and_charset() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID SEARCH")
        assert cmd.raw.endswith(b' UID SEARCH RETURN (ALL) CHARSET UTF-8 SUBJECT {6+}\r\n'
                                + "héllo".encode())
        await s.ok(cmd, f'* ESEARCH (TAG "{cmd.tag}") UID ALL 4:6,9')
        cmd = await s.expect("UID SEARCH")
        assert cmd.raw.endswith(b" UID SEARCH RETURN (ALL) SINCE 1-Feb-2024")
        await s.ok(cmd, f'* ESEARCH (TAG "{cmd.tag}") UID')

    async with fake_imap(script) as (client, _server):
        assert await client.uid_search(Raw("SUBJECT"), "héllo") == (4, 5, 6, 9)
        assert await client.uid_search(Raw("SINCE"), Raw("1-Feb-2024")) == ()


async def test_uid_search_plain() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID SEARCH")
        assert cmd.raw.endswith(b" UID SEARCH ALL")
        await s.ok(cmd, "* SEARCH 9 3 4")

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1] hi") as (client, _s):
        assert await client.uid_search() == (3, 4, 9)


async def test_select_qresync_enables_and_reports_changes() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("ENABLE")
        assert cmd.raw.endswith(b" ENABLE QRESYNC")
        await s.ok(cmd, "* ENABLED QRESYNC")
        cmd = await s.expect("SELECT")
        assert cmd.raw.endswith(b" SELECT INBOX (QRESYNC (67890007 20050715194045000 1:40))")
        await s.ok(
            cmd,
            "* 9 EXISTS",  # about the mailbox being closed
            "* OK [CLOSED] previous mailbox closed",
            "* 10 EXISTS",
            "* OK [UIDVALIDITY 67890007] ok",
            "* OK [UIDNEXT 41] ok",
            "* OK [HIGHESTMODSEQ 20050715194045010] ok",
            "* FLAGS (\\Seen)",
            "* VANISHED (EARLIER) 1:5,9",
            "* 3 FETCH (UID 12 FLAGS (\\Seen) MODSEQ (20050715194045009))",
            text="[READ-ONLY] done",
        )

    caps = "IMAP4rev1 ENABLE CONDSTORE QRESYNC"
    async with fake_imap(script, greeting=f"* OK [CAPABILITY {caps}] hi") as (client, _s):
        box = await client.select(
            "INBOX", qresync=Qresync(67890007, 20050715194045000, SeqSet.span(1, 40)))
        assert "QRESYNC" in client.enabled
        assert box.exists == 10 and box.uidnext == 41 and box.readonly
        assert box.highestmodseq == 20050715194045010
        assert box.vanished == (1, 2, 3, 4, 5, 9)
        assert box.changed == (Fetch(seq=3, uid=12, flags=("\\Seen",),
                                     modseq=20050715194045009),)
        assert box.permanentflags == ("\\Seen",)
        assert client.drain_unsolicited() == [Exists(9)]
        assert client.selected == "INBOX"


async def test_list_status_id_enable_store_and_more() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("LIST")
        assert cmd.raw.endswith(b' LIST "" "*" RETURN (SPECIAL-USE)')
        await s.ok(cmd, '* LIST (\\HasNoChildren \\Sent) "/" "Gesendete Objekte"',
                   '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"')
        cmd = await s.expect("STATUS")
        assert cmd.raw.endswith(b" STATUS Archive (MESSAGES UIDNEXT UIDVALIDITY UNSEEN "
                                b"HIGHESTMODSEQ)")
        await s.ok(cmd, "* STATUS Archive (MESSAGES 4 UIDNEXT 9 UIDVALIDITY 1 UNSEEN 0 "
                   "HIGHESTMODSEQ 77)")
        cmd = await s.expect("ID")
        assert cmd.raw.endswith(b' ID ("name" "tidings" "support-url" NIL)')
        await s.ok(cmd, '* ID ("NAME" "Dovecot" "x" NIL)')
        cmd = await s.expect("ENABLE")
        await s.ok(cmd, "* ENABLED UTF8=ACCEPT")
        cmd = await s.expect("CREATE")
        assert cmd.raw.endswith(' CREATE "Entwürfe"'.encode())
        await s.ok(cmd)
        cmd = await s.expect("UID STORE")
        assert cmd.raw.endswith(b" UID STORE 1:3 (UNCHANGEDSINCE 12) +FLAGS ($Junk)")
        await s.ok(cmd, "* 1 FETCH (UID 1 MODSEQ (13) FLAGS ($Junk))",
                   "* 8 FETCH (UID 80 FLAGS (\\Seen))", text="[MODIFIED 2:3] partly")
        for name in ("RENAME", "DELETE", "UNSELECT", "CLOSE"):
            await s.ok(await s.expect(name))

    caps = "IMAP4rev1 LITERAL+ ENABLE ID CONDSTORE SPECIAL-USE LIST-EXTENDED UNSELECT"
    async with fake_imap(script, greeting=f"* OK [CAPABILITY {caps}] hi") as (client, _s):
        entries = await client.list()
        assert [(e.name, "\\Sent" in e.attributes) for e in entries] == [
            ("Gesendete Objekte", True), ("Entwürfe", False)]
        status = await client.status("Archive")
        assert (status.messages, status.uidnext, status.highestmodseq) == (4, 9, 77)
        assert await client.id(name="tidings", support_url=None) == {
            "name": "Dovecot", "x": None}
        assert await client.enable("UTF8=ACCEPT") == frozenset({"UTF8=ACCEPT"})
        assert client.utf8
        await client.create("Entwürfe")
        stored = await client.uid_store([1, 2, 3], "+FLAGS", ["$Junk"], silent=False,
                                        unchangedsince=12)
        assert stored.modified == (2, 3)
        assert [f.uid for f in stored.fetches] == [1]
        assert client.drain_unsolicited() == [Fetch(seq=8, uid=80, flags=("\\Seen",))]
        await client.rename("A", "B")
        await client.delete("B")
        await client.unselect()
        await client.close()


async def test_vanished_and_flag_changes_during_fetch_are_kept() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("UID FETCH")
        assert cmd.raw.endswith(b" UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 5 VANISHED)")
        await s.ok(cmd, "* VANISHED (EARLIER) 3", "* 1 FETCH (UID 1 FLAGS ())",
                   "* 2 FETCH (UID 7 FLAGS (\\Seen))")

    async with fake_imap(script) as (client, _server):
        got = [f.uid async for f in client.uid_fetch(SeqSet.all(), ["UID", "FLAGS"],
                                                     changedsince=5, vanished=True)]
        assert got == [1, 7]
        assert client.drain_unsolicited() == [Vanished((3,), earlier=True)]


async def test_unselect_without_unselect_never_expunges() -> None:
    async def script(s: ScriptedServer) -> None:
        cmd = await s.expect("EXAMINE")  # a name that cannot exist: deselects only
        await s.send(f"{cmd.tag} NO [NONEXISTENT] no such mailbox")

    async with fake_imap(script, greeting="* OK [CAPABILITY IMAP4rev1] hi") as (client, _s):
        client.selected = "INBOX"
        await client.unselect()
        assert client.selected is None
