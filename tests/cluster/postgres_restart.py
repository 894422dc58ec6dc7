"""Restart a private test PostgreSQL from a process of its own:
``python -m tests.cluster.postgres_restart HOST PORT USER``.

A test process that holds gRPC channels must not fork while gRPC's threads are in a
call: gRPC then skips its fork handlers and the child can crash before it runs anything
(seen as pg_ctl "dying" of SIGSEGV). `restart_postgres` runs pg_ctl as another user when
the tests run as root, which makes `subprocess` fork rather than spawn. A fresh
interpreter holds no gRPC, and starting it needs no fork of the test process.
"""

from __future__ import annotations

import sys

from tests.support.postgres import PostgresServer, restart_postgres


def main(argv: list[str]) -> None:
    host, port, user = argv
    restart_postgres(PostgresServer(host, int(port), user))


if __name__ == "__main__":
    main(sys.argv[1:])
