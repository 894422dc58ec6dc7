"""The SQLite `WriteTx`: its parts live in tx_accounts.py, tx_mail.py, hosted_auth.py,
access.py, send_keys.py and leases.py."""

from __future__ import annotations

from tidings.store.sqlite.access import AccessTx
from tidings.store.sqlite.connection_slots import ConnectionSlotsTx
from tidings.store.sqlite.hosted_auth import HostedAuthTx
from tidings.store.sqlite.leases import LeasesTx
from tidings.store.sqlite.send_keys import SendKeysTx
from tidings.store.sqlite.tx_accounts import AccountsTx
from tidings.store.sqlite.tx_mail import MailTx
from tidings.store.write_tx import WriteTx

__all__ = ["SqliteWriteTx"]


class SqliteWriteTx(AccessTx, MailTx, AccountsTx, HostedAuthTx, SendKeysTx, LeasesTx,
                    ConnectionSlotsTx,
                    WriteTx):
    """Write operations on the writer thread's connection, inside the current transaction."""
