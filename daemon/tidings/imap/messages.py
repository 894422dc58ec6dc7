"""Message-level commands: UID SEARCH, UID FETCH, UID STORE, UID COPY, UID MOVE,
UID EXPUNGE, APPEND and IDLE."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Literal

from .commands import MailboxCommands, as_mailbox
from .encode import Arg, Binary, Mailbox, Raw, flag_list, format_internaldate
from .errors import CommandError, ProtocolError
from .fetch import stream_fetch
from .idle import MAX_IDLE, IdleSession, idle
from .responses import AppendUid, Condition, CopyUid, ESearch, Fetch, Search, Tagged
from .results import StoreResult
from .seqset import SeqSet

__all__ = ["MessageCommands", "as_uid_set"]

StoreMode = Literal["+FLAGS", "-FLAGS", "FLAGS"]


def as_uid_set(uids: SeqSet | Iterable[int]) -> SeqSet:
    return uids if isinstance(uids, SeqSet) else SeqSet.from_ints(uids)


def _non_ascii(args: Sequence[Arg]) -> bool:
    for arg in args:
        if isinstance(arg, str):
            if not arg.isascii():
                return True
        elif isinstance(arg, list | tuple) and _non_ascii(arg):
            return True
    return False


def _fetch_items(items: str | Sequence[str]) -> Arg:
    if isinstance(items, str):
        return Raw(items)
    return [Raw(item) for item in items]


def _copyuid(tagged: Tagged, responses: Iterable[object]) -> CopyUid | None:
    for source in (tagged, *responses):
        code = getattr(source, "code", None)
        if code is not None and isinstance(code.value, CopyUid):
            return code.value
    return None


class MessageCommands(MailboxCommands):
    async def uid_search(self, *criteria: Arg) -> tuple[int, ...]:
        """UID SEARCH; returns UIDs in ascending order. Criteria are search keys,
        e.g. ``Raw("SINCE"), search_date(day)`` or ``"FROM", "joe"``; none means ALL.
        Uses ``RETURN (ALL)`` with ESEARCH (RFC 4731) and ``CHARSET UTF-8`` for
        non-ASCII text unless UTF8=ACCEPT is on (RFC 6855 §3)."""
        args: list[Arg] = []
        esearch = self.has("ESEARCH")
        if esearch:
            args += [Raw("RETURN"), [Raw("ALL")]]
        if not self.utf8 and _non_ascii(criteria):
            args += [Raw("CHARSET"), Raw("UTF-8")]
        args += list(criteria) or [Raw("ALL")]
        tagged, got = await self.simple("UID SEARCH", *args, wanted=(Search, ESearch))
        uids: list[int] = []
        for resp in got:
            if isinstance(resp, ESearch):
                if resp.tag not in (None, tagged.tag):
                    self.push_unsolicited(resp)
                elif resp.all:
                    uids.extend(resp.all)
            elif isinstance(resp, Search):
                uids.extend(resp.ids)
        return tuple(sorted(set(uids)))

    def uid_fetch(
        self,
        uids: SeqSet | Iterable[int],
        items: str | Sequence[str],
        *,
        changedsince: int | None = None,
        vanished: bool = False,
        batch: int = 500,
    ) -> AsyncGenerator[Fetch, None]:
        """UID FETCH ``items`` (e.g. ``["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]``),
        streamed as responses arrive, in pipelined batches of ``batch`` UIDs.

        A set holding ``*`` cannot be split and goes as one command. ``changedsince``
        adds CHANGEDSINCE (RFC 7162 §3.1.4); ``vanished`` adds VANISHED (§3.2.6), whose
        VANISHED (EARLIER) responses land on the unsolicited queue. Iterate to the
        end, or inside ``contextlib.aclosing`` when stopping early.
        """
        uid_set = as_uid_set(uids)
        modifiers: list[Arg] = []
        if changedsince is not None:
            modifiers += [Raw("CHANGEDSINCE"), changedsince]
        if vanished:
            modifiers.append(Raw("VANISHED"))
        tail: tuple[Arg, ...] = (_fetch_items(items),) + ((modifiers,) if modifiers else ())
        if batch < 1:
            raise CommandError("batch must be at least 1")
        batches: Iterator[SeqSet]
        if not uid_set:
            batches = iter(())
        else:
            batches = uid_set.chunks(batch) if uid_set.concrete else iter((uid_set,))
        return stream_fetch(self, batches, tail)

    async def uid_store(
        self,
        uids: SeqSet | Iterable[int],
        mode: StoreMode,
        flags: Iterable[str],
        *,
        silent: bool = True,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        """UID STORE (RFC 9051 §6.4.6), optionally conditional (UNCHANGEDSINCE,
        RFC 7162 §3.1.3: UIDs that failed the test come back in ``modified``)."""
        if mode not in ("+FLAGS", "-FLAGS", "FLAGS"):
            raise CommandError(f"bad STORE mode {mode!r}")
        uid_set = as_uid_set(uids)
        if not uid_set:
            return StoreResult((), ())
        args: list[Arg] = [uid_set]
        if unchangedsince is not None:
            args.append([Raw("UNCHANGEDSINCE"), unchangedsince])
        args += [Raw(mode + (".SILENT" if silent else "")), list(flag_list(flags))]
        tagged, got = await self.simple("UID STORE", *args, wanted=(Fetch,))
        fetches: list[Fetch] = []
        for resp in got:
            if isinstance(resp, Fetch) and resp.uid is not None and resp.uid in uid_set:
                fetches.append(resp)
            else:
                self.push_unsolicited(resp)
        modified: tuple[int, ...] = ()
        code = tagged.code
        if code is not None and code.name == "MODIFIED" and isinstance(code.value, str):
            try:
                modified = tuple(SeqSet.parse(code.value))
            except CommandError as exc:
                raise ProtocolError(f"bad [MODIFIED {code.value}]") from exc
        return StoreResult(tuple(fetches), modified)

    async def uid_copy(self, uids: SeqSet | Iterable[int],
                       destination: str | bytes | Mailbox) -> CopyUid | None:
        """UID COPY; the COPYUID mapping (RFC 4315) when the server has UIDPLUS."""
        uid_set = as_uid_set(uids)
        if not uid_set:
            return None
        tagged, got = await self.simple("UID COPY", uid_set, as_mailbox(destination))
        return _copyuid(tagged, got)

    async def uid_move(self, uids: SeqSet | Iterable[int],
                       destination: str | bytes | Mailbox) -> CopyUid | None:
        """UID MOVE (RFC 6851). Without MOVE: UID COPY, UID STORE +FLAGS.SILENT
        (\\Deleted), UID EXPUNGE of exactly those UIDs — which needs UIDPLUS; a plain
        EXPUNGE would also remove other clients' \\Deleted mail, so without UIDPLUS
        this raises :class:`CommandError` and changes nothing."""
        uid_set = as_uid_set(uids)
        if not uid_set:
            return None
        if self.has("MOVE"):
            # COPYUID comes in an untagged OK before the expunges (RFC 6851 §4.3),
            # or in the tagged OK.
            tagged, got = await self.simple("UID MOVE", uid_set, as_mailbox(destination),
                                            wanted=(Condition,))
            found = _copyuid(tagged, got)
            for resp in got:
                if not (isinstance(resp, Condition) and resp.code is not None
                        and resp.code.name == "COPYUID"):
                    self.push_unsolicited(resp)
            return found
        if not self._uidplus():
            raise CommandError(
                f"{self.params.host} has neither MOVE nor UIDPLUS: moving would need a "
                "plain EXPUNGE, which could remove other messages marked \\Deleted"
            )
        copied = await self.uid_copy(uid_set, destination)
        await self.uid_store(uid_set, "+FLAGS", ["\\Deleted"], silent=True)
        await self.uid_expunge(uid_set)
        return copied

    def _uidplus(self) -> bool:
        return self.has("UIDPLUS") or self.has("IMAP4REV2")

    async def uid_expunge(self, uids: SeqSet | Iterable[int]) -> None:
        """UID EXPUNGE (RFC 4315 §2.1): expunge only these \\Deleted messages.
        The EXPUNGE / VANISHED responses land on the unsolicited queue."""
        if not self._uidplus():
            raise CommandError(f"{self.params.host} does not offer UIDPLUS (UID EXPUNGE)")
        uid_set = as_uid_set(uids)
        if uid_set:
            await self.simple("UID EXPUNGE", uid_set)

    async def append(
        self,
        mailbox: str | bytes | Mailbox,
        message: bytes,
        flags: Iterable[str] = (),
        internaldate: datetime | None = None,
    ) -> AppendUid | None:
        """APPEND (RFC 9051 §6.3.12); the APPENDUID (RFC 4315) when offered. A message
        holding NUL octets goes as literal8 when the server has BINARY (RFC 3516),
        and is refused otherwise."""
        args: list[Arg] = [as_mailbox(mailbox)]
        flag_args = list(flag_list(flags))
        if flag_args:
            args.append(flag_args)
        if internaldate is not None:
            args.append(format_internaldate(internaldate))
        if b"\x00" in message:
            if not self.has("BINARY"):
                raise CommandError("message contains NUL and the server lacks BINARY")
            args.append(Binary(message))
        else:
            args.append(message)
        tagged, _ = await self.simple("APPEND", *args)
        code = tagged.code
        if code is not None and isinstance(code.value, AppendUid):
            return code.value
        return None

    def idle(self, max_idle: float = MAX_IDLE) -> AbstractAsyncContextManager[IdleSession]:
        """``async with client.idle() as pushes:`` — see :mod:`tidings.imap.idle`."""
        return idle(self, max_idle)
