"""Hosted sign-in sessions and their one-time codes in PostgreSQL: reads and writes."""

# ruff: noqa: S608 -- only column lists and `%s` placeholders are put into the SQL text;
# every value is a bound parameter.

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from tidings.store.errors import Conflict
from tidings.store.hosted_auth import HostedCode, HostedSession
from tidings.store.postgres.connection import Conn, insert_into
from tidings.store.postgres.tx_base import TxBase

__all__ = ["HostedAuthTx", "get_hosted_session"]

SESSION_COLUMNS: Final = (
    "id_hash, connector_id, redirect_uri, provider_type, login_hint, state, code_challenge,"
    " code_challenge_method, csrf_token, created_at, expires_at, busy_until"
)
CODE_COLUMNS: Final = (
    "code_hash, grant_id, redirect_uri, code_challenge, code_challenge_method, created_at,"
    " expires_at, used_at"
)


def _session_params(s: HostedSession) -> tuple[Any, ...]:
    return (
        s.id_hash, s.connector_id, s.redirect_uri, s.provider_type, s.login_hint, s.state,
        s.code_challenge, s.code_challenge_method, s.csrf_token, s.created_at, s.expires_at,
        s.busy_until,
    )


def _session_from_row(row: Sequence[Any]) -> HostedSession:
    return HostedSession(
        id_hash=row[0], connector_id=row[1], redirect_uri=row[2], provider_type=row[3],
        login_hint=row[4], state=row[5], code_challenge=row[6], code_challenge_method=row[7],
        csrf_token=row[8], created_at=row[9], expires_at=row[10], busy_until=row[11],
    )


def _code_params(c: HostedCode) -> tuple[Any, ...]:
    return (
        c.code_hash, c.grant_id, c.redirect_uri, c.code_challenge, c.code_challenge_method,
        c.created_at, c.expires_at, c.used_at,
    )


def _code_from_row(row: Sequence[Any]) -> HostedCode:
    return HostedCode(
        code_hash=row[0], grant_id=row[1], redirect_uri=row[2], code_challenge=row[3],
        code_challenge_method=row[4], created_at=row[5], expires_at=row[6], used_at=row[7],
    )


def get_hosted_session(conn: Conn, id_hash: str) -> HostedSession | None:
    row = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM hosted_sessions WHERE id_hash = %s", (id_hash,)
    ).fetchone()
    return _session_from_row(row) if row else None


class HostedAuthTx(TxBase):
    def create_hosted_session(self, session: HostedSession) -> None:
        self._require("connectors", "connector", session.connector_id)
        self._exec(
            insert_into("hosted_sessions", SESSION_COLUMNS),
            _session_params(session),
        )

    def claim_hosted_session(self, id_hash: str, now: float, until: float) -> HostedSession | None:
        session = get_hosted_session(self._conn, id_hash)
        if session is None or session.expires_at <= now:
            return None
        if session.busy_until is not None and session.busy_until > now:
            raise Conflict("this sign-in is already being checked")
        self._exec(
            "UPDATE hosted_sessions SET busy_until = %s WHERE id_hash = %s", (until, id_hash)
        )
        return session

    def release_hosted_session(self, id_hash: str) -> None:
        self._exec("UPDATE hosted_sessions SET busy_until = NULL WHERE id_hash = %s", (id_hash,))

    def finish_hosted_session(self, id_hash: str, code: HostedCode) -> None:
        if self._exec("DELETE FROM hosted_sessions WHERE id_hash = %s", (id_hash,)).rowcount == 0:
            raise Conflict("this sign-in has already been finished")
        self._exec(
            insert_into("hosted_codes", CODE_COLUMNS),
            _code_params(code),
        )

    def consume_hosted_code(self, code_hash: str, now: float) -> HostedCode | None:
        row = self._conn.execute(
            f"SELECT {CODE_COLUMNS} FROM hosted_codes WHERE code_hash = %s", (code_hash,)
        ).fetchone()
        if row is None:
            return None
        code = _code_from_row(row)
        if code.used_at is None:
            self._exec(
                "UPDATE hosted_codes SET used_at = %s WHERE code_hash = %s", (now, code_hash)
            )
        return code

    def purge_hosted_auth(self, now: float) -> int:
        # A session being checked stays until its claim ends: the check may finish it.
        sessions = self._exec(
            "DELETE FROM hosted_sessions WHERE expires_at <= %s"
            " AND (busy_until IS NULL OR busy_until <= %s)",
            (now, now),
        )
        codes = self._exec("DELETE FROM hosted_codes WHERE expires_at <= %s", (now,))
        return sessions.rowcount + codes.rowcount
