"""The SQLite `WriteTx`: its parts live in tx_accounts.py and tx_mail.py."""

from __future__ import annotations

from tidings.store.sqlite.tx_accounts import AccountsTx
from tidings.store.sqlite.tx_mail import MailTx
from tidings.store.write_tx import WriteTx

__all__ = ["SqliteWriteTx"]


class SqliteWriteTx(MailTx, AccountsTx, WriteTx):
    """Write operations on the writer thread's connection, inside the current transaction."""
