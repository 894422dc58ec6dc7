"""A private Dovecot on 127.0.0.1 in a temporary directory, for tests, benchmarks and
`tidings demo`.

STARTTLS (and plaintext) on ``port``, implicit TLS on ``tls_port``, LMTP on ``lmtp_port``,
a self-signed certificate for ``localhost``/``127.0.0.1``. Users live in a passwd-file that
Dovecot re-reads when it changes, so users are added at run time.

The mail processes run as ``nobody``, so Dovecot has to be started as root (or by a
Dovecot that may switch to that user).
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "DOVECOT_PASSWORD",
    "INSTALL_HINT",
    "SPECIAL_FOLDERS",
    "Dovecot",
    "DovecotError",
    "DovecotUnavailable",
    "dovecot_available",
    "free_port",
]

# The password of users added without one: loopback-only test accounts.
DOVECOT_PASSWORD = "secret"  # noqa: S105
SPECIAL_FOLDERS = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
                   "Archive": "\\Archive", "Junk": "\\Junk"}


# Debian and Ubuntu package names; `dovecot-core` comes with them.
INSTALL_HINT = "apt-get install dovecot-imapd dovecot-lmtpd"


class DovecotError(RuntimeError):
    """The private Dovecot could not be set up or started; the message says why."""


class DovecotUnavailable(DovecotError):
    """Dovecot (or openssl, for its certificate) is not installed here."""


def _program(name: str) -> str | None:
    """Where a Dovecot program lives: on PATH, else /usr/sbin (not on a user's PATH)."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidate = Path("/usr/sbin") / name
    return str(candidate) if candidate.exists() else None


def dovecot_available() -> bool:
    return _program("dovecot") is not None


def _require(name: str, hint: str) -> str:
    path = _program(name)
    if path is None:
        raise DovecotUnavailable(f"{name} is not installed: {hint}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _mailbox_config() -> str:
    lines = []
    for name, use in SPECIAL_FOLDERS.items():
        lines += [f"  mailbox {name} {{", f"    special_use = {use}",
                  "    auto = subscribe", "  }"]
    return "\n".join(lines)


@dataclass
class Dovecot:
    root: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    extra_config: str = ""
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _users_mtime: int = 0

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def cert_path(self) -> Path:
        return self.root / "cert.pem"

    @property
    def users_path(self) -> Path:
        return self.root / "users"

    def write_config(self) -> None:
        root = self.root
        (root / "run" / "state").mkdir(parents=True, exist_ok=True)
        (root / "mail").mkdir(exist_ok=True)
        # The mail processes run as nobody and create new users' maildirs here.
        os.chmod(root / "mail", 0o1777)  # noqa: S103 (sticky, like /tmp)
        if not self.cert_path.exists():
            openssl = _require("openssl", "apt-get install openssl")
            subprocess.run(
                [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                 "-subj", "/CN=localhost", "-addext",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1",
                 "-keyout", str(root / "key.pem"), "-out", str(self.cert_path)],
                check=True, capture_output=True)
        self.users_path.touch()
        self.config_path.write_text(f"""
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = tidings-test-{self.port}
listen = 127.0.0.1
protocols = imap lmtp
ssl = yes
ssl_cert = <{self.cert_path}
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with wrong passwords on purpose; no per-IP penalty for the ones after.
auth_failure_delay = 0
log_path = {root}/dovecot.log
default_login_user = nobody
default_internal_user = root
default_internal_group = root
mail_location = maildir:{root}/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
mail_plugins = $mail_plugins
# IDLE learns of changes through inotify. A machine running many Dovecot processes can
# use up its inotify instances (fs.inotify.max_user_instances, 128 by default); Dovecot
# then checks the mailbox every mailbox_idle_check_interval instead (30 s by default),
# which would make IDLE look dead: keep that fallback quick.
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_path}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
  process_limit = 2000
  client_limit = 4000
  service_count = 0
}}
service imap {{
  process_limit = 4000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
default_client_limit = 8000
service auth {{
  client_limit = 20000
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
default_process_limit = 4000
protocol imap {{
  mail_max_userip_connections = 10000
}}
protocol lmtp {{
  postmaster_address = postmaster@localhost
}}
namespace inbox {{
  inbox = yes
  separator = /
{_mailbox_config()}
}}
{self.extra_config}
""")

    def start(self) -> None:
        """Start Dovecot and wait until both IMAP ports answer.

        Raises `DovecotUnavailable` when it is not installed, `DovecotError` when it
        does not start (with the end of its log).
        """
        dovecot = _require("dovecot", INSTALL_HINT)
        self.write_config()
        # Dovecot daemonizes and its children inherit our stdio: never capture it (a pipe
        # would stay open forever); errors go to dovecot.log.
        started = subprocess.run([dovecot, "-c", str(self.config_path)], check=False,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        if started.returncode != 0:
            raise DovecotError(f"dovecot exited with status {started.returncode}: "
                               f"{self._log_tail()}")
        self._wait_listening()

    def stop(self) -> None:
        doveadm = _program("doveadm") or "doveadm"
        subprocess.run([doveadm, "-c", str(self.config_path), "stop"], check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        pidfile = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for port in (self.port, self.tls_port):
            while time.monotonic() < deadline and self._listening(port):
                time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _listening(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(self._listening(p) for p in (self.port, self.tls_port)):
                return
            time.sleep(0.05)
        raise DovecotError(f"dovecot did not start on {self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.root / "dovecot.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.cert_path))
        return ctx

    def add_user(self, name: str | None = None, password: str = DOVECOT_PASSWORD
                 ) -> tuple[str, str]:
        """Add a user (Dovecot re-reads the passwd-file when it changes)."""
        if name is None:
            name = f"user{os.getpid()}x{next(self._counter)}x{time.time_ns() % 10**6}"
        with self.users_path.open("a") as fh:
            fh.write(f"{name}:{{PLAIN}}{password}\n")
        # Dovecot re-reads a passwd-file when its mtime (whole seconds) changes: give
        # every change a later second than the last one.
        self._users_mtime = max(self._users_mtime + 1, int(time.time()) + 1)
        os.utime(self.users_path, (self._users_mtime, self._users_mtime))
        # It also looks at the file at most once a second: wait until the login works.
        deadline = time.monotonic() + 10
        while not self.can_login(name, password):
            if time.monotonic() > deadline:
                raise DovecotError(f"dovecot does not accept the new user {name}")
            time.sleep(0.1)
        return name, password

    def can_login(self, user: str, password: str) -> bool:
        with socket.create_connection((self.host, self.port), timeout=10) as sock:
            sock.recv(4096)
            sock.sendall(f"a LOGIN {user} {password}\r\nb LOGOUT\r\n".encode())
            data = b""
            while b"\r\nb " not in data and not data.startswith(b"b "):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return b"a OK" in data

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / user
        return base if folder == "INBOX" else base / f".{folder.replace('/', '.')}"

    def seed(self, user: str, messages: Iterable[bytes], folder: str = "INBOX",
             flags: str = "", when: datetime | None = None, *, chown: bool = True) -> int:
        """Write messages straight into the user's maildir; file mtime = INTERNALDATE.

        ``flags`` uses maildir letters (S seen, F flagged, R answered, D draft, T deleted).
        """
        box = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        stamp = (when or datetime.now(UTC)).timestamp()
        count = 0
        for raw in messages:
            n = next(self._counter)
            info = "".join(sorted(flags))
            name = f"{int(stamp)}.T{n}P{os.getpid()}.tidings,S={len(raw)}:2,{info}"
            path = box / "cur" / name
            path.write_bytes(raw)
            os.utime(path, (stamp, stamp))
            count += 1
        if chown:
            self.chown_mail(user)
        return count

    def chown_mail(self, user: str) -> None:
        """Give the user's maildir to the mail processes' user (nobody)."""
        _chown_tree(self.root / "mail" / user)


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    uid = pwd.getpwnam("nobody").pw_uid
    gid = grp.getgrnam("nogroup").gr_gid
    for dirpath, _dirs, files in os.walk(path):
        for entry in (dirpath, *(os.path.join(dirpath, name) for name in files)):
            # A running Dovecot creates and removes lock files (dovecot-uidlist.lock) in
            # the maildir: one listed a moment ago may be gone already.
            with contextlib.suppress(FileNotFoundError):
                os.chown(entry, uid, gid)
