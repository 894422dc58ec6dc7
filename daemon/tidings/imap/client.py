"""The trio IMAP client: connect, authenticate, and the commands the sync engine uses.

Open one with :func:`open_imap`; it greets, upgrades with STARTTLS when asked, and on
exit logs out under a short shielded deadline. This module holds connection setup and
authentication; :class:`ImapClient` inherits the mailbox commands (``commands.py``),
the message commands and IDLE (``messages.py``) and the command engine (``session.py``).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import trio

from .encode import Raw
from .errors import (
    AuthError,
    ConnectionLost,
    ImapError,
    ProtocolError,
    ServerBye,
    TlsRequired,
)
from .messages import MessageCommands
from .responses import Condition, Continuation, Tagged
from .transport import ConnectParams, Transport, open_transport

__all__ = ["ConnectParams", "ImapClient", "connect", "open_imap", "start_session"]

# LOGOUT is a courtesy: never hold a cancelled task longer than this for it.
LOGOUT_TIMEOUT = 5.0


class ImapClient(MessageCommands):
    """One IMAP connection. Use :func:`open_imap` to get one."""

    # --- setup ----------------------------------------------------------------------

    async def _greeting(self) -> None:
        resp = await self._transport.next_response()
        if not isinstance(resp, Condition) or resp.status not in ("OK", "PREAUTH", "BYE"):
            await self._transport.abort("bad greeting")
            raise ProtocolError(f"expected a greeting, got {resp!r}")
        if resp.status == "BYE":
            await self._transport.abort("greeting was BYE")
            raise ServerBye(resp.code.name if resp.code else None, resp.text)
        self._note_code(resp.code)
        if resp.status == "PREAUTH":
            if self.params.security == "starttls":
                # RFC 9051 §7.1.4: PREAUTH leaves no way to start TLS; carrying on
                # would run the whole session in clear text (a downgrade).
                await self._transport.abort("PREAUTH before STARTTLS")
                raise TlsRequired("server sent PREAUTH, so STARTTLS is impossible")
            self.authenticated = True

    async def _starttls(self) -> None:
        if not self.has("STARTTLS"):
            await self.capability()
        if not self.has("STARTTLS"):
            raise TlsRequired(f"{self.params.host} does not offer STARTTLS")
        await self.simple("STARTTLS")
        await self._transport.start_tls(self.params.make_ssl_context(),
                                        self.params.tls_hostname)
        # Capabilities seen before TLS may have been forged (RFC 9051 §6.2.1).
        self.capabilities = frozenset()
        await self.capability()

    async def capability(self) -> frozenset[str]:
        """Ask the server for its capabilities (also refreshed automatically)."""
        # Capability responses are noted as they are routed (no ``wanted`` here).
        await self.simple("CAPABILITY")
        return self.capabilities

    async def aclose(self) -> None:
        """LOGOUT (best effort, bounded, shielded), then close the stream."""
        transport = self._transport
        if transport.broken is None and self._busy is None:
            with trio.move_on_after(min(LOGOUT_TIMEOUT, self.params.timeout), shield=True):
                with suppress(ImapError):
                    await self.logout()
        await transport.aclose()

    async def logout(self) -> None:
        """LOGOUT; the server answers BYE and then OK (RFC 9051 §6.1.3)."""
        with suppress(ConnectionLost):  # the server may close right after its BYE
            await self.command("LOGOUT")
        await self._transport.aclose()

    # --- authentication -------------------------------------------------------------------

    def _require_tls(self, mechanism: str) -> None:
        if not self._transport.tls and not self.params.allow_plaintext:
            raise TlsRequired(
                f"refusing {mechanism} over an unencrypted connection to "
                f"{self.params.host}: use TLS or allow plaintext for this account"
            )

    async def _after_auth(self, tagged: Tagged) -> None:
        self.authenticated = True
        # RFC 9051 §6.2.3: capabilities may change after authentication; the OK's
        # [CAPABILITY] code (already noted) saves a round trip.
        if tagged.code is None or tagged.code.name != "CAPABILITY":
            await self.capability()

    async def login(self, user: str, password: str) -> None:
        """LOGIN (RFC 9051 §6.2.3). Raises :class:`AuthError` when refused."""
        self._require_tls("LOGIN")
        if self.has("LOGINDISABLED"):
            raise AuthError("LOGIN", None, f"{self.params.host} advertises LOGINDISABLED; "
                            "use AUTHENTICATE")
        tagged, _ = await self.command("LOGIN", user, password)
        self.raise_for("LOGIN", tagged, auth=True)
        await self._after_auth(tagged)

    async def authenticate_plain(self, user: str, password: str) -> None:
        """AUTHENTICATE PLAIN (RFC 4616), with SASL-IR (RFC 4959) when offered."""
        for value in (user, password):
            if "\x00" in value:
                raise AuthError("AUTHENTICATE", None, "NUL in user name or password")
        await self._authenticate("PLAIN", f"\x00{user}\x00{password}".encode())

    async def authenticate_xoauth2(self, user: str, token: str) -> None:
        """AUTHENTICATE XOAUTH2 (Google / Microsoft OAuth 2.0 bearer token)."""
        for value in (user, token):
            if "\x01" in value:
                raise AuthError("AUTHENTICATE", None, "\\x01 in user name or token")
        await self._authenticate("XOAUTH2", f"user={user}\x01auth=Bearer {token}\x01\x01"
                                 .encode())

    async def _authenticate(self, mechanism: str, initial: bytes) -> None:
        self._require_tls(f"AUTHENTICATE {mechanism}")
        # RFC 4959 §3: an empty initial response is sent as "=".
        encoded = base64.b64encode(initial).decode("ascii") or "="
        sasl_ir = self.has("SASL-IR")
        initial_sent = sasl_ir
        challenge = ""

        async def on_continuation(resp: Continuation) -> None:
            nonlocal initial_sent, challenge
            if not initial_sent:
                initial_sent = True
                await self.send_continuation(encoded.encode("ascii") + b"\r\n")
                return
            # A second challenge is a failure report: XOAUTH2 sends its JSON error
            # and expects an empty reply; for PLAIN we cancel with "*" (RFC 9051 §6.2.2).
            challenge = _decode_challenge(resp.text)
            await self.send_continuation(b"\r\n" if mechanism == "XOAUTH2" else b"*\r\n")

        args = (Raw(mechanism), Raw(encoded)) if sasl_ir else (Raw(mechanism),)
        tagged, _ = await self.command("AUTHENTICATE", *args, on_continuation=on_continuation)
        if tagged.status != "OK" and challenge:
            tagged = Tagged(tagged.tag, tagged.status, tagged.code,
                            f"{tagged.text} ({challenge})")
        self.raise_for("AUTHENTICATE", tagged, auth=True)
        await self._after_auth(tagged)


def _decode_challenge(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return text


async def connect(params: ConnectParams) -> ImapClient:
    """Open a connection, read the greeting, and (for ``starttls``) upgrade it.
    Prefer :func:`open_imap`, which also closes it."""
    return await start_session(await open_transport(params), params)


async def start_session(transport: Transport, params: ConnectParams) -> ImapClient:
    """Greet and secure a connection over an already open transport (any trio
    stream: also how tests drive the client over memory streams)."""
    client = ImapClient(transport, params)
    try:
        await client._greeting()
        if params.security == "starttls" and not transport.tls:
            await client._starttls()
        elif not client._capabilities_seen:
            await client.capability()
    except BaseException:
        await transport.aclose()
        raise
    return client


@asynccontextmanager
async def open_imap(params: ConnectParams) -> AsyncIterator[ImapClient]:
    """``async with open_imap(params) as client:`` — connected and greeted, not yet
    authenticated (unless the server sent PREAUTH); logged out and closed on exit."""
    client = await connect(params)
    try:
        yield client
    finally:
        await client.aclose()

