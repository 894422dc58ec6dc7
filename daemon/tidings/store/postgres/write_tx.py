"""The PostgreSQL `WriteTx`: its parts live in tx_accounts.py, tx_mail.py, hosted_auth.py,
access.py, send_keys.py and leases.py."""

from __future__ import annotations

from tidings.store.postgres.access import AccessTx
from tidings.store.postgres.connection_slots import ConnectionSlotsTx
from tidings.store.postgres.hosted_auth import HostedAuthTx
from tidings.store.postgres.leases import LeasesTx
from tidings.store.postgres.send_keys import SendKeysTx
from tidings.store.postgres.tx_accounts import AccountsTx
from tidings.store.postgres.tx_mail import MailTx
from tidings.store.write_tx import WriteTx

__all__ = ["PostgresWriteTx"]


class PostgresWriteTx(AccessTx, MailTx, AccountsTx, HostedAuthTx, SendKeysTx, LeasesTx,
                      ConnectionSlotsTx,
                      WriteTx):
    """Write operations on the writer thread's connection, inside the current transaction."""
