"""A private PostgreSQL server for tests, from Debian's `postgresql` package.

The cluster is made with initdb in a temporary directory and started with pg_ctl on a
free loopback port. PostgreSQL refuses to run as root, so when the tests run as root the
server runs as `nobody`. Durability is switched off (fsync, synchronous_commit): a test
database never has to survive a power cut, and every commit would otherwise wait for the
disk.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from tidings.devtools.dovecot import free_port

__all__ = [
    "PostgresError",
    "PostgresServer",
    "postgres_bin_dir",
    "restart_postgres",
    "running_postgres",
]

SUPERUSER: Final = "tidings"
_PORT_ATTEMPTS: Final = 5
_UNPRIVILEGED_USER: Final = "nobody"


class PostgresError(Exception):
    """The test server could not be set up or started."""


def postgres_bin_dir() -> Path | None:
    """The bin directory of the newest installed PostgreSQL, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


@dataclass(frozen=True, slots=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        """An autocommit connection to the maintenance database (CREATE DATABASE cannot
        run inside a transaction)."""
        return psycopg.connect(self.dsn(), autocommit=True)

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its DSN."""
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _run_as(user: pwd.struct_passwd | None, args: list[str], *, cwd: Path) -> None:
    try:
        subprocess.run(
            args,
            cwd=cwd,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    except subprocess.CalledProcessError as exc:
        output = exc.stderr.strip() or exc.stdout.strip()
        raise PostgresError(f"{args[0]} failed: {output}") from exc


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a private server for the duration of the block, then stop it and delete it."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresError("PostgreSQL is not installed: apt-get install -y postgresql")
    user = pwd.getpwnam(_UNPRIVILEGED_USER) if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: that tree is mode 0700 and root's, and the server may
    # run as nobody.
    root = Path(tempfile.mkdtemp(prefix="tidings-postgres-"))
    os.chmod(root, 0o755)
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "data"
    try:
        _run_as(
            user,
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
             "--no-locale", "--encoding=UTF8", "--no-sync"],
            cwd=root,
        )  # fmt: skip
        port = _start(bin_dir, user, root)
        try:
            yield PostgresServer("127.0.0.1", port, SUPERUSER)
        finally:
            _run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                    cwd=root)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(bin_dir: Path, user: pwd.struct_passwd | None, root: Path) -> int:
    """Start the server on a free port; returns the port. Another process may take the
    port between choosing and binding it, so a failed start is retried on a new one."""
    failure: PostgresError | None = None
    for _ in range(_PORT_ATTEMPTS):
        port = free_port()
        options = " ".join([
            f"-p {port}", "-h 127.0.0.1", f"-k {root}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=200", "-c shared_buffers=32MB",
        ])  # fmt: skip
        try:
            _run_as(
                user,
                [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"),
                 "-o", options, "-w", "-t", "60", "start"],
                cwd=root,
            )  # fmt: skip
        except PostgresError as exc:
            failure = exc
            continue
        return port
    log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
    raise PostgresError(f"the server did not start: {failure}\n{log[-2000:]}")


def restart_postgres(server: PostgresServer) -> None:
    """Restart a server started by `running_postgres`, on the same port, as an operator
    or a failover would: "fast" mode ends every open session (clients see their
    connections drop) and the server accepts connections again when this returns."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresError("PostgreSQL is not installed: apt-get install -y postgresql")
    with server.admin() as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    if row is None:
        raise PostgresError("the server did not name its data directory")
    data = Path(str(row[0]))
    user = pwd.getpwnam(_UNPRIVILEGED_USER) if os.geteuid() == 0 else None
    # pg_ctl restart reuses the options of the last start (postmaster.opts) but not the
    # log file: without -l the server would inherit this call's captured output pipes,
    # and the call would wait for them until the server ends.
    _run_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "log"),
                   "-m", "fast", "-w", "-t", "60", "restart"], cwd=data.parent)  # fmt: skip
