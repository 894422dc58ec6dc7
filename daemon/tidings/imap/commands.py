"""Mailbox-level commands: ENABLE, ID, LIST, SELECT/EXAMINE, UNSELECT/CLOSE, STATUS,
CREATE, RENAME, DELETE, NOOP."""

from __future__ import annotations

import builtins
import re
from contextlib import suppress

from .encode import Arg, Mailbox, Raw, String
from .errors import CommandError, ProtocolError, ServerNo
from .responses import (
    Condition,
    Enabled,
    Exists,
    Fetch,
    Flags,
    ListEntry,
    Recent,
    Status,
    Unknown,
    Vanished,
)
from .results import Qresync, SelectResult, build_select_result, parse_id_data
from .session import Session

__all__ = ["MailboxCommands", "as_mailbox"]

_ATOM = re.compile(r"[A-Za-z0-9=+\-._]+\Z")
_ID_NAME = re.compile(r"[A-Za-z0-9\-._]+\Z")
_DEFAULT_STATUS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")


def as_mailbox(mailbox: str | bytes | Mailbox) -> Mailbox:
    return mailbox if isinstance(mailbox, Mailbox) else Mailbox(mailbox)


def _atoms(words: tuple[str, ...], what: str) -> list[Arg]:
    for word in words:
        if not _ATOM.match(word):
            raise CommandError(f"not a valid {what}: {word!r}")
    return [Raw(word.upper()) for word in words]


def _name(mailbox: Mailbox) -> str:
    return mailbox.name if isinstance(mailbox.name, str) else mailbox.name.decode(
        "utf-8", "replace")


class MailboxCommands(Session):
    async def enable(self, *capabilities: str) -> frozenset[str]:
        """ENABLE (RFC 5161); returns what the server enabled now. Without the ENABLE
        capability nothing is sent and nothing is enabled. Enabling ``UTF8=ACCEPT``
        switches mailbox names and strings to UTF-8 (RFC 6855)."""
        if not capabilities or not (self.has("ENABLE") or self.has("IMAP4REV2")):
            return frozenset()
        _, got = await self.simple("ENABLE", *_atoms(capabilities, "capability"),
                                   wanted=(Enabled,))
        now = frozenset(c for resp in got if isinstance(resp, Enabled)
                        for c in resp.capabilities)
        self.enabled |= now
        if "UTF8=ACCEPT" in now:
            self.utf8 = True
            self._transport.reader.utf8_names = True
        return now

    async def id(self, **fields: str | None) -> dict[str, str | None]:
        """ID (RFC 2971): send our fields (``support_url=`` is sent as
        ``support-url``), return the server's, names lower-cased ({} for NIL)."""
        if not self.has("ID"):
            return {}
        params: list[Arg] = []
        for key, value in fields.items():
            name = key.replace("_", "-")
            if not _ID_NAME.match(name):
                raise CommandError(f"not a valid ID field name: {key!r}")
            params += [String(name), None if value is None else String(value)]
        _, got = await self.simple("ID", params or None, wanted=(Unknown,))
        for resp in got:
            if isinstance(resp, Unknown) and resp.name == "ID":
                return parse_id_data(resp.data)
            self.push_unsolicited(resp)
        return {}

    async def list(self, ref: str = "", pattern: str = "*", *,
                   special_use: bool = True) -> builtins.list[ListEntry]:
        """LIST. With ``special_use`` and a server offering LIST-EXTENDED and
        SPECIAL-USE, asks for ``RETURN (SPECIAL-USE)`` (RFC 6154 §2, RFC 5258)."""
        args: builtins.list[Arg] = [Mailbox(ref), Mailbox(pattern)]
        if special_use and self.has("SPECIAL-USE") and self.has("LIST-EXTENDED"):
            args += [Raw("RETURN"), [Raw("SPECIAL-USE")]]
        _, got = await self.simple("LIST", *args, wanted=(ListEntry,))
        return [resp for resp in got if isinstance(resp, ListEntry)]

    async def list_status(self, ref: str = "", pattern: str = "*", *items: str
                          ) -> tuple[builtins.list[ListEntry], dict[str, Status]]:
        """LIST with the STATUS of every mailbox in one command (LIST-STATUS, RFC 5819
        §2), plus SPECIAL-USE attributes when offered. Without LIST-STATUS, raises
        :class:`CommandError`; callers fall back to LIST and STATUS."""
        if not self.has("LIST-STATUS"):
            raise CommandError("the server does not offer LIST-STATUS")
        if not items:
            items = _DEFAULT_STATUS + (("HIGHESTMODSEQ",) if self.has("CONDSTORE") else ())
        options: builtins.list[Arg] = [Raw("STATUS"), _atoms(items, "STATUS item")]
        if self.has("SPECIAL-USE"):
            options = [Raw("SPECIAL-USE"), *options]
        _, got = await self.simple("LIST", Mailbox(ref), Mailbox(pattern), Raw("RETURN"),
                                   options, wanted=(ListEntry, Status))
        entries = [resp for resp in got if isinstance(resp, ListEntry)]
        statuses = {resp.mailbox: resp for resp in got if isinstance(resp, Status)}
        return entries, statuses

    async def select(self, mailbox: str | bytes | Mailbox, *, readonly: bool = False,
                     condstore: bool = False, qresync: Qresync | None = None) -> SelectResult:
        """SELECT (or EXAMINE when ``readonly``), RFC 9051 §6.3.2.

        ``condstore`` asks for HIGHESTMODSEQ (RFC 7162 §3.1.8) when the server has
        CONDSTORE, and is ignored otherwise (``highestmodseq`` stays None).
        ``qresync`` resynchronises (RFC 7162 §3.2.5); it needs QRESYNC, which is
        ENABLEd first if need be. Responses about a previously selected mailbox
        (before ``[CLOSED]``) go to the unsolicited queue.
        """
        box = as_mailbox(mailbox)
        command = "EXAMINE" if readonly else "SELECT"
        args: builtins.list[Arg] = [box]
        if qresync is not None:
            if not self.has("QRESYNC"):
                raise CommandError(f"{self.params.host} does not offer QRESYNC")
            if "QRESYNC" not in self.enabled:
                await self.enable("QRESYNC")
            data: builtins.list[Arg] = [qresync.uidvalidity, qresync.modseq]
            if qresync.known_uids is not None:
                data.append(qresync.known_uids)
            args.append([Raw("QRESYNC"), data])
        elif condstore and self.has("CONDSTORE"):
            args.append([Raw("CONDSTORE")])
        self.selected = None
        tagged, got = await self.simple(
            command, *args, wanted=(Condition, Exists, Flags, Recent, Vanished, Fetch)
        )
        result, earlier = build_select_result(_name(box), got, tagged, readonly)
        for resp in earlier:
            self.push_unsolicited(resp)
        for resp in got:
            # Untagged NO/BAD warnings and OKs without a code we use are still news.
            if isinstance(resp, Condition) and resp not in earlier and (
                resp.code is None or resp.status != "OK"
            ):
                self.push_unsolicited(resp)
        self.selected = result.mailbox
        return result

    async def examine(self, mailbox: str | bytes | Mailbox, *, condstore: bool = False,
                      qresync: Qresync | None = None) -> SelectResult:
        """EXAMINE: SELECT read-only; flags never change by reading (RFC 9051 §6.3.3)."""
        return await self.select(mailbox, readonly=True, condstore=condstore, qresync=qresync)

    async def unselect(self) -> None:
        """Leave the selected mailbox without expunging anything.

        UNSELECT (RFC 3691) when offered. Otherwise SELECT a mailbox that cannot
        exist: a failed SELECT deselects (RFC 9051 §6.3.2) and, unlike CLOSE, does
        not expunge messages marked \\Deleted by someone else.
        """
        if self.has("UNSELECT") or self.has("IMAP4REV2"):
            await self.simple("UNSELECT")
        else:
            with suppress(ServerNo):
                await self.simple("EXAMINE", Mailbox("\u2400tidings-no-such-mailbox\u2400"))
        self.selected = None

    async def close(self) -> None:
        """CLOSE: expunges \\Deleted messages (unless read-only), then deselects."""
        await self.simple("CLOSE")
        self.selected = None

    async def status(self, mailbox: str | bytes | Mailbox, *items: str) -> Status:
        """STATUS (RFC 9051 §6.3.11). Default items: MESSAGES UIDNEXT UIDVALIDITY
        UNSEEN, plus HIGHESTMODSEQ when the server has CONDSTORE."""
        if not items:
            items = _DEFAULT_STATUS + (("HIGHESTMODSEQ",) if self.has("CONDSTORE") else ())
        _, got = await self.simple("STATUS", as_mailbox(mailbox),
                                   _atoms(items, "STATUS item"), wanted=(Status,))
        for resp in got:
            if isinstance(resp, Status):
                return resp
        raise ProtocolError("STATUS completed without a STATUS response")

    async def create(self, mailbox: str | bytes | Mailbox) -> None:
        await self.simple("CREATE", as_mailbox(mailbox))

    async def rename(self, old: str | bytes | Mailbox, new: str | bytes | Mailbox) -> None:
        await self.simple("RENAME", as_mailbox(old), as_mailbox(new))

    async def delete(self, mailbox: str | bytes | Mailbox) -> None:
        await self.simple("DELETE", as_mailbox(mailbox))

    async def noop(self) -> None:
        """NOOP: lets the server report changes; they land on the unsolicited queue
        (:meth:`drain_unsolicited`). Also the keep-alive where IDLE is missing."""
        await self.simple("NOOP")
