"""Lending a connection that waits in IDLE to another task of the same grant.

A grant's poller asks the server one question a minute (LIST-STATUS, or STATUS per
folder), and its UIDVALIDITY checker one every five minutes. A connection of its own for
each question costs far more than the question: a TLS handshake, LOGIN, LOGOUT, on both
ends. The INBOX watcher's connection spends nearly all its life waiting in IDLE, and
RFC 2177 §3 lets a client end IDLE with DONE, issue commands, and enter IDLE again. So
the watcher lends its connection between two IDLEs, and the borrower asks there.

A borrower must leave the connection as it found it: the watcher's mailbox stays
selected, so no SELECT, EXAMINE, CLOSE or UNSELECT, and no command that changes the
mailbox. Anything the server pushes about that mailbox meanwhile lands on the
connection's unsolicited queue, where the watcher finds it when it gets the
connection back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import trio

from tidings.imap import ImapClient

__all__ = ["ConnectionLender"]


@dataclass(eq=False)
class _Loan:
    handed: trio.Event = field(default_factory=trio.Event)
    returned: trio.Event = field(default_factory=trio.Event)
    client: ImapClient | None = None


class ConnectionLender:
    """Meeting point of one connection's holder (the IDLE watcher) and its borrowers.

    Holder: ``with lender.holding(client):`` for as long as the connection can be lent;
    wait for pushes inside ``with lender.interruptible() as wait:`` (a borrower cancels
    that wait; ``wait.cancelled_caught`` tells), then ``await lender.lend(client)``
    once out of IDLE. Borrower: ``async with lender.borrow(patience) as client:``,
    which gives None when no connection can be had (no holder, or none within
    ``patience`` seconds): then open a connection of its own.
    """

    def __init__(self) -> None:
        self._holder: ImapClient | None = None
        self._wake: trio.CancelScope | None = None
        self._pending: _Loan | None = None
        self._turn = trio.Lock()  # one borrower at a time
        self.loans = 0
        """How many times the connection was lent."""
        self._lent = trio.Event()

    @property
    def wanted(self) -> bool:
        """Whether a borrower is waiting for the connection."""
        return self._pending is not None

    @contextmanager
    def holding(self, client: ImapClient) -> Iterator[None]:
        """Offer ``client`` for loans while the block runs."""
        self._holder = client
        try:
            yield
        finally:
            self._holder = None
            loan, self._pending = self._pending, None
            if loan is not None:
                loan.handed.set()  # with no client: the borrower opens its own

    @contextmanager
    def interruptible(self) -> Iterator[trio.CancelScope]:
        """A wait of the holder that a borrower's request cuts short."""
        with trio.CancelScope() as scope:
            self._wake = scope
            if self._pending is not None:
                scope.cancel()
            try:
                yield scope
            finally:
                self._wake = None

    async def lend(self, client: ImapClient) -> bool:
        """Hand ``client`` to the waiting borrower, if any, and wait until it is back.
        Returns whether it was lent."""
        loan, self._pending = self._pending, None
        if loan is None:
            return False
        loan.client = client
        loan.handed.set()
        self.loans += 1
        self._lent.set()
        self._lent = trio.Event()
        await loan.returned.wait()
        return True

    async def lent(self, count: int) -> None:
        """Wait until the connection has been lent ``count`` times in all."""
        while self.loans < count:
            await self._lent.wait()

    @asynccontextmanager
    async def borrow(self, patience: float) -> AsyncIterator[ImapClient | None]:
        """The holder's connection for the block, or None."""
        async with self._turn:
            if self._holder is None:
                yield None
                return
            loan = _Loan()
            self._pending = loan
            if self._wake is not None:
                self._wake.cancel()
            try:
                with trio.move_on_after(patience):
                    await loan.handed.wait()
                if self._pending is loan:  # not taken in time: withdraw the request
                    self._pending = None
                yield loan.client
            finally:
                if self._pending is loan:  # cancelled while waiting
                    self._pending = None
                loan.returned.set()
