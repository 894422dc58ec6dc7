"""The client against a real Dovecot, over implicit TLS, STARTTLS and plain TCP."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime

import pytest
import trio

from tests.support.dovecot import Dovecot
from tidings.imap import (
    AppendUid,
    AuthError,
    ConnectParams,
    CopyUid,
    Exists,
    Qresync,
    Raw,
    SeqSet,
    ServerNo,
    TlsRequired,
    open_imap,
    search_date,
)
from tidings.imap.transport import Security

pytestmark = pytest.mark.dovecot

MODES: list[Security] = ["tls", "starttls", "plain"]


def connect_params(dovecot: Dovecot, mode: Security, **overrides: object) -> ConnectParams:
    fields: dict[str, object] = {
        "host": dovecot.host,
        "port": dovecot.tls_port if mode == "tls" else dovecot.port,
        "security": mode,
        "ssl_context": dovecot.ssl_context(),
        "server_hostname": "localhost",
        "allow_plaintext": mode == "plain",
        "timeout": 20.0,
    }
    fields.update(overrides)
    return ConnectParams(**fields)  # type: ignore[arg-type]


def message(n: int, subject: str = "hello") -> bytes:
    return (
        f"From: a{n}@example.org\r\nTo: b@example.org\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\nDate: Thu, 1 Feb 2024 10:00:00 +0000\r\n\r\n"
        f"body {n}\r\n"
    ).encode()


@pytest.mark.parametrize("mode", MODES)
async def test_every_command(dovecot: Dovecot, imap_user: tuple[str, str],
                             mode: Security) -> None:
    user, password = imap_user
    dovecot.seed(user, [message(1), message(2), message(3)])
    async with open_imap(connect_params(dovecot, mode)) as client:
        assert client.tls == (mode != "plain")
        assert client.has("IMAP4rev1")
        if mode == "starttls":
            assert not client.has("STARTTLS")  # fetched again after the upgrade
        await client.login(user, password)
        assert client.authenticated and client.has("CONDSTORE") and client.has("MOVE")
        server_id = await client.id(name="tidings", version="0.1")
        assert server_id.get("name") == "Dovecot"
        assert await client.enable("CONDSTORE") == frozenset({"CONDSTORE"})

        uses = {e.name: e.attributes for e in await client.list()}
        for name, use in [("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                          ("Archive", "\\Archive"), ("Junk", "\\Junk")]:
            assert use in uses[name]
        await client.create("Entwürfe/Alt")
        await client.rename("Entwürfe/Alt", "Entwürfe/Neu")
        assert "Entwürfe/Neu" in {e.name for e in await client.list("", "Entw*")}
        await client.delete("Entwürfe/Neu")

        status = await client.status("INBOX")
        assert status.messages == 3 and status.unseen == 3 and status.uidnext == 4
        assert status.highestmodseq is not None

        box = await client.select("INBOX", condstore=True)
        assert box.exists == 3 and box.uidnext == 4 and not box.readonly
        assert box.highestmodseq is not None and box.highestmodseq > 0
        assert await client.uid_search() == (1, 2, 3)
        assert await client.uid_search(Raw("SINCE"), search_date(datetime.now(UTC).date())
                                       ) == (1, 2, 3)

        fetched = [f async for f in client.uid_fetch([1, 2, 3],
                                                     ["FLAGS", "BODY.PEEK[]", "RFC822.SIZE"])]
        # Seeded maildir files get their UIDs in file-name order, not seeding order.
        by_uid = {f.uid: f.sections["BODY[]"] or b"" for f in fetched}
        assert sorted(by_uid.values()) == [message(1), message(2), message(3)]
        (second,) = await client.uid_search(Raw("SUBJECT"), "hello 2")
        assert by_uid[second] == message(2)
        assert all(f.flags is not None and "\\Seen" not in f.flags for f in fetched)

        stored = await client.uid_store([1], "+FLAGS", ["\\Seen", "$Work"], silent=False)
        assert stored.fetches[0].flags is not None and "\\Seen" in stored.fetches[0].flags
        guarded = await client.uid_store([1], "-FLAGS", ["$Work"],
                                         unchangedsince=box.highestmodseq)
        assert guarded.modified == (1,)  # changed since that modseq: refused

        appended = await client.append("Drafts", message(9), ["\\Draft"],
                                       datetime(2024, 2, 1, 9, 30, tzinfo=UTC))
        assert isinstance(appended, AppendUid) and appended.uids == (1,)
        copied = await client.uid_copy([2], "Archive")
        assert copied is not None and copied.source == (2,) and copied.destination == (1,)
        moved = await client.uid_move([3], "Trash")
        assert isinstance(moved, CopyUid) and moved.source == (3,)
        assert await client.uid_search() == (1, 2)

        await client.uid_store([2], "+FLAGS", ["\\Deleted"])
        await client.uid_expunge([2])
        assert await client.uid_search() == (1,)
        await client.noop()
        client.drain_unsolicited()

        examined = await client.examine("Drafts")
        assert examined.readonly and examined.exists == 1
        drafts = [f async for f in client.uid_fetch(SeqSet.all(), ["FLAGS", "INTERNALDATE"])]
        assert drafts[0].internaldate == datetime(2024, 2, 1, 9, 30, tzinfo=UTC)
        assert drafts[0].flags is not None and "\\Draft" in drafts[0].flags
        await client.unselect()
        await client.select("Archive")
        await client.close()
        assert client.selected is None
        with pytest.raises(ServerNo):
            await client.select("No such folder")
        assert client.selected is None
        await client.noop()


@pytest.mark.parametrize("mode", MODES)
async def test_authenticate_plain(dovecot: Dovecot, imap_user: tuple[str, str],
                                  mode: Security) -> None:
    user, password = imap_user
    async with open_imap(connect_params(dovecot, mode)) as client:
        await client.authenticate_plain(user, password)
        assert client.has("IDLE") and client.authenticated
        assert (await client.select("INBOX")).exists == 0


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_password(dovecot: Dovecot, imap_user: tuple[str, str],
                              mode: Security) -> None:
    user, _password = imap_user
    async with open_imap(connect_params(dovecot, mode)) as client:
        with pytest.raises(AuthError) as info:
            await client.login(user, "wrong")
        assert info.value.code == "AUTHENTICATIONFAILED"
        with pytest.raises(AuthError):
            await client.authenticate_plain(user, "wrong")


async def test_plain_connection_keeps_credentials(dovecot: Dovecot,
                                                  imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    params = connect_params(dovecot, "plain", allow_plaintext=False)
    async with open_imap(params) as client:
        with pytest.raises(TlsRequired):
            await client.login(user, password)


async def test_idle_sees_an_append_from_another_connection(
        dovecot: Dovecot, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    params = connect_params(dovecot, "tls")
    async with open_imap(params) as watcher, open_imap(params) as writer:
        await watcher.login(user, password)
        await writer.login(user, password)
        await watcher.select("INBOX")
        async with watcher.idle() as pushes:
            await writer.append("INBOX", message(1))
            seen: list[object] = []
            with trio.fail_after(10):
                while Exists(1) not in seen:
                    seen += await pushes.next(5)
        await watcher.noop()


async def test_uid_fetch_streams_300_messages(dovecot: Dovecot,
                                              imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    dovecot.seed(user, [message(n, "bulk") for n in range(300)])
    async with open_imap(connect_params(dovecot, "tls")) as client:
        await client.login(user, password)
        await client.select("INBOX")
        uids = await client.uid_search()
        assert len(uids) == 300
        bodies: dict[int, bytes] = {}
        async for fetched in client.uid_fetch(uids, ["BODY.PEEK[]"], batch=40):
            assert fetched.uid is not None
            body = fetched.sections["BODY[]"]
            assert body is not None
            bodies[fetched.uid] = body
        assert sorted(bodies) == list(uids)
        assert set(bodies.values()) == {message(n, "bulk") for n in range(300)}
        # Stopping early leaves the connection usable.
        async with aclosing(client.uid_fetch(uids, ["FLAGS"], batch=10)) as stream:
            async for _ in stream:
                break
        assert len(await client.uid_search()) == 300


async def test_qresync_reports_vanished(dovecot: Dovecot, imap_user: tuple[str, str]) -> None:
    user, password = imap_user
    dovecot.seed(user, [message(n) for n in range(5)])
    params = connect_params(dovecot, "tls")
    async with open_imap(params) as client:
        await client.login(user, password)
        first = await client.select("INBOX", condstore=True)
        assert first.highestmodseq is not None
        await client.uid_store([2], "+FLAGS", ["\\Deleted"])
        await client.uid_expunge([2])
        await client.uid_store([4], "+FLAGS", ["\\Flagged"])
        await client.unselect()
        again = await client.select(
            "INBOX", qresync=Qresync(first.uidvalidity, first.highestmodseq))
        assert "QRESYNC" in client.enabled
        assert again.vanished == (2,)
        assert [f.uid for f in again.changed] == [4]
