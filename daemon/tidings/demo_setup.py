"""What `tidings demo` runs against: a private Dovecot with a mailbox full of realistic
mail, an SMTP submission server beside it, and the daemon's settings, all in one
temporary directory that is removed afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from tidings.config import (
    Config,
    GrpcConfig,
    ImapConfig,
    LogConfig,
    SmtpConfig,
    SyncConfig,
    WebConfig,
)
from tidings.devtools import INSTALL_HINT, Dovecot, Submission, dovecot_available, generate

__all__ = [
    "DEMO_USER",
    "POLL_SECONDS",
    "DemoEnvironment",
    "DemoUnavailable",
    "Mailbox",
    "ensure_dovecot",
]

DEMO_USER: Final = "demo"
# Seconds between polls of folders without IDLE (Archive, new folders): the shortest the
# daemon allows, so the scripted changes show up soon.
POLL_SECONDS: Final = 5
# Mail is spread over this many days, inside the default 90-day sync window.
SPREAD_DAYS: Final = 60
_PACKAGES: Final = ("dovecot-imapd", "dovecot-lmtpd")


class DemoUnavailable(Exception):
    """The demo cannot run on this machine; the message says what to do (exit 2)."""


def _is_debian() -> bool:
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def ensure_dovecot(say: Callable[[str], None] = print) -> None:
    """Dovecot is there, or installed now (as root on Debian), or `DemoUnavailable`.

    The private Dovecot's mail processes switch to the user ``nobody``, which only root
    may do, so the demo needs root either way.
    """
    if os.geteuid() != 0:
        raise DemoUnavailable(
            "tidings demo starts a private Dovecot, whose mail processes switch to the user"
            " 'nobody': run it as root")
    if dovecot_available():
        return
    if not _is_debian():
        raise DemoUnavailable(f"tidings demo needs Dovecot: {INSTALL_HINT}")
    say(f"Dovecot is not installed: running apt-get install {' '.join(_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *_PACKAGES]):
        result = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise DemoUnavailable(f"{' '.join(command)} failed ({'; '.join(tail)}):"
                                  f" {INSTALL_HINT}")
    if not dovecot_available():
        raise DemoUnavailable(f"Dovecot is still missing after apt-get: {INSTALL_HINT}")


@dataclass(frozen=True, slots=True)
class Mailbox:
    """The demo user's account, and where its servers listen."""

    user: str
    password: str
    email: str
    imap_host: str
    imap_tls_port: int
    smtp_host: str
    smtp_tls_port: int
    ca_file: Path


class DemoEnvironment:
    """``with DemoEnvironment(messages) as env:`` — Dovecot and the submission server run
    and the mailbox is filled; on exit both stop and the directory is removed (unless
    ``keep``)."""

    def __init__(self, messages: int, *, keep: bool = False, seed: int = 7) -> None:
        self.messages = messages
        self.keep = keep
        self.seed = seed
        self.root = Path(tempfile.mkdtemp(prefix="tidings-demo-"))
        # Dovecot's mail processes run as nobody and must reach their maildirs below.
        os.chmod(self.root, 0o755)  # noqa: S103 (a throwaway directory, no secrets in it)
        self.dovecot = Dovecot(self.root / "dovecot")
        self.submission: Submission | None = None
        self.mailbox: Mailbox | None = None
        self.seeded: dict[str, int] = {}

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _start(self) -> None:
        self.dovecot.root.mkdir()
        self.dovecot.start()
        password = secrets.token_urlsafe(12)
        user, password = self.dovecot.add_user(DEMO_USER, password)
        for item in generate(self.messages, seed=self.seed, days=SPREAD_DAYS):
            # Two of three messages have been read, as in a mailbox in use.
            flags = "S" if len(item.message_id) % 3 else ""
            self.dovecot.seed(user, [item.raw], folder=item.folder, flags=flags,
                              when=item.when, chown=False)
            self.seeded[item.folder] = self.seeded.get(item.folder, 0) + 1
        self.dovecot.chown_mail(user)
        self.submission = Submission(
            cert_path=self.dovecot.cert_path, key_path=self.dovecot.root / "key.pem",
            check_login=self.dovecot.can_login, lmtp_host=self.dovecot.host,
            lmtp_port=self.dovecot.lmtp_port)
        self.submission.start()
        self.mailbox = Mailbox(
            user=user, password=password, email=f"{user}@example.org",
            imap_host=self.dovecot.host, imap_tls_port=self.dovecot.tls_port,
            smtp_host=self.submission.host, smtp_tls_port=self.submission.port,
            ca_file=self.dovecot.cert_path)

    def daemon_config(self, log_level: str = "error") -> Config:
        """The daemon on free loopback ports, its data here, trusting Dovecot's cert."""
        ca_file = str(self.dovecot.cert_path)
        return Config(
            data_dir=str(self.root / "data"),
            grpc=GrpcConfig(host="127.0.0.1", port=0),
            web=WebConfig(host="127.0.0.1", port=0),
            log=LogConfig(level=log_level, format="console"),
            sync=SyncConfig(poll_interval=float(POLL_SECONDS)),
            imap=ImapConfig(ca_file=ca_file),
            smtp=SmtpConfig(ca_file=ca_file),
        )

    def close(self) -> None:
        if self.submission is not None:
            self.submission.stop()
            self.submission = None
        if self.dovecot.config_path.exists():
            self.dovecot.stop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
